// partner_service.cpp — the new C++ service an old C program (legacy_client.c)
// talks to. It uses the C++ API and the static library; the C program uses the
// C ABI. Neither knows or cares what the other is written in.
//
//   partner_service NAME DROP_DIR
//
// The conversation is described at the top of legacy_client.c: answer every
// ORDER on NAME-replies; on FILES n, claim n invoices from the drop channel
// DROP_DIR, check each against its headers, ack it (or reject it: a dead
// letter), and report their number, bytes and hash sum. Exit 0 when every
// request was well-formed and every invoice checked out.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

// As in legacy_client.c.
constexpr auto kTimeout = 10s;
constexpr uint64_t kRingCapacity = 65536;

// FNV-1a, 64 bits, as in legacy_client.c.
uint64_t fnv1a(std::span<const std::byte> data) {
  uint64_t h = 14695981039346656037ULL;
  for (std::byte b : data) {
    h ^= static_cast<uint64_t>(b);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string_view text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void complain(const char* what, std::error_code ec) {
  std::fprintf(stderr, "partner_service: %s: %s", what, ec.message().c_str());
  if (const auto& detail = last_error_detail(); !detail.empty()) std::fprintf(stderr, " (%s)", detail.c_str());
  std::fputc('\n', stderr);
}

struct Report {
  unsigned files = 0;
  unsigned long long bytes = 0;
  uint64_t sum = 0;
  unsigned bad = 0;
};

// Why invoice `data` (which hashes to `hash_of_data`) does not match its
// headers, or "" when it does.
std::string check_invoice(const DropClaim& claim, std::span<const std::byte> data, uint64_t hash_of_data,
                          std::set<unsigned long>& seen) {
  const auto& h = claim.headers();
  const auto type = h.find("content-type"), number = h.find("invoice"), hash = h.find("fnv1a");
  if (type == h.end() || number == h.end() || hash == h.end()) return "a header is missing";
  if (type->second != "text/plain") return "content-type is " + type->second;
  char computed[24];
  std::snprintf(computed, sizeof computed, "%016llx", static_cast<unsigned long long>(hash_of_data));
  if (hash->second != computed) return "fnv1a header " + hash->second + ", content hashes to " + computed;
  if (!text_of(data).starts_with("INVOICE " + number->second + "\n")) return "content is not invoice " + number->second;
  if (!seen.insert(std::strtoul(number->second.c_str(), nullptr, 10)).second) return "invoice " + number->second + " twice";
  return "";
}

// Claims `count` invoices from the channel at `root` and settles each.
Report take_invoices(const std::string& root, unsigned count) {
  Report r;
  DropOptions options;
  options.create = false;  // the client's: it must be there already
  auto channel = DropChannel::open(root, options);
  auto consumer = channel ? DropConsumer::open(*channel) : Result<DropConsumer>(channel.error());
  if (!consumer) {
    complain("open the drop channel", consumer.error());
    r.bad = count;
    return r;
  }
  std::set<unsigned long> seen;
  for (unsigned i = 0; i < count; ++i) {
    auto claim = consumer->claim(kTimeout);
    if (!claim) {
      complain("claim an invoice", claim.error());
      r.bad += count - i;
      break;
    }
    auto data = claim->map();  // read in place, no copy
    const uint64_t hash = data ? fnv1a(data->bytes()) : 0;
    const std::string why = data ? check_invoice(*claim, data->bytes(), hash, seen) : data.error().message();
    if (!why.empty()) {
      std::fprintf(stderr, "partner_service: rejecting %s: %s\n", claim->id().c_str(), why.c_str());
      ++r.bad;
      (void)claim->reject(why);
      continue;
    }
    if (auto ec = claim->ack()) {
      complain("ack", ec);
      ++r.bad;
      continue;
    }
    ++r.files;
    r.bytes += data->bytes().size();
    r.sum += hash;
  }
  return r;
}

// "ORDER 000042 QTY 7 ITEM wing nuts" -> its quantity; false if malformed.
bool parse_order(const std::string& request, unsigned& qty) {
  unsigned number = 0;
  int item = -1;  // where the item's name begins: there must be one
  return std::sscanf(request.c_str(), "ORDER %u QTY %u ITEM %n", &number, &qty, &item) == 2 && item > 0 &&
         static_cast<std::size_t>(item) < request.size();
}

int serve(SpscConsumer& requests, SpscProducer& replies, const std::string& drop_dir) {
  unsigned seq = 0;
  unsigned long total = 0;
  char reply[512];
  for (;;) {
    auto message = requests.receive(kTimeout);
    if (!message) {
      complain("receive a request", message.error());
      return 1;
    }
    const std::string request(text_of(*message));
    unsigned qty = 0, files = 0;
    int n = 0;
    if (parse_order(request, qty)) {
      total += qty;
      std::string echo = request;
      for (char& c : echo) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
      n = std::snprintf(reply, sizeof reply, "SEQ %06u TOTAL %09lu ECHO %s", ++seq, total, echo.c_str());
    } else if (std::sscanf(request.c_str(), "FILES %u", &files) == 1) {
      const Report r = take_invoices(drop_dir, files);
      n = std::snprintf(reply, sizeof reply, "FILES %u BYTES %llu SUM %016llx", r.files, r.bytes,
                        static_cast<unsigned long long>(r.sum));
      if (auto ec = replies.send({reinterpret_cast<const std::byte*>(reply), static_cast<std::size_t>(n)}, kTimeout)) {
        complain("send the report", ec);
        return 1;
      }
      std::printf("partner_service: %u orders answered; %u invoices (%llu bytes) acked, %u rejected\n", seq,
                  r.files, r.bytes, r.bad);
      return r.bad == 0 && r.files == files ? 0 : 1;  // the conversation is over
    } else {
      std::fprintf(stderr, "partner_service: malformed request \"%s\"\n", request.c_str());
      return 1;
    }
    if (auto ec = replies.send({reinterpret_cast<const std::byte*>(reply), static_cast<std::size_t>(n)}, kTimeout)) {
      complain("send an answer", ec);
      return 1;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: partner_service NAME DROP_DIR\n");
    return 2;
  }
  const std::string name = argv[1];
  const auto requests_at = Location::shm(name + "-requests"), replies_at = Location::shm(name + "-replies");
  RingOptions options;
  options.capacity = kRingCapacity;
  int status = 1;
  {
    // Open or create, as the client does: whoever starts first creates.
    auto requests = SpscConsumer::open(requests_at, OpenMode::open_or_create, options);
    auto replies = SpscProducer::open(replies_at, OpenMode::open_or_create, options);
    if (!requests || !replies) {
      complain("open the rings", requests ? replies.error() : requests.error());
    } else {
      status = serve(*requests, *replies, argv[2]);
    }
  }  // closed: what was sent stays readable for the client
  // Both sides remove the names; the second finds them gone.
  for (const auto& at : {requests_at, replies_at}) {
    if (auto ec = Segment::remove(at); ec && ec != errc::not_found) complain("remove a ring", ec);
  }
  return status;
}

// The C++ side of the COBOL examples: runs a COBOL batch job and checks,
// field by field, every record it delivered.
//
//   ringdrop-cobol-consumer ring <path of ring_sender>
//       creates an SPSC ring with a fresh name, starts `ring_sender <name>`,
//       receives its five detail records and its trailer, then expects
//       peer_gone (the job closed the ring) and exit status 0.
//   ringdrop-cobol-consumer drop <path of drop_writer>
//       creates a drop channel in a fresh temporary directory, starts
//       `drop_writer <root>`, claims its two batch files, checks their
//       headers and records, acks them, and expects an empty channel and
//       exit status 0.
//
// Exit status 0 when everything arrived exactly as ordload.cpy defines it,
// 1 on any mismatch or failure (each one is printed). Synchronisation is the
// ring and the channel themselves: blocking receives and claims with
// timeouts; a timeout only bounds a wait that the job ends early, and while
// waiting the job's exit status is checked so that a failed job is reported
// at once.
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "orders.hpp"
#include "ringdrop/ringdrop.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// How long the whole exchange may take: a bound for a broken job, never
// reached by a working one.
constexpr auto kOverall = 60s;
// One wait; between waits the job's exit status is looked at.
constexpr auto kSlice = 250ms;

int failures = 0;

void fail(const std::string& what) {
  std::fprintf(stderr, "cobol_consumer: FAIL: %s\n", what.c_str());
  ++failures;
}

// ------------------------------------------------------------ the records
// The orders of ordload.cpy, and the layout of orders.cpy.

using cobol::digits;
using cobol::kOrders;
using cobol::kRecordSize;
using cobol::Order;
using cobol::padded;
using cobol::signed_digits;

// A field of a record: its COBOL name, offset and length, and the text the
// COBOL program must have put there.
struct Field {
  const char* name;
  std::size_t offset, length;
  std::string want;
};

std::vector<Field> detail_fields(const Order& o) {
  return {
      {"DR-TYPE", 0, 1, "D"},
      {"DR-ORDER-ID", 1, 8, digits(o.id, 8)},
      {"DR-CUSTOMER", 9, 30, padded(o.customer, 30)},
      {"DR-AMOUNT", 39, 10, signed_digits(o.cents, 9)},
      {"DR-QUANTITY", 49, 5, digits(o.quantity, 5)},
      {"DR-ORDER-DATE", 54, 8, digits(o.date, 8)},
      {"DR-STATUS", 62, 1, std::string(1, o.status)},
      {"FILLER", 63, 17, std::string(17, ' ')},
  };
}

std::vector<Field> trailer_fields(std::size_t count, long long total_cents) {
  return {
      {"TR-TYPE", 0, 1, "T"},
      {"TR-COUNT", 1, 8, digits(count, 8)},
      {"TR-TOTAL", 9, 14, signed_digits(total_cents, 13)},
      {"FILLER", 23, 57, std::string(57, ' ')},
  };
}

std::string_view text(std::span<const std::byte> record) {
  return {reinterpret_cast<const char*>(record.data()), record.size()};
}

// Compares `record` with `fields`, one field at a time; prints each mismatch.
void check_record(const std::string& where, std::span<const std::byte> record,
                  const std::vector<Field>& fields) {
  if (record.size() != kRecordSize) {
    fail(where + ": " + std::to_string(record.size()) + " bytes, expected " +
         std::to_string(kRecordSize));
    return;
  }
  const auto got = text(record);
  for (const auto& f : fields) {
    const auto g = got.substr(f.offset, f.length);
    if (g != f.want) {
      fail(where + " field " + f.name + ": got '" + std::string(g) + "', expected '" + f.want + "'");
    }
  }
}

std::string money(long long cents) {
  char b[48];
  std::snprintf(b, sizeof b, "%s%lld.%02lld", cents < 0 ? "-" : "", (cents < 0 ? -cents : cents) / 100,
                (cents < 0 ? -cents : cents) % 100);
  return b;
}

// Checks the records of orders [first, last) followed by their trailer, as
// `records` (each kRecordSize bytes), and prints them.
void check_batch(const std::string& where, const std::vector<std::span<const std::byte>>& records,
                 std::size_t first, std::size_t last) {
  const std::size_t n = last - first;
  if (records.size() != n + 1) {
    fail(where + ": " + std::to_string(records.size()) + " records, expected " + std::to_string(n) +
         " and a trailer");
    return;
  }
  long long total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& o = kOrders[first + i];
    check_record(where + " record " + std::to_string(i + 1), records[i], detail_fields(o));
    std::printf("  order %08u  %-30s %14s  x%-5u %u  %c\n", o.id, o.customer, money(o.cents).c_str(),
                o.quantity, o.date, o.status);
    total += o.cents;
  }
  check_record(where + " trailer", records[n], trailer_fields(n, total));
  std::printf("  trailer: %zu orders, total %s\n", n, money(total).c_str());
}

// ------------------------------------------------------------ the job

struct Job {
  pid_t pid = -1;
  bool finished = false;
  int status = 0;

  // Has the job ended? With `block`, waits for it.
  bool poll(bool block) {
    if (finished || pid < 0) return true;
    int st = 0;
    const pid_t r = ::waitpid(pid, &st, block ? 0 : WNOHANG);
    if (r == pid) {
      finished = true;
      status = st;
    }
    return finished;
  }
  bool succeeded() const { return finished && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  std::string describe() const {
    if (!finished) return "still running";
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "ended oddly";
  }
};

Job start(const std::string& program, const std::string& argument) {
  Job job;
  std::vector<char*> argv{const_cast<char*>(program.c_str()), const_cast<char*>(argument.c_str()),
                          nullptr};
  std::fflush(nullptr);
  const int rc = ::posix_spawn(&job.pid, program.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) {
    fail("cannot start " + program + ": " + std::strerror(rc));
    job.pid = -1;
  }
  return job;
}

// The job failed while we waited for it: no point in waiting on.
bool job_failed(Job& job) {
  if (job.poll(false) && !job.succeeded()) {
    fail("the COBOL job ended early: " + job.describe());
    return true;
  }
  return false;
}

std::string fresh_suffix() {
  std::random_device rd;
  char b[64];
  std::snprintf(b, sizeof b, "%d-%08x", static_cast<int>(::getpid()), rd());
  return b;
}

// ------------------------------------------------------------ ring

int run_ring(const std::string& program) {
  using namespace ringdrop;
  const std::string name = "rd-cobol-" + fresh_suffix();
  const auto where = Location::shm(name);
  RingOptions options;
  options.capacity = 64 * 1024;
  options.wait.liveness_interval = 10ms;  // the job's exit is seen soon
  // Created before the job starts: nothing it sends can be missed.
  auto opened = SpscConsumer::open(where, OpenMode::create, options);
  if (!opened) {
    fail("opening ring " + name + ": " + opened.error().message());
    return 1;
  }
  auto rx = std::move(opened.value());
  std::printf("cobol_consumer: ring %s, starting %s\n", name.c_str(), program.c_str());
  std::fflush(stdout);
  Job job = start(program, name);

  std::vector<std::vector<std::byte>> received;
  const auto deadline = Clock::now() + kOverall;
  while (job.pid >= 0) {
    auto msg = rx.receive(kSlice);
    if (msg) {
      received.push_back(std::move(msg.value()));
      continue;
    }
    if (msg.error() == errc::peer_gone) break;  // it closed the ring after its last record
    if (msg.error() != errc::timed_out) {
      fail("receive: " + msg.error().message());
      break;
    }
    if (job_failed(job)) break;
    if (Clock::now() > deadline) {
      fail("no end of data within 60 s");
      break;
    }
  }
  if (job.pid >= 0) {
    job.poll(true);
    if (!job.succeeded()) fail("ring_sender: " + job.describe());
  }
  std::printf("cobol_consumer: %zu records received\n", received.size());
  std::vector<std::span<const std::byte>> records(received.begin(), received.end());
  check_batch("ring", records, 0, kOrders.size());
  if (auto ec = Segment::remove(where)) fail("removing " + name + ": " + ec.message());
  return failures == 0 ? 0 : 1;
}

// ------------------------------------------------------------ drop

void check_header(const std::string& where, const ringdrop::DropHeaders& h, const std::string& key,
                  const std::string& want) {
  const auto it = h.find(key);
  if (it == h.end()) {
    fail(where + ": no header " + key);
  } else if (it->second != want) {
    fail(where + " header " + key + ": got '" + it->second + "', expected '" + want + "'");
  }
}

int run_drop(const std::string& program) {
  using namespace ringdrop;
  namespace fs = std::filesystem;
  std::string base_template = (fs::temp_directory_path() / "ringdrop-cobol-XXXXXX").string();
  if (::mkdtemp(base_template.data()) == nullptr) {
    fail("mkdtemp: " + std::string(std::strerror(errno)));
    return 1;
  }
  const fs::path base = base_template;
  const std::string root = (base / "orders-channel").string();
  {
    DropOptions options;
    options.durable = false;  // a test: no fsync
    auto ch = DropChannel::open(root, options);
    if (!ch) {
      fail("opening channel " + root + ": " + ch.error().message());
      fs::remove_all(base);
      return 1;
    }
    auto consumer = DropConsumer::open(ch.value());
    if (!consumer) {
      fail("opening a consumer: " + consumer.error().message());
      fs::remove_all(base);
      return 1;
    }
    auto& rx = consumer.value();
    std::printf("cobol_consumer: channel %s, starting %s\n", root.c_str(), program.c_str());
    std::fflush(stdout);
    Job job = start(program, root);

    // Batch 001: orders 1-3; batch 002: orders 4-5.
    constexpr std::array<std::pair<std::size_t, std::size_t>, 2> kBatches{{{0, 3}, {3, 5}}};
    std::array<bool, kBatches.size()> seen{};
    std::size_t claimed = 0;
    const auto deadline = Clock::now() + kOverall;
    while (job.pid >= 0 && claimed < kBatches.size()) {
      auto claim = rx.claim(kSlice);
      if (!claim) {
        if (claim.error() != errc::timed_out) {
          fail("claim: " + claim.error().message());
          break;
        }
        if (job_failed(job)) break;
        if (Clock::now() > deadline) {
          fail("not every batch arrived within 60 s");
          break;
        }
        continue;
      }
      ++claimed;
      auto& c = claim.value();
      const auto& h = c.headers();
      const auto batch_no = h.find("batch-no");
      const std::string where = "message " + c.id();
      std::size_t b = 0;
      if (batch_no == h.end() || batch_no->second.size() != 3 ||
          (b = std::strtoul(batch_no->second.c_str(), nullptr, 10)) < 1 || b > kBatches.size()) {
        fail(where + ": no valid batch-no header");
        (void)c.reject("no valid batch-no");
        continue;
      }
      if (seen[b - 1]) fail(where + ": batch " + batch_no->second + " delivered twice");
      seen[b - 1] = true;
      const std::string label = "batch " + batch_no->second;
      std::printf("cobol_consumer: %s (%s, attempt %u)\n", label.c_str(), c.id().c_str(), c.attempt());
      check_header(label, h, "content-type", "application/x-fixed-80");
      check_header(label, h, "schema-id", "orders-v1");
      check_header(label, h, "idempotency-key", "ordjob-20231105-" + batch_no->second);
      if (c.attempt() != 1) fail(label + ": attempt " + std::to_string(c.attempt()) + ", expected 1");
      auto mapped = c.map();
      if (!mapped) {
        fail(label + ": map: " + mapped.error().message());
        (void)c.reject("unreadable");
        continue;
      }
      const auto bytes = mapped.value().bytes();
      if (bytes.size() % kRecordSize != 0) {
        fail(label + ": " + std::to_string(bytes.size()) + " bytes, not whole 80-byte records");
      }
      std::vector<std::span<const std::byte>> records;
      for (std::size_t at = 0; at + kRecordSize <= bytes.size(); at += kRecordSize) {
        records.push_back(bytes.subspan(at, kRecordSize));
      }
      check_batch(label, records, kBatches[b - 1].first, kBatches[b - 1].second);
      if (auto ec = c.ack()) fail(label + ": ack: " + ec.message());
    }
    if (job.pid >= 0) {
      job.poll(true);
      if (!job.succeeded()) fail("drop_writer: " + job.describe());
    }
    for (std::size_t b = 0; b < seen.size(); ++b) {
      if (!seen[b]) fail("batch " + digits(b + 1, 3) + " never arrived");
    }
    // Nothing else was published, and nothing is left in any state.
    auto extra = rx.try_claim();
    if (extra) fail("an unexpected message: " + extra.value().id());
    auto counts = ch.value().counts();
    if (!counts) {
      fail("counts: " + counts.error().message());
    } else {
      const auto& n = counts.value();
      if (n.incoming + n.ready + n.claimed + n.retrying + n.failed != 0) {
        fail("messages left in the channel");
      }
    }
  }
  std::error_code ec;
  fs::remove_all(base, ec);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "ring") != 0 && std::strcmp(argv[1], "drop") != 0)) {
    std::fprintf(stderr, "usage: %s ring <ring_sender> | drop <drop_writer>\n", argv[0]);
    return 2;
  }
  const int rc = std::strcmp(argv[1], "ring") == 0 ? run_ring(argv[2]) : run_drop(argv[2]);
  std::printf("cobol_consumer: %s\n", rc == 0 ? "all records as expected" : "MISMATCH");
  return rc;
}

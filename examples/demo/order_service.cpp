// ringdrop-order-service — the new C++ service of the demo (README.md).
//
//   ringdrop-order-service <channel-root> <ring-name> [--ticks N]
//                          [--status-fd FD] [--timeout SECONDS]
//
// Consumes the drop channel at <channel-root> (DropConsumer): each file is
// one 80-byte record of examples/cobol/orders.cpy, a detail ('D') or the
// batch trailer ('T'). A detail is validated; a good order is acked and a
// bad one rejected (a dead letter in failed/, with the reason: validation
// failures are permanent, so retrying — nack — would only fail again; a
// service would nack what might succeed later, e.g. when a database it
// needs is down). Either way an event (demo_event.h) goes out on the
// broadcast ring <ring-name>, which must exist (ringdrop-demo creates it;
// by hand, start a subscriber first).
//
// The batch is complete when the trailer has come and as many details as it
// counts; their amounts must add up to its control total. Then the service
// publishes N tick events as fast as the subscribers take them (the
// broadcast ring's speed, zero-copy with batched publishing), and an END
// event carrying the counts and the CRC-32 of everything published, so each
// subscriber can check that it got exactly that.
//
// Status (for ringdrop-demo) goes to --status-fd as lines: "ready" once the
// consumer and the publisher are open, then one "result key=value ..." line.
// Without --status-fd they are printed. Exit status 0 when the batch
// reconciled, 1 otherwise.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "demo_event.h"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kRecordSize = 80;

int64_t now_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what, std::error_code ec) {
  std::fprintf(stderr, "[service] %s: %s %s\n", what.c_str(), ec.message().c_str(),
               last_error_detail().c_str());
  std::exit(1);
}

template <class T>
T must(Result<T> r, const std::string& what) {
  if (!r) die(what, r.error());
  return std::move(r).value();
}

int status_fd = -1;

void status(const std::string& line) {
  if (status_fd < 0) {
    std::printf("[service] status: %s\n", line.c_str());
    return;
  }
  const std::string out = line + "\n";
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(status_fd, out.data() + done, out.size() - done);
    if (n < 0) return;  // the orchestrator is gone: nothing to tell
    done += static_cast<std::size_t>(n);
  }
}

// ------------------------------------------------------------ the record
// The layout of orders.cpy: every field DISPLAY (ASCII digits), signs
// LEADING SEPARATE, the decimal point implied (V99).

std::optional<uint64_t> digits(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::optional<int64_t> signed_digits(std::string_view s) {
  if (s.size() < 2 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  const auto v = digits(s.substr(1));
  if (!v) return std::nullopt;
  return s[0] == '-' ? -static_cast<int64_t>(*v) : static_cast<int64_t>(*v);
}

bool calendar_date(uint64_t yyyymmdd) {
  const uint64_t y = yyyymmdd / 10000, m = yyyymmdd / 100 % 100, d = yyyymmdd % 100;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const uint64_t days = (m == 2 && !leap) ? 28 : static_cast<uint64_t>(kDays[m - 1]);
  return d <= days;
}

std::string money(int64_t cents) {
  char b[48];
  const int64_t a = cents < 0 ? -cents : cents;
  std::snprintf(b, sizeof b, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "", a / 100, a % 100);
  return b;
}

struct Order {
  uint64_t id = 0;
  std::string customer;  // 30 characters, space-padded
  int64_t cents = 0;
  uint64_t quantity = 0, date = 0;
  char status = ' ';
};

// Parses a detail record into `o`; returns the DEMO_REASON_* it fails
// validation with (DEMO_REASON_NONE: a good order). `parsed` tells whether
// the fields could be read at all (the amount then counts for the total).
unsigned parse_detail(std::string_view r, Order& o, bool& parsed) {
  parsed = false;
  if (r.size() != kRecordSize || r[0] != 'D') return DEMO_REASON_MALFORMED;
  const auto id = digits(r.substr(1, 8));
  const auto cents = signed_digits(r.substr(39, 10));
  const auto quantity = digits(r.substr(49, 5));
  const auto date = digits(r.substr(54, 8));
  if (!id || !cents || !quantity || !date) return DEMO_REASON_MALFORMED;
  o.id = *id;
  o.customer = std::string(r.substr(9, 30));
  o.cents = *cents;
  o.quantity = *quantity;
  o.date = *date;
  o.status = r[62];
  parsed = true;
  if (o.status != 'N' && o.status != 'R') return DEMO_REASON_STATUS;
  if (o.quantity == 0) return DEMO_REASON_QUANTITY;
  if ((o.status == 'N') != (o.cents > 0)) return DEMO_REASON_SIGN;  // refunds are negative
  if (!calendar_date(o.date)) return DEMO_REASON_DATE;
  return DEMO_REASON_NONE;
}

struct Args {
  std::string root, ring;
  uint64_t ticks = 100'000;
  std::chrono::seconds timeout{60};
};

Args parse_args(int argc, char** argv) {
  Args a;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "--ticks" || arg == "--status-fd" || arg == "--timeout") && i + 1 < argc) {
      const long long v = std::atoll(argv[++i]);
      if (arg == "--ticks") a.ticks = static_cast<uint64_t>(std::max(0LL, v));
      if (arg == "--status-fd") status_fd = static_cast<int>(v);
      if (arg == "--timeout") a.timeout = std::chrono::seconds(std::max(1LL, v));
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.size() != 2) {
    std::fprintf(stderr,
                 "usage: ringdrop-order-service <channel-root> <ring-name> [--ticks N]"
                 " [--status-fd FD] [--timeout SECONDS]\n");
    std::exit(2);
  }
  a.root = positional[0];
  a.ring = positional[1];
  return a;
}

int64_t percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // several processes share the terminal
  const Args args = parse_args(argc, argv);

  auto channel = must(DropChannel::open(args.root), "open channel " + args.root);  // or create
  auto consumer = must(DropConsumer::open(channel), "open consumer");
  auto pub = must(BroadcastPublisher::open(Location::shm(args.ring), OpenMode::open),
                  "open publisher shm:" + args.ring);
  std::printf("[service] pid %d: consuming %s (%s), publishing on shm:%s\n", getpid(),
              args.root.c_str(), consumer.uses_inotify() ? "inotify" : "polling", args.ring.c_str());
  status("ready");

  uint64_t seq = 0, order_events = 0, event_bytes = 0;
  uint32_t crc = 0;
  // Fills, stamps and commits (or stages) one event in the ring, in place.
  auto publish_event = [&](demo_event& e, bool stage_only) {
    auto span = must(pub.reserve(DEMO_EVENT_SIZE, 10s), "reserve an event");
    e.version = DEMO_EVENT_VERSION;
    e.seq = seq++;
    e.published_mono_ns = now_ns(CLOCK_MONOTONIC);
    auto* out = reinterpret_cast<unsigned char*>(span.data());
    demo_event_encode(&e, out);
    if (e.kind != DEMO_EVENT_END) crc = demo_crc32(crc, out, DEMO_EVENT_SIZE);
    event_bytes += DEMO_EVENT_SIZE;
    if (auto ec = stage_only ? pub.stage(DEMO_EVENT_SIZE) : pub.commit(DEMO_EVENT_SIZE)) {
      die("publish an event", ec);
    }
  };

  // ------------------------------------------------ 1. the batch, file by file
  uint64_t files = 0, file_bytes = 0, details = 0, accepted = 0, rejected = 0;
  int64_t details_total = 0, first_drop_wall = 0, last_settle_wall = 0;
  std::optional<uint64_t> trailer_count;
  int64_t trailer_total = 0;
  std::vector<int64_t> claim_latency;  // drop (the id's time) -> claimed, wall clock
  bool ok = true;
  const Deadline deadline = deadline_after(args.timeout);
  while (!trailer_count || details < *trailer_count) {
    auto claim = consumer.claim_until(deadline);
    if (!claim) {
      if (claim.error() != errc::timed_out) die("claim", claim.error());
      std::fprintf(stderr, "[service] FAIL: batch incomplete after %llds: %" PRIu64
                   " details%s\n", static_cast<long long>(args.timeout.count()), details,
                   trailer_count ? "" : ", no trailer");
      return 1;
    }
    const int64_t claimed_wall = now_ns(CLOCK_REALTIME);
    const auto& headers = claim->headers();
    int64_t dropped_wall = 0;
    if (auto it = headers.find(drop_header::published_at); it != headers.end()) {
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), dropped_wall);
    }
    if (dropped_wall != 0) {
      claim_latency.push_back(claimed_wall - dropped_wall);
      if (first_drop_wall == 0 || dropped_wall < first_drop_wall) first_drop_wall = dropped_wall;
    }
    const auto data = must(claim->read(), "read " + claim->id());
    const std::string_view record(reinterpret_cast<const char*>(data.data()), data.size());
    ++files;
    file_bytes += data.size();

    if (record.size() == kRecordSize && record[0] == 'T') {  // the trailer
      const auto count = digits(record.substr(1, 8));
      const auto total = signed_digits(record.substr(9, 14));
      if (!count || !total) {
        std::printf("[service] trailer %s is malformed: rejected\n", claim->id().c_str());
        if (auto ec = claim->reject("malformed trailer")) die("reject", ec);
        ok = false;
        break;
      }
      trailer_count = *count;
      trailer_total = *total;
      if (auto ec = claim->ack()) die("ack trailer", ec);
      last_settle_wall = now_ns(CLOCK_REALTIME);
      std::printf("[service] trailer: %" PRIu64 " orders, control total %s\n", *count,
                  money(*total).c_str());
      continue;
    }

    Order o;
    bool parsed = false;
    const unsigned reason = parse_detail(record, o, parsed);
    ++details;
    if (parsed) details_total += o.cents;
    demo_event e{};
    e.kind = reason == DEMO_REASON_NONE ? DEMO_EVENT_ACCEPTED : DEMO_EVENT_REJECTED;
    e.quantity = static_cast<uint32_t>(o.quantity);
    e.order_id = o.id;
    e.amount_cents = o.cents;
    e.dropped_wall_ns = dropped_wall;
    e.status = o.status;
    e.reason = static_cast<uint8_t>(reason);
    std::memset(e.customer, ' ', sizeof e.customer);
    std::memcpy(e.customer, o.customer.data(), std::min(o.customer.size(), sizeof e.customer));
    // Settle first, then announce: an event never reports an order that
    // could still come back (a crash between the two redelivers the file,
    // and the event is published then: at-least-once, like the channel).
    if (reason == DEMO_REASON_NONE) {
      if (auto ec = claim->ack()) die("ack " + claim->id(), ec);
      ++accepted;
    } else {
      if (auto ec = claim->reject(demo_reason_text(reason))) die("reject " + claim->id(), ec);
      ++rejected;
    }
    last_settle_wall = now_ns(CLOCK_REALTIME);
    publish_event(e, false);
    ++order_events;
    std::printf("[service] order %08" PRIu64 " %.30s %10s x%-3" PRIu64 " %s -> event %" PRIu64 "\n",
                o.id, o.customer.c_str(), money(o.cents).c_str(), o.quantity,
                reason == DEMO_REASON_NONE
                    ? "accepted, acked     "
                    : (std::string("REJECTED: ") + demo_reason_text(reason)).c_str(),
                e.seq);
  }
  if (trailer_count && details != *trailer_count) ok = false;
  const bool reconciled = ok && trailer_count && details_total == trailer_total;
  std::printf("[service] batch %s: %" PRIu64 " details (%" PRIu64 " accepted, %" PRIu64
              " rejected), total %s vs trailer %s\n",
              reconciled ? "reconciled" : "DOES NOT RECONCILE", details, accepted, rejected,
              money(details_total).c_str(), money(trailer_total).c_str());

  // ------------------------------------------------ 2. the tick stream
  const int64_t t0 = now_ns(CLOCK_MONOTONIC);
  for (uint64_t i = 0; i < args.ticks; ++i) {
    demo_event e{};
    e.kind = DEMO_EVENT_TICK;
    e.order_id = i;
    publish_event(e, i % 32 != 31);  // a batch of 32 becomes visible at once
  }
  pub.publish();
  const int64_t tick_ns = now_ns(CLOCK_MONOTONIC) - t0;

  // ------------------------------------------------ 3. the end, to check against
  demo_event end{};
  end.kind = DEMO_EVENT_END;
  end.quantity = static_cast<uint32_t>(order_events);
  end.order_id = args.ticks;
  end.amount_cents = static_cast<int64_t>(crc);
  const uint64_t events_before_end = seq;
  publish_event(end, false);

  char line[768];
  std::snprintf(line, sizeof line,
                "result ok=%d files=%" PRIu64 " file_bytes=%" PRIu64 " details=%" PRIu64
                " accepted=%" PRIu64 " rejected=%" PRIu64 " trailer_count=%" PRIu64
                " trailer_total=%" PRId64 " details_total=%" PRId64 " first_drop_wall=%" PRId64
                " last_settle_wall=%" PRId64 " claim_p50=%" PRId64 " claim_max=%" PRId64
                " events=%" PRIu64 " order_events=%" PRIu64 " ticks=%" PRIu64 " event_bytes=%" PRIu64
                " crc=%u tick_ns=%" PRId64,
                reconciled ? 1 : 0, files, file_bytes, details, accepted, rejected,
                trailer_count.value_or(0), trailer_total, details_total, first_drop_wall,
                last_settle_wall, percentile(claim_latency, 0.5), percentile(claim_latency, 1.0),
                events_before_end, order_events, args.ticks, event_bytes, static_cast<unsigned>(crc),
                tick_ns);
  status(line);
  return reconciled ? 0 : 1;
}

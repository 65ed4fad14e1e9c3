// The C++ side of the COBOL receivers: sends known 80-byte records to a
// COBOL batch job, runs it, and checks, field by field, what it reports.
//
//   ringdrop-cobol-producer ring <path of ring_receiver>
//       creates an SPSC ring with a fresh name, sends the five orders of
//       ordload.cpy and their trailer, runs `ring_receiver <name>`, and
//       compares each line it prints (D|... per detail, T|...|OK) with the
//       orders; exit status 0 expected.
//   ringdrop-cobol-producer ring <path of ring_receiver> bad-trailer
//       the same twice, each on a fresh ring, with a trailer that does not
//       reconcile: one claiming 6 orders (T|00000006|...|COUNT expected),
//       one whose total is a cent more than the details' (T|...|TOTAL);
//       each time the five detail lines, the trailer line showing what the
//       trailer said, and exit status 4.
//   ringdrop-cobol-producer drop <path of drop_receiver>
//       creates a drop channel in a fresh temporary directory, publishes
//       three batches (001: orders 1-3; 002: orders 4-5 with a trailer
//       that claims 3 orders, the bad one; 003: orders 4-5), runs
//       `drop_receiver <root>`, and checks its listing (each good batch's
//       records and ACK line, the bad one's REJECT line), exit status 4,
//       that the bad batch is in failed/ with the COBOL program's reason,
//       and that nothing else is left in the channel (acked, deleted).
//   ringdrop-cobol-producer drop <path of drop_receiver> bad-batches
//       the same with a batch for each of drop_receiver's other reject
//       reasons (a trailer total that differs; a detail of another type; a
//       detail and a trailer with a field that is not numeric; no trailer;
//       a size that is not whole records, too small, too large, empty) and
//       two good batches at the size limits (2 and 100 records), the last
//       one after all the bad ones: each bad batch's REJECT line and its
//       dead letter with that reason, the good ones listed and acked.
//
// Exit status 0 when the job reported exactly what was sent, 1 otherwise.
// The job's stdout is read through a pipe until it ends; no sleeps.
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
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

int failures = 0;

void fail(const std::string& what) {
  std::fprintf(stderr, "cobol_producer: FAIL: %s\n", what.c_str());
  ++failures;
}

// ------------------------------------------------------------ the records
// The orders of ordload.cpy, laid out as orders.cpy says.

using cobol::digits;
using cobol::kOrders;
using cobol::kRecordSize;
using cobol::magnitude;
using cobol::Order;
using cobol::padded;
using cobol::signed_digits;

// An edited PIC +9(n).99 as COBOL prints it.
std::string edited(long long cents, int int_digits) {
  return (cents < 0 ? "-" : "+") + digits(magnitude(cents) / 100, int_digits) + "." +
         digits(magnitude(cents) % 100, 2);
}

std::string detail_record(const Order& o) {
  std::string r = "D" + digits(o.id, 8) + padded(o.customer, 30) + signed_digits(o.cents, 9) +
                  digits(o.quantity, 5) + digits(o.date, 8) + std::string(1, o.status);
  r.resize(kRecordSize, ' ');
  return r;
}

std::string trailer_record(std::size_t count, long long total_cents) {
  std::string r = "T" + digits(count, 8) + signed_digits(total_cents, 13);
  r.resize(kRecordSize, ' ');
  return r;
}

// The line ring_receiver and drop_receiver print for a detail (OUT-DETAIL).
std::string detail_line(const Order& o) {
  return "D|" + digits(o.id, 8) + "|" + padded(o.customer, 30) + "|" + edited(o.cents, 7) + "|" +
         digits(o.quantity, 5) + "|" + digits(o.date, 8) + "|" + std::string(1, o.status);
}

std::span<const std::byte> bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// ------------------------------------------------------------ the job

struct Run {
  bool started = false;
  int status = 0;
  std::vector<std::string> lines;  // its stdout
};

// Runs `program argument`, collects its stdout line by line, waits for it.
Run run(const std::string& program, const std::string& argument) {
  Run r;
  int fds[2];
  if (::pipe(fds) != 0) {
    fail("pipe: " + std::string(std::strerror(errno)));
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<char*> argv{const_cast<char*>(program.c_str()), const_cast<char*>(argument.c_str()), nullptr};
  std::fflush(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    fail("cannot start " + program + ": " + std::strerror(rc));
    ::close(fds[0]);
    return r;
  }
  r.started = true;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EOF: the job ended (or closed its stdout)
    }
  }
  ::close(fds[0]);
  while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
  }
  for (std::size_t at = 0; at < out.size();) {
    auto nl = out.find('\n', at);
    if (nl == std::string::npos) nl = out.size();
    std::string line = out.substr(at, nl - at);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();  // DISPLAY pads nothing, but be fair
    r.lines.push_back(line);
    std::printf("  | %s\n", line.c_str());
    at = nl + 1;
  }
  return r;
}

void expect_exit(const Run& r, int want, const std::string& who) {
  if (!r.started) return;
  if (!WIFEXITED(r.status)) {
    fail(who + ": did not exit normally");
  } else if (WEXITSTATUS(r.status) != want) {
    fail(who + ": exit status " + std::to_string(WEXITSTATUS(r.status)) + ", expected " + std::to_string(want));
  }
}

// Compares line `i` of the job's output with `want`, naming the field (the
// '|'-separated column) that differs.
void expect_line(const Run& r, std::size_t i, const std::string& want) {
  if (i >= r.lines.size()) {
    fail("line " + std::to_string(i + 1) + " missing, expected '" + want + "'");
    return;
  }
  const std::string& got = r.lines[i];
  if (got == want) return;
  std::size_t a = 0, b = 0;
  for (int field = 1;; ++field) {
    const auto ea = got.find('|', a), eb = want.find('|', b);
    const auto fa = got.substr(a, ea == std::string::npos ? std::string::npos : ea - a);
    const auto fb = want.substr(b, eb == std::string::npos ? std::string::npos : eb - b);
    if (fa != fb) {
      fail("line " + std::to_string(i + 1) + " field " + std::to_string(field) + ": got '" + fa + "', expected '" +
           fb + "'");
      return;
    }
    if (ea == std::string::npos || eb == std::string::npos) break;
    a = ea + 1;
    b = eb + 1;
  }
  fail("line " + std::to_string(i + 1) + ": got '" + got + "', expected '" + want + "'");
}

std::string fresh_suffix() {
  std::random_device rd;
  char b[64];
  std::snprintf(b, sizeof b, "%d-%08x", static_cast<int>(::getpid()), rd());
  return b;
}

// ------------------------------------------------------------ ring

// One run of ring_receiver on a fresh ring: the five orders, then a trailer
// that claims `count` orders and `total` cents; expects the five detail
// lines, "T|<count>|<total>|<verdict>" and exit status `status`.
void ring_exchange(const std::string& program, std::size_t count, long long total, const std::string& verdict,
                   int status) {
  using namespace ringdrop;
  const std::string name = "rd-cobol-rx-" + fresh_suffix();
  const auto where = Location::shm(name);
  RingOptions options;
  options.capacity = 64 * 1024;
  auto opened = SpscProducer::open(where, OpenMode::create, options);
  if (!opened) {
    fail("opening ring " + name + ": " + opened.error().message());
    return;
  }
  auto tx = std::move(opened.value());
  // Everything goes in before the job starts (the ring holds it); the job
  // finds it there and stops at the trailer.
  for (const auto& o : kOrders) {
    if (auto ec = tx.send(bytes(detail_record(o)), 5s)) fail("send: " + ec.message());
  }
  if (auto ec = tx.send(bytes(trailer_record(count, total)), 5s)) fail("send: " + ec.message());
  std::printf("cobol_producer: ring %s, 6 records sent (trailer: %zu orders, %s), running %s\n", name.c_str(),
              count, edited(total, 11).c_str(), program.c_str());
  const Run r = run(program, name);
  expect_exit(r, status, "ring_receiver");
  for (std::size_t i = 0; i < kOrders.size(); ++i) expect_line(r, i, detail_line(kOrders[i]));
  // What the trailer said, and the job's verdict on it.
  expect_line(r, kOrders.size(), "T|" + digits(count, 8) + "|" + edited(total, 11) + "|" + verdict);
  if (r.lines.size() != kOrders.size() + 1) {
    fail(std::to_string(r.lines.size()) + " lines, expected " + std::to_string(kOrders.size() + 1));
  }
  if (auto ec = Segment::remove(where)) fail("removing " + name + ": " + ec.message());
}

int run_ring(const std::string& program, bool bad_trailer) {
  long long total = 0;
  for (const auto& o : kOrders) total += o.cents;
  if (!bad_trailer) {
    ring_exchange(program, kOrders.size(), total, "OK", 0);
  } else {
    // 4: the trailer does not reconcile; the verdict says which field.
    ring_exchange(program, kOrders.size() + 1, total, "COUNT", 4);
    ring_exchange(program, kOrders.size(), total + 1, "TOTAL", 4);
  }
  return failures == 0 ? 0 : 1;
}

// ------------------------------------------------------------ drop

struct Batch {
  std::string content;        // what is published
  std::string reason;         // drop_receiver's reject reason; empty: a good batch
  std::size_t first = 0;      // a good batch: orders first, first+1, ... (cycling
  std::size_t details = 0;    // through kOrders), `details` of them
  std::string id;             // once published
};

// Details of orders first, first+1, ... (cycling through kOrders), then a
// trailer claiming `claimed` of them and the details' total plus `total_off`.
std::string batch_content(std::size_t first, std::size_t details, std::size_t claimed, long long total_off = 0) {
  std::string content;
  long long total = 0;
  for (std::size_t i = first; i < first + details; ++i) {
    content += detail_record(kOrders[i % kOrders.size()]);
    total += kOrders[i % kOrders.size()].cents;
  }
  return content + trailer_record(claimed, total + total_off);
}

Batch good_batch(std::size_t first, std::size_t details) {
  return {batch_content(first, details, details), {}, first, details, {}};
}

Batch bad_batch(std::string content, std::string reason) { return {std::move(content), std::move(reason), 0, 0, {}}; }

// The three batches of `drop`: 002's trailer claims one order too many.
std::vector<Batch> trailer_count_batches() {
  return {good_batch(0, 3), bad_batch(batch_content(3, 2, 3), "trailer count 00000003, details 00000002"),
          good_batch(3, 2)};
}

// `drop bad-batches`: each of drop_receiver's other reasons (the record
// numbers are 1-based, the sizes PIC 9(9)), between two good batches at the
// limits of the size check.
std::vector<Batch> bad_batches() {
  std::vector<Batch> batches;
  // Orders 1-3 total +1223.05; the trailer says a cent more.
  batches.push_back(bad_batch(batch_content(0, 3, 3, 1), "trailer total " + edited(122306, 11) + ", details " +
                                                             edited(122305, 11)));
  batches.push_back(good_batch(0, 1));  // 160 bytes: the smallest batch
  {
    std::string c = batch_content(0, 3, 3);
    c[kRecordSize] = 'X';  // record 2: neither detail nor trailer
    batches.push_back(bad_batch(c, "record 002: type X"));
  }
  {
    std::string c = batch_content(0, 3, 3);
    c[2 * kRecordSize + 49] = 'A';  // record 3: its quantity (columns 50-54)
    batches.push_back(bad_batch(c, "record 003: not numeric"));
  }
  {
    // No trailer: the last record is a detail.
    std::string c = batch_content(0, 2, 2);
    c.replace(2 * kRecordSize, kRecordSize, detail_record(kOrders[2]));
    batches.push_back(bad_batch(c, "record 003: type D"));
  }
  {
    std::string c = batch_content(0, 3, 3);
    c[3 * kRecordSize + 8] = 'X';  // record 4, the trailer: its count (columns 2-9)
    batches.push_back(bad_batch(c, "record 004: not numeric"));
  }
  batches.push_back(bad_batch(batch_content(0, 2, 2) + "\n", "000000241 bytes: not 2 to 100 whole 80-byte records"));
  batches.push_back(bad_batch(trailer_record(0, 0), "000000080 bytes: not 2 to 100 whole 80-byte records"));
  batches.push_back(bad_batch(batch_content(0, 100, 100), "000008080 bytes: not 2 to 100 whole 80-byte records"));
  batches.push_back(bad_batch({}, "000000000 bytes: not 2 to 100 whole 80-byte records"));
  batches.push_back(good_batch(1, 99));  // 8000 bytes: the largest batch, after the bad ones
  return batches;
}

int run_drop(const std::string& program, std::vector<Batch> batches) {
  using namespace ringdrop;
  namespace fs = std::filesystem;
  std::string base_template = (fs::temp_directory_path() / "ringdrop-cobol-rx-XXXXXX").string();
  if (::mkdtemp(base_template.data()) == nullptr) {
    fail("mkdtemp: " + std::string(std::strerror(errno)));
    return 1;
  }
  const fs::path base = base_template;
  const std::string root = (base / "orders-channel").string();
  std::size_t rejected = 0;
  for (const auto& batch : batches) rejected += batch.reason.empty() ? 0 : 1;
  const std::size_t acked = batches.size() - rejected;
  {
    DropOptions options;
    options.durable = false;  // a test: no fsync
    auto ch = DropChannel::open(root, options);
    if (!ch) {
      fail("opening channel " + root + ": " + ch.error().message());
      fs::remove_all(base);
      return 1;
    }
    // Published one after another: claims come oldest first.
    for (std::size_t b = 0; b < batches.size(); ++b) {
      auto& batch = batches[b];
      auto id = ch.value().publish(bytes(batch.content), {{"batch-no", digits(b + 1, 3)}});
      if (!id) {
        fail("publish: " + id.error().message());
        fs::remove_all(base);
        return 1;
      }
      batch.id = id.value();
    }
    std::printf("cobol_producer: channel %s, %zu batches published (%zu bad), running %s\n", root.c_str(),
                batches.size(), rejected, program.c_str());
    const Run r = run(program, root);
    expect_exit(r, rejected > 0 ? 4 : 0, "drop_receiver");  // 4: a batch was rejected

    std::size_t line = 0;
    for (std::size_t b = 0; b < batches.size(); ++b) {
      const auto& batch = batches[b];
      expect_line(r, line++, "MSG|" + batch.id + "|" + digits(b + 1, 3));
      if (!batch.reason.empty()) {
        expect_line(r, line++, "REJECT|" + batch.id + "|" + batch.reason);
        continue;
      }
      long long total = 0;
      for (std::size_t i = batch.first; i < batch.first + batch.details; ++i) {
        expect_line(r, line++, detail_line(kOrders[i % kOrders.size()]));
        total += kOrders[i % kOrders.size()].cents;
      }
      expect_line(r, line++, "ACK|" + batch.id + "|" + digits(batch.details, 8) + "|" + edited(total, 11));
    }
    expect_line(r, line++, "END|" + digits(acked, 4) + "|" + digits(rejected, 4));
    if (r.lines.size() != line) fail(std::to_string(r.lines.size()) + " lines, expected " + std::to_string(line));

    // Each bad batch is a dead letter with the COBOL program's reason; the
    // good ones were acked (deleted: the channel does not archive).
    auto dead = ch.value().dead_letters();
    if (!dead) {
      fail("dead_letters: " + dead.error().message());
    } else {
      if (dead.value().size() != rejected) {
        fail(std::to_string(dead.value().size()) + " dead letters, expected " + std::to_string(rejected));
      }
      for (std::size_t b = 0; b < batches.size(); ++b) {
        const auto& batch = batches[b];
        if (batch.reason.empty()) continue;
        const auto d = std::find_if(dead.value().begin(), dead.value().end(),
                                    [&](const auto& letter) { return letter.id == batch.id; });
        if (d == dead.value().end()) {
          fail("batch " + digits(b + 1, 3) + " (" + batch.id + ") is not a dead letter");
          continue;
        }
        if (d->reason.find(batch.reason) == std::string::npos) {
          fail("dead letter reason '" + d->reason + "' does not say '" + batch.reason + "'");
        } else {
          std::printf("cobol_producer: failed/%s, reason file has \"%s\"\n", d->id.c_str(), batch.reason.c_str());
        }
        const auto h = d->headers.find("batch-no");
        if (h == d->headers.end() || h->second != digits(b + 1, 3)) {
          fail("dead letter " + d->id + ": batch-no header lost");
        }
      }
    }
    auto counts = ch.value().counts();
    if (!counts) {
      fail("counts: " + counts.error().message());
    } else {
      const auto& n = counts.value();
      if (n.incoming + n.ready + n.claimed + n.retrying != 0 || n.failed != rejected) {
        fail("the channel holds more than the " + std::to_string(rejected) + " dead letter(s)");
      }
    }
  }
  std::error_code ec;
  fs::remove_all(base, ec);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool ring = argc >= 3 && std::strcmp(argv[1], "ring") == 0;
  const bool drop = argc >= 3 && std::strcmp(argv[1], "drop") == 0;
  const char* variant = ring ? "bad-trailer" : "bad-batches";
  if ((!ring && !drop) || argc > 4 || (argc == 4 && std::strcmp(argv[3], variant) != 0)) {
    std::fprintf(stderr, "usage: %s ring <ring_receiver> [bad-trailer] | drop <drop_receiver> [bad-batches]\n",
                 argv[0]);
    return 2;
  }
  const bool bad = argc == 4;
  const int rc = ring ? run_ring(argv[2], bad) : run_drop(argv[2], bad ? bad_batches() : trailer_count_batches());
  std::printf("cobol_producer: %s\n", rc == 0 ? "the job reported every record as sent" : "MISMATCH");
  return rc;
}

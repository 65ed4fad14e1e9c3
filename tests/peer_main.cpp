// ringdrop-test-peer — the other process in cross-process tests.
//
//   produce NAME --count N [--start S] [--seed X] [--max-size M]
//           [--announce]       print "ATTACHED" once the producer role is held
//           [--hang-after K]   commit K messages, then reserve one more, fill
//                              half of it, print "RESERVED" and wait to be
//                              killed (a producer dying between reserve and
//                              commit)
//   consume NAME --count N [--start S] [--seed X] [--max-size M]
//           [--hold-after K]   release K messages, read one more without
//                              releasing it, print "HOLDING" and wait to be
//                              killed (a consumer dying while holding a record)
//           [--expect-gone]    after N messages the next read must be peer_gone
//   echo    IN OUT --count N   read from ring IN, send the same bytes to OUT
//   open-consumer NAME --expect ERROR
//                              opening NAME as a consumer must fail with the
//                              errc named ERROR (e.g. wrong_kind)
//
// Common: [--spin-for-us U] [--liveness-ms L] [--timeout-ms T] [--file]
// (--file: NAME is a file path, not a shm name). Exit 0 on success; on a
// failure, one line on stderr and exit 1. Messages follow message_pattern.hpp.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "message_pattern.hpp"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono;

namespace {

struct Args {
  std::string mode, name, out_name, expect;
  uint64_t count = 0, start = 0, seed = 1, max_size = 256;
  long hang_after = -1, hold_after = -1;
  bool expect_gone = false, file = false, announce_attach = false;
  RingOptions ring;
  milliseconds timeout{10000};
};

[[noreturn]] void die(const std::string& what, std::error_code ec = {}) {
  std::fprintf(stderr, "peer: %s%s%s%s%s\n", what.c_str(), ec ? ": " : "",
               ec ? ec.message().c_str() : "", ec && !last_error_detail().empty() ? " — " : "",
               ec ? last_error_detail().c_str() : "");
  std::exit(1);
}

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 3) die("usage: see the comment at the top of peer_main.cpp");
  a.mode = argv[1];
  a.name = argv[2];
  int i = 3;
  if (a.mode == "echo") {
    if (argc < 4) die("echo needs IN and OUT");
    a.out_name = argv[i++];
  }
  for (; i < argc; ++i) {
    const std::string flag = argv[i];
    auto num = [&] { return i + 1 < argc ? std::strtoull(argv[++i], nullptr, 10) : (die(flag + " needs a value"), 0ull); };
    if (flag == "--count") a.count = num();
    else if (flag == "--start") a.start = num();
    else if (flag == "--seed") a.seed = num();
    else if (flag == "--max-size") a.max_size = num();
    else if (flag == "--hang-after") a.hang_after = static_cast<long>(num());
    else if (flag == "--hold-after") a.hold_after = static_cast<long>(num());
    else if (flag == "--expect-gone") a.expect_gone = true;
    else if (flag == "--announce") a.announce_attach = true;
    else if (flag == "--expect" && i + 1 < argc) a.expect = argv[++i];
    else if (flag == "--file") a.file = true;
    else if (flag == "--spin-for-us") a.ring.wait.spin_for = microseconds(num());
    else if (flag == "--liveness-ms") a.ring.wait.liveness_interval = milliseconds(num());
    else if (flag == "--timeout-ms") a.timeout = milliseconds(num());
    else die("unknown flag " + flag);
  }
  return a;
}

Location where(const Args& a, const std::string& name) {
  return a.file ? Location::file(name) : Location::shm(name);
}

void announce(const char* word) {
  std::printf("%s\n", word);
  std::fflush(stdout);
}

errc errc_named(const std::string& name) {
  static const std::pair<const char*, errc> kNames[] = {
      {"corrupted", errc::corrupted},         {"foreign_segment", errc::foreign_segment},
      {"incompatible_layout", errc::incompatible_layout}, {"wrong_kind", errc::wrong_kind},
      {"not_found", errc::not_found},         {"role_taken", errc::role_taken},
  };
  for (const auto& [spelled, code] : kNames) {
    if (name == spelled) return code;
  }
  die("unknown error name " + name);
}

[[noreturn]] void wait_to_be_killed() {
  for (;;) pause();
}

int produce(const Args& a) {
  auto tx = SpscProducer::open(where(a, a.name), OpenMode::open, a.ring);
  if (!tx) die("open producer", tx.error());
  if (a.announce_attach) announce("ATTACHED");
  for (uint64_t seq = a.start; seq < a.start + a.count; ++seq) {
    const size_t size = test::pattern_size(a.seed, seq, a.max_size);
    auto span = tx->reserve(size, a.timeout);
    if (!span) die("reserve #" + std::to_string(seq), span.error());
    if (a.hang_after >= 0 && seq == a.start + static_cast<uint64_t>(a.hang_after)) {
      test::pattern_fill(a.seed, seq, span->first(size / 2));
      announce("RESERVED");
      wait_to_be_killed();
    }
    test::pattern_fill(a.seed, seq, *span);
    if (auto ec = tx->commit(size)) die("commit", ec);
  }
  return 0;
}

int consume(const Args& a) {
  auto rx = SpscConsumer::open(where(a, a.name), OpenMode::open, a.ring);
  if (!rx) die("open consumer", rx.error());
  for (uint64_t seq = a.start; seq < a.start + a.count; ++seq) {
    auto view = rx->read(a.timeout);
    if (!view) die("read #" + std::to_string(seq), view.error());
    if (!test::pattern_check(a.seed, seq, *view, a.max_size)) {
      die("message #" + std::to_string(seq) + " is wrong (claims #" +
          std::to_string(test::pattern_seq(*view)) + ", " + std::to_string(view->size()) + " bytes)");
    }
    if (a.hold_after >= 0 && seq == a.start + static_cast<uint64_t>(a.hold_after)) {
      announce("HOLDING");
      wait_to_be_killed();
    }
    rx->release();
  }
  if (a.expect_gone) {
    auto view = rx->read(a.timeout);
    if (view || view.error() != errc::peer_gone) die("expected peer_gone", view.error());
  }
  return 0;
}

int open_consumer(const Args& a) {
  auto rx = SpscConsumer::open(where(a, a.name), OpenMode::open, a.ring);
  const std::string got = rx ? "success" : rx.error().message();
  const std::string want = make_error_code(errc_named(a.expect)).message();
  if (got != want) die("open gave '" + got + "', expected '" + want + "'");
  std::printf("%s\n", last_error_detail().c_str());
  return 0;
}

int echo(const Args& a) {
  auto rx = SpscConsumer::open(where(a, a.name), OpenMode::open, a.ring);
  if (!rx) die("open consumer", rx.error());
  auto tx = SpscProducer::open(where(a, a.out_name), OpenMode::open, a.ring);
  if (!tx) die("open producer", tx.error());
  for (uint64_t i = 0; i < a.count; ++i) {
    auto view = rx->read(a.timeout);
    if (!view) die("echo read #" + std::to_string(i), view.error());
    if (auto ec = tx->send(*view, a.timeout)) die("echo send", ec);
    rx->release();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.mode == "produce") return produce(a);
  if (a.mode == "consume") return consume(a);
  if (a.mode == "echo") return echo(a);
  if (a.mode == "open-consumer") return open_consumer(a);
  die("unknown mode " + a.mode);
}

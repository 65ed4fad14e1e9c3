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
// MPMC rings (messages are the tagged ones of message_pattern.hpp, at most
// the ring's max_message_size() unless --max-size says otherwise):
//   bcast-publish NAME --count N [--start S] [--hang-after K]
//                              publish pattern messages (at most 200 bytes)
//   bcast-subscribe NAME --count N [--start S] [--announce] [--hold-after K]
//           [--expect-gone]    subscribe from the newest message, check N
//                              messages in order (as produce/consume)
//   mpmc-produce NAME --producer P --count N [--start S]
//           [--announce]       print "ATTACHED" once joined
//           [--batch B]        stage B-1 messages, commit the B-th (a batch)
//           [--hang-after K]   commit K messages, then reserve one more, fill
//                              half of it, print "RESERVED" and wait to be killed
//           [--linger]         after the last message print "SENT", wait for
//                              SIGTERM, then leave cleanly
//   mpmc-consume NAME [--announce] [--batch B] [--expect-count N]
//           [--expect-end ERROR] [--hold-after K]
//                              read until a read fails, which must be with
//                              ERROR (default peer_gone); check every byte;
//                              print "TALLY count sum1 sum2 disorder" (the
//                              Tally of what was received; disorder: messages
//                              whose seq was not above the last one received
//                              from the same producer). --batch: release every
//                              B messages (and before waiting). --hold-after:
//                              once K messages are released, read one more,
//                              print "HOLDING count sum1 sum2 disorder P SEQ"
//                              (the tally of the K, and the held message) and
//                              wait to be killed.
//
// Common: [--spin-for-us U] [--liveness-ms L] [--timeout-ms T] [--file]
// (--file: NAME is a file path, not a shm name). Exit 0 on success; on a
// failure, one line on stderr and exit 1. Messages follow message_pattern.hpp.
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "message_pattern.hpp"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono;

namespace {

struct Args {
  std::string mode, name, out_name, expect, expect_end = "peer_gone";
  uint64_t count = 0, start = 0, seed = 1, max_size = 256, producer = 0, batch = 1;
  long hang_after = -1, hold_after = -1, expect_count = -1;
  bool expect_gone = false, file = false, announce_attach = false, max_size_set = false;
  bool linger = false;
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
    else if (flag == "--max-size") a.max_size = num(), a.max_size_set = true;
    else if (flag == "--producer") a.producer = num();
    else if (flag == "--batch") a.batch = std::max<uint64_t>(1, num());
    else if (flag == "--expect-count") a.expect_count = static_cast<long>(num());
    else if (flag == "--expect-end" && i + 1 < argc) a.expect_end = argv[++i];
    else if (flag == "--linger") a.linger = true;
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
      {"peer_gone", errc::peer_gone},         {"timed_out", errc::timed_out},
      {"capacity_mismatch", errc::capacity_mismatch},
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

MpmcOptions mpmc_options(const Args& a) {
  MpmcOptions o;
  static_cast<RingOptions&>(o) = a.ring;
  return o;
}

int mpmc_produce(const Args& a) {
  // SIGTERM is taken by sigwait() below (--linger), not by its default action.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  if (a.linger) pthread_sigmask(SIG_BLOCK, &term, nullptr);
  auto tx = MpmcProducer::open(where(a, a.name), OpenMode::open, mpmc_options(a));
  if (!tx) die("open MPMC producer", tx.error());
  if (a.announce_attach) announce("ATTACHED");
  const size_t max = a.max_size_set ? a.max_size : tx->max_message_size();
  for (uint64_t seq = a.start; seq < a.start + a.count; ++seq) {
    const size_t size = test::tagged_size(a.producer, seq, max);
    auto span = tx->reserve(size, a.timeout);
    if (!span) die("reserve #" + std::to_string(seq), span.error());
    if (a.hang_after >= 0 && seq == a.start + static_cast<uint64_t>(a.hang_after)) {
      test::tagged_fill(a.producer, seq, span->first(size / 2));
      announce("RESERVED");
      wait_to_be_killed();
    }
    test::tagged_fill(a.producer, seq, *span);
    const bool last_of_batch = (seq - a.start + 1) % a.batch == 0;
    if (auto ec = last_of_batch ? tx->commit(size) : tx->stage(size)) die("commit", ec);
  }
  tx->publish();
  if (a.linger) {
    announce("SENT");
    int sig = 0;
    sigwait(&term, &sig);
  }
  return 0;  // the handle leaves cleanly
}

int mpmc_consume(const Args& a) {
  auto rx = MpmcConsumer::open(where(a, a.name), OpenMode::open, mpmc_options(a));
  if (!rx) die("open MPMC consumer", rx.error());
  if (a.announce_attach) announce("ATTACHED");
  const size_t max = a.max_size_set ? a.max_size : rx->max_message_size();
  test::Tally tally;
  uint64_t disorder = 0, unreleased = 0;
  std::unordered_map<uint64_t, uint64_t> next_seq;  // per producer: the least seq still in order
  const auto summary = [&] {
    return std::to_string(tally.count) + " " + std::to_string(tally.sum1) + " " +
           std::to_string(tally.sum2) + " " + std::to_string(disorder);
  };
  for (;;) {
    const bool hold = a.hold_after >= 0 && tally.count == static_cast<uint64_t>(a.hold_after);
    if (hold) rx->release();
    auto view = rx->try_read();
    if (!view && view.error() == errc::would_block) {
      rx->release();  // never wait holding cells a producer may be waiting for
      unreleased = 0;
      view = rx->read(a.timeout);
    }
    if (!view) {
      if (view.error() != errc_named(a.expect_end)) {
        die("read after " + std::to_string(tally.count) + " messages", view.error());
      }
      break;
    }
    test::Tag tag;
    if (!test::tagged_check(*view, max, tag)) {
      die("message " + std::to_string(tally.count) + " is wrong (claims #" +
          std::to_string(tag.seq) + " of producer " + std::to_string(tag.producer) + ", " +
          std::to_string(view->size()) + " bytes)");
    }
    const auto it = next_seq.try_emplace(tag.producer, 0).first;
    if (tag.seq < it->second) ++disorder;
    it->second = std::max(it->second, tag.seq + 1);
    if (hold) {
      const std::string line = "HOLDING " + summary() + " " + std::to_string(tag.producer) + " " +
                               std::to_string(tag.seq);
      announce(line.c_str());
      wait_to_be_killed();
    }
    tally.add(tag);
    if (++unreleased >= a.batch) {
      rx->release();
      unreleased = 0;
    }
  }
  rx->release();
  if (a.expect_count >= 0 && tally.count != static_cast<uint64_t>(a.expect_count)) {
    die("received " + std::to_string(tally.count) + " messages, expected " +
        std::to_string(a.expect_count));
  }
  const std::string line = "TALLY " + summary();
  announce(line.c_str());
  return 0;
}

// ---------------------------------------------------------------- broadcast

int bcast_publish(const Args& a) {
  BroadcastOptions o;
  o.wait = a.ring.wait;
  auto pub = BroadcastPublisher::open(where(a, a.name), OpenMode::open, o);
  if (!pub) die("open publisher", pub.error());
  const size_t max_size = std::min<size_t>(a.max_size, 200);
  for (uint64_t seq = a.start; seq < a.start + a.count; ++seq) {
    const size_t size = test::pattern_size(a.seed, seq, max_size);
    auto span = pub->reserve(size, a.timeout);
    if (!span) die("reserve #" + std::to_string(seq), span.error());
    if (a.hang_after >= 0 && seq == a.start + static_cast<uint64_t>(a.hang_after)) {
      test::pattern_fill(a.seed, seq, span->first(size / 2));
      announce("RESERVED");
      wait_to_be_killed();
    }
    test::pattern_fill(a.seed, seq, *span);
    if (auto ec = pub->commit(size)) die("commit", ec);
  }
  return 0;
}

int bcast_subscribe(const Args& a) {
  BroadcastOptions o;
  o.wait = a.ring.wait;
  auto sub = BroadcastSubscriber::open(where(a, a.name), OpenMode::open, o, StartAt::newest);
  if (!sub) die("open subscriber", sub.error());
  if (a.announce_attach) announce("ATTACHED");
  const size_t max_size = std::min<size_t>(a.max_size, 200);
  for (uint64_t seq = a.start; seq < a.start + a.count; ++seq) {
    auto view = sub->read(a.timeout);
    if (!view) die("read #" + std::to_string(seq), view.error());
    if (!test::pattern_check(a.seed, seq, *view, max_size)) {
      die("message #" + std::to_string(seq) + " is wrong (claims #" +
          std::to_string(test::pattern_seq(*view)) + ")");
    }
    if (a.hold_after >= 0 && seq == a.start + static_cast<uint64_t>(a.hold_after)) {
      announce("HOLDING");
      wait_to_be_killed();
    }
    if (auto ec = sub->release()) die("release #" + std::to_string(seq), ec);
  }
  if (a.expect_gone) {
    auto view = sub->read(a.timeout);
    if (view || view.error() != errc::peer_gone) die("expected peer_gone", view.error());
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
  if (a.mode == "mpmc-produce") return mpmc_produce(a);
  if (a.mode == "mpmc-consume") return mpmc_consume(a);
  if (a.mode == "bcast-publish") return bcast_publish(a);
  if (a.mode == "bcast-subscribe") return bcast_subscribe(a);
  die("unknown mode " + a.mode);
}

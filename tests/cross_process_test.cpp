// The SPSC ring between real processes (fork + exec of ringdrop-test-peer):
// volume, kill -9 at bad moments, restarts, and wake-ups across processes.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "message_pattern.hpp"
#include "ringdrop/ringdrop.hpp"
#include "segment/segment_layout.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::Peer;
using ringdrop::test::quick_options;
using ringdrop::test::ScopedName;

namespace {

std::string str(uint64_t v) { return std::to_string(v); }

// Reads `count` messages starting at `seq`, checking each; returns how many
// were good before the first problem.
uint64_t expect_stream(SpscConsumer& rx, uint64_t seq, uint64_t count, uint64_t seed = 1,
                       size_t max_size = 256) {
  for (uint64_t i = 0; i < count; ++i, ++seq) {
    auto view = rx.read(30s);
    if (!view) {
      ADD_FAILURE() << "message " << seq << ": " << view.error().message();
      return i;
    }
    if (!test::pattern_check(seed, seq, *view, max_size)) {
      ADD_FAILURE() << "message " << seq << " is wrong (claims " << test::pattern_seq(*view) << ")";
      return i;
    }
    rx.release();
  }
  return count;
}

}  // namespace

TEST(CrossProcess, TenMillionMessagesArriveCompleteInOrder) {
  ScopedName n;
  auto ring = Segment::open(n.location(), OpenMode::create, {RingKind::spsc, 1 << 20});
  ASSERT_TRUE(ring);
  const uint64_t count = test::scaled(10'000'000);
  Peer consumer({"consume", n.name(), "--count", str(count), "--seed", "42", "--expect-gone",
                 "--liveness-ms", "5"});
  Peer producer({"produce", n.name(), "--count", str(count), "--seed", "42"});
  EXPECT_EQ(producer.wait(), 0);
  EXPECT_EQ(consumer.wait(), 0) << "the consumer checks every byte of every message";
}

TEST(CrossProcess, KilledBetweenReserveAndCommitLosesNothingCommitted) {
  ScopedName n;
  // Room for the 1000 messages the producer commits before it hangs.
  auto rx = SpscConsumer::open(n.location(), OpenMode::create, quick_options(1 << 20));
  ASSERT_TRUE(rx);
  {
    Peer producer({"produce", n.name(), "--count", "5000", "--hang-after", "1000"});
    ASSERT_EQ(producer.read_line(), "RESERVED");
    producer.kill9();
  }
  EXPECT_EQ(expect_stream(*rx, 0, 1000), 1000u);
  EXPECT_EQ(rx->read(30s).error(), errc::peer_gone)
      << "the half-written record never appears; the dead producer is reported";

  // A restarted producer continues the stream where the committed part ended.
  // (Until it has attached, the consumer rightly still reports peer_gone.)
  Peer restarted({"produce", n.name(), "--start", "1000", "--count", "3000", "--announce"});
  ASSERT_EQ(restarted.read_line(), "ATTACHED");
  EXPECT_EQ(expect_stream(*rx, 1000, 3000), 3000u);
  EXPECT_EQ(restarted.wait(), 0);
  EXPECT_EQ(rx->read(30s).error(), errc::peer_gone);
}

TEST(CrossProcess, KilledAtARandomMomentLeavesAGaplessPrefix) {
  ScopedName n;
  auto rx = SpscConsumer::open(n.location(), OpenMode::create, quick_options(1 << 16));
  ASSERT_TRUE(rx);
  Peer producer({"produce", n.name(), "--count", "1000000000"});
  // The kill comes from another thread while this one keeps reading, so it
  // lands wherever the producer happens to be: mid-record, mid-publish,
  // waiting for room.
  std::atomic<uint64_t> received{0};
  std::jthread killer([&] {
    while (received.load() < 50000) std::this_thread::yield();
    producer.kill9();
  });
  uint64_t seq = 0;
  for (;; ++seq) {
    received.store(seq);
    auto view = rx->read(30s);
    if (!view) {
      EXPECT_EQ(view.error(), errc::peer_gone);
      break;
    }
    ASSERT_TRUE(test::pattern_check(1, seq, *view, 256)) << "message " << seq;
    rx->release();
  }
  killer.join();
  EXPECT_GE(seq, 50000u);
  // The producer counts a message after publishing it, so the counter may
  // miss the one whose publish the kill interrupted, never more.
  const uint64_t counted = rx->stats().messages_published;
  EXPECT_TRUE(counted == seq || counted + 1 == seq) << counted << " counted, " << seq << " received";
}

TEST(CrossProcess, ConsumerKilledWhileHoldingARecordRedeliversIt) {
  ScopedName n;
  auto tx = SpscProducer::open(n.location(), OpenMode::create, quick_options(65536));
  ASSERT_TRUE(tx);
  for (uint64_t seq = 0; seq < 100; ++seq) {
    std::vector<std::byte> m(test::pattern_size(1, seq, 256));
    test::pattern_fill(1, seq, m);
    ASSERT_FALSE(tx->send(m, 1s));
  }
  {
    Peer consumer({"consume", n.name(), "--count", "100", "--hold-after", "40"});
    ASSERT_EQ(consumer.read_line(), "HOLDING");
    consumer.kill9();
  }
  // Records 0..39 were released; 40 was held when the consumer died.
  Peer next({"consume", n.name(), "--start", "40", "--count", "60"});
  EXPECT_EQ(next.wait(), 0);
}

TEST(CrossProcess, ProducerBlockedOnAFullRingSeesItsConsumerDie) {
  ScopedName n;
  auto tx = SpscProducer::open(n.location(), OpenMode::create, quick_options(4096));
  ASSERT_TRUE(tx);
  std::vector<std::byte> m(test::pattern_size(1, 0, 256));
  test::pattern_fill(1, 0, m);
  ASSERT_FALSE(tx->send(m, 1s));
  Peer consumer({"consume", n.name(), "--count", "2", "--hold-after", "0"});
  ASSERT_EQ(consumer.read_line(), "HOLDING");
  while (!tx->try_send(m)) {
  }
  consumer.kill9();
  EXPECT_EQ(tx->send(m, 30s), errc::peer_gone);
}

TEST(CrossProcess, TimeoutFiresWhileTheProducerIsAliveButSilent) {
  ScopedName n;
  auto rx = SpscConsumer::open(n.location(), OpenMode::create, quick_options());
  ASSERT_TRUE(rx);
  Peer producer({"produce", n.name(), "--count", "1", "--hang-after", "0"});
  ASSERT_EQ(producer.read_line(), "RESERVED");
  EXPECT_EQ(rx->read(30ms).error(), errc::timed_out) << "alive, so not peer_gone";
}

TEST(CrossProcess, SleepingPeersLoseNoWakeUp) {
  ScopedName ping, pong;
  RingOptions o;
  o.wait.spin_for = 0ns;             // always sleep on the futex
  o.wait.liveness_interval = 1h;     // no periodic re-check to hide a lost wake-up
  auto ping_tx = SpscProducer::open(ping.location(), OpenMode::create, o);
  auto pong_rx = SpscConsumer::open(pong.location(), OpenMode::create, o);
  ASSERT_TRUE(ping_tx && pong_rx);
  const uint64_t rounds = test::scaled(20000);
  Peer echo({"echo", ping.name(), pong.name(), "--count", str(rounds), "--spin-for-us", "0",
             "--liveness-ms", "3600000", "--timeout-ms", "30000"});
  for (uint64_t i = 0; i < rounds; ++i) {
    ASSERT_FALSE(ping_tx->send(std::as_bytes(std::span(&i, 1)), 30s)) << i;
    auto back = pong_rx->receive(30s);
    ASSERT_TRUE(back) << "round " << i << ": " << back.error().message();
    ASSERT_EQ(test::pattern_seq(*back), i);
  }
  EXPECT_EQ(echo.wait(), 0);
  EXPECT_GT(pong_rx->stats().consumer_sleeps, 0u) << "the test did exercise sleeping";
}

TEST(CrossProcess, FileBackedRingOutlivesEveryProcess) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("ringdrop-xp-" + std::to_string(::getpid()) + ".ring");
  {
    auto seg = Segment::open(Location::file(path), OpenMode::create, {RingKind::spsc, 65536});
    ASSERT_TRUE(seg);
  }
  Peer producer({"produce", path.string(), "--file", "--count", "200"});
  ASSERT_EQ(producer.wait(), 0);
  // No process has the ring open now; a new one reads all of it.
  Peer consumer({"consume", path.string(), "--file", "--count", "200", "--expect-gone"});
  EXPECT_EQ(consumer.wait(), 0);
  std::filesystem::remove(path);
}

// What another process is told when the segment is not what it expects.
TEST(CrossProcess, AnotherProcessIsToldWhatIsWrongWithTheSegment) {
  ScopedName version, kind, damaged, role;
  {
    auto seg = Segment::open(version.location(), OpenMode::create, {RingKind::spsc, 0});
    ASSERT_TRUE(seg);
    reinterpret_cast<detail::SegmentHeader*>(seg->base())->layout_version = 2;
  }
  ASSERT_TRUE(Segment::open(kind.location(), OpenMode::create, {RingKind::broadcast, 0}));
  {
    auto seg = Segment::open(damaged.location(), OpenMode::create, {RingKind::spsc, 0});
    ASSERT_TRUE(seg);
    reinterpret_cast<detail::SegmentHeader*>(seg->base())->created_unix_ns ^= 1;
  }
  auto holder = SpscConsumer::open(role.location(), OpenMode::create);
  ASSERT_TRUE(holder);
  const std::pair<const ScopedName*, const char*> cases[] = {
      {&version, "incompatible_layout"}, {&kind, "wrong_kind"},
      {&damaged, "corrupted"},           {&role, "role_taken"}};
  for (const auto& [name, error] : cases) {
    Peer peer({"open-consumer", name->name(), "--expect", error});
    const std::string detail = peer.read_line();
    EXPECT_EQ(peer.wait(), 0) << error;
    EXPECT_NE(detail.find(name->name()), std::string::npos) << error << ": " << detail;
  }
}

TEST(CrossProcess, AnUnreapedZombieIsAlreadyGone) {
  ScopedName n;
  auto rx = SpscConsumer::open(n.location(), OpenMode::create, quick_options(1 << 20));
  ASSERT_TRUE(rx);
  Peer producer({"produce", n.name(), "--count", "11", "--hang-after", "10"});
  ASSERT_EQ(producer.read_line(), "RESERVED");
  producer.kill9_leave_zombie();  // dead, not reaped: its pid still exists
  EXPECT_EQ(expect_stream(*rx, 0, 10), 10u);
  EXPECT_EQ(rx->read(30s).error(), errc::peer_gone);
}

TEST(CrossProcess, AForkedChildDoesNotActForItsParentsHandle) {
  ScopedName n;
  auto tx = SpscProducer::open(n.location(), OpenMode::create, quick_options());
  auto rx = SpscConsumer::open(n.location(), OpenMode::open, quick_options());
  ASSERT_TRUE(tx && rx);
  ASSERT_TRUE(tx->try_reserve(8));
  ASSERT_FALSE(tx->stage(8));  // staged, not published
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    { SpscProducer inherited = std::move(*tx); }  // its destructor runs here
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(rx->try_read().error(), errc::would_block) << "the child published the parent's batch";
  EXPECT_EQ(SpscProducer::open(n.location(), OpenMode::open).error(), errc::role_taken)
      << "the child gave up the parent's role";
  tx->publish();
  EXPECT_TRUE(rx->try_read());
}

// The broadcast ring between real processes: every subscriber process sees
// the whole stream; a killed subscriber never blocks the publisher for long
// and its slot is reused; a publisher killed mid-message; lapping reported
// exactly.
#include <gtest/gtest.h>

#include "message_pattern.hpp"
#include "ringdrop/ringdrop.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::Peer;
using ringdrop::test::ScopedName;

namespace {

std::string str(uint64_t v) { return std::to_string(v); }

BroadcastOptions ring(SlowSubscriber policy, uint64_t capacity = 65536, uint32_t cell = 256) {
  BroadcastOptions o;
  o.capacity = capacity;
  o.cell_size = cell;
  o.policy = policy;
  o.wait.liveness_interval = std::chrono::milliseconds(2);
  return o;
}

std::error_code send_seq(BroadcastPublisher& pub, uint64_t seq, std::chrono::nanoseconds timeout) {
  std::vector<std::byte> m(test::pattern_size(1, seq, 200));
  test::pattern_fill(1, seq, m);
  return pub.send(m, timeout);
}

}  // namespace

TEST(BroadcastProcesses, EverySubscriberProcessSeesTheWholeStream) {
  ScopedName n;
  ASSERT_TRUE(Segment::open(n.location(), OpenMode::create,
                            {RingKind::broadcast, 1 << 20, 0600, std::chrono::milliseconds(500), {256, 0, 0, 0}}));
  const uint64_t count = test::scaled(1'000'000);
  std::vector<std::unique_ptr<Peer>> subs;
  for (int i = 0; i < 3; ++i) {
    subs.push_back(std::make_unique<Peer>(std::vector<std::string>{
        "bcast-subscribe", n.name(), "--count", str(count), "--announce", "--expect-gone", "--liveness-ms", "5"}));
    ASSERT_EQ(subs.back()->read_line(), "ATTACHED");
  }
  Peer publisher({"bcast-publish", n.name(), "--count", str(count)});
  EXPECT_EQ(publisher.wait(), 0);
  for (auto& sub : subs) EXPECT_EQ(sub->wait(), 0) << "each checks every message, in order";
}

TEST(BroadcastProcesses, AKilledSubscriberStopsBlockingThePublisherAndItsSlotIsReused) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, ring(SlowSubscriber::block));
  ASSERT_TRUE(pub);
  Peer sub({"bcast-subscribe", n.name(), "--count", "10", "--hold-after", "0", "--announce"});
  ASSERT_EQ(sub.read_line(), "ATTACHED");
  ASSERT_FALSE(send_seq(*pub, 0, 1s));  // the one it reads, and holds
  ASSERT_EQ(sub.read_line(), "HOLDING");
  std::vector<std::byte> m(8);
  while (!pub->try_send(m)) {
  }
  EXPECT_EQ(pub->try_send(m), errc::would_block) << "the holding subscriber is a ring behind";
  sub.kill9();
  EXPECT_FALSE(pub->send(m, 30s)) << "the dead subscriber was dropped";
  const auto stats = pub->stats();
  EXPECT_EQ(stats.peers.size(), 1u) << "only the publisher is left";
  auto next = BroadcastSubscriber::open(n.location(), OpenMode::open);
  ASSERT_TRUE(next) << "a slot is free again";
}

TEST(BroadcastProcesses, APublisherKilledMidMessageIsReplacedAndNothingIsMisread) {
  ScopedName n;
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::create, ring(SlowSubscriber::block));
  ASSERT_TRUE(sub);
  {
    Peer publisher({"bcast-publish", n.name(), "--count", "200", "--hang-after", "100"});
    ASSERT_EQ(publisher.read_line(), "RESERVED");
    publisher.kill9();
  }
  for (uint64_t seq = 0; seq < 100; ++seq) {
    auto got = sub->receive(30s);
    ASSERT_TRUE(got) << seq << ": " << got.error().message();
    ASSERT_TRUE(test::pattern_check(1, seq, *got, 200)) << seq;
  }
  EXPECT_EQ(sub->read(30s).error(), errc::peer_gone) << "the half-written message is never read";
  Peer restarted({"bcast-publish", n.name(), "--start", "100", "--count", "50"});
  EXPECT_EQ(restarted.wait(), 0);
  for (uint64_t seq = 100; seq < 150; ++seq) {
    auto got = sub->receive(30s);
    ASSERT_TRUE(got) << seq << ": " << got.error().message();
    ASSERT_TRUE(test::pattern_check(1, seq, *got, 200)) << seq;
  }
  EXPECT_EQ(sub->stats().abandoned, 1u);
}

TEST(BroadcastProcesses, ALappedSubscriberIsToldExactlyWhatItMissed) {
  ScopedName n;
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::create, ring(SlowSubscriber::overwrite));
  ASSERT_TRUE(sub);
  const uint64_t cells = 65536 / 256, total = 10 * cells + 7;
  Peer publisher({"bcast-publish", n.name(), "--count", str(total)});
  ASSERT_EQ(publisher.wait(), 0) << "the publisher never waits for us";
  auto first = sub->receive(1s);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error(), errc::message_lost);
  const uint64_t resume = total - cells + 1;
  EXPECT_EQ(sub->last_missed(), resume);
  for (uint64_t seq = resume; seq < total; ++seq) {
    auto got = sub->receive(1s);
    ASSERT_TRUE(got) << seq << ": " << got.error().message();
    ASSERT_TRUE(test::pattern_check(1, seq, *got, 200)) << seq;
  }
  EXPECT_EQ(sub->read(30s).error(), errc::peer_gone);
  EXPECT_EQ(sub->stats().missed, resume);
}

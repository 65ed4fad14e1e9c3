// The broadcast ring in one process: every subscriber sees every message in
// order; late joins; the block and overwrite policies; lapping reported
// exactly; torn views caught; limits and statistics.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <thread>

#include "message_pattern.hpp"
#include "ringdrop/ringdrop.hpp"
#include "ring/broadcast_layout.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::ScopedName;

namespace {

BroadcastOptions options(SlowSubscriber policy, uint64_t capacity = 4096, uint32_t cell = 64) {
  BroadcastOptions o;
  o.capacity = capacity;
  o.cell_size = cell;
  o.policy = policy;
  o.wait.liveness_interval = 2ms;
  return o;
}

std::error_code send_seq(BroadcastPublisher& pub, uint64_t seq, std::chrono::nanoseconds timeout = 1s) {
  std::vector<std::byte> m(test::pattern_size(5, seq, 48));
  test::pattern_fill(5, seq, m);
  return pub.send(m, timeout);
}

::testing::AssertionResult is_seq(const Result<std::vector<std::byte>>& got, uint64_t seq) {
  if (!got) return ::testing::AssertionFailure() << "error: " << got.error().message();
  if (!test::pattern_check(5, seq, *got, 48)) {
    return ::testing::AssertionFailure() << "expected #" << seq << ", got #" << test::pattern_seq(*got);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

TEST(Broadcast, EverySubscriberSeesEveryMessageInOrder) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::block));
  ASSERT_TRUE(pub);
  std::vector<BroadcastSubscriber> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(BroadcastSubscriber::open(n.location(), OpenMode::open).value());
  for (uint64_t seq = 0; seq < 20; ++seq) ASSERT_FALSE(send_seq(*pub, seq));
  for (auto& sub : subs) {
    for (uint64_t seq = 0; seq < 20; ++seq) ASSERT_TRUE(is_seq(sub.receive(1s), seq));
    EXPECT_EQ(sub.try_read().error(), errc::would_block);
  }
}

TEST(Broadcast, ReadsAreInPlaceAndWordAligned) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::block));
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::open);
  ASSERT_TRUE(pub && sub);
  auto span = pub->reserve(40, 1s);
  ASSERT_TRUE(span);
  std::memset(span->data(), 7, 40);
  ASSERT_FALSE(pub->commit(40));
  auto view = sub->read(1s);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->data() - sub->segment().data(), span->data() - pub->segment().data());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view->data()) % 8, 0u);
  EXPECT_EQ(view->size(), 40u);
  EXPECT_FALSE(sub->release());
}

TEST(Broadcast, LateJoinersStartAtTheNewestOrTheOldestKept) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::overwrite));
  ASSERT_TRUE(pub);
  const uint64_t cells = 4096 / 64;
  for (uint64_t seq = 0; seq < cells + 10; ++seq) ASSERT_FALSE(send_seq(*pub, seq));
  auto newest = BroadcastSubscriber::open(n.location(), OpenMode::open, {}, StartAt::newest);
  auto oldest = BroadcastSubscriber::open(n.location(), OpenMode::open, {}, StartAt::oldest);
  ASSERT_TRUE(newest && oldest);
  EXPECT_EQ(newest->try_read().error(), errc::would_block) << "nothing new yet";
  EXPECT_EQ(oldest->position(), 10u) << "the last `cells` messages are kept";
  for (uint64_t seq = 10; seq < cells + 10; ++seq) ASSERT_TRUE(is_seq(oldest->receive(1s), seq));
  ASSERT_FALSE(send_seq(*pub, cells + 10));
  EXPECT_TRUE(is_seq(newest->receive(1s), cells + 10));
  EXPECT_TRUE(is_seq(oldest->receive(1s), cells + 10));
}

TEST(Broadcast, BlockPolicyWaitsForTheSlowestSubscriber) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::block));
  auto fast = BroadcastSubscriber::open(n.location(), OpenMode::open);
  auto slow = BroadcastSubscriber::open(n.location(), OpenMode::open);
  ASSERT_TRUE(pub && fast && slow);
  const uint64_t cells = 4096 / 64;
  for (uint64_t seq = 0; seq < cells; ++seq) {
    ASSERT_FALSE(send_seq(*pub, seq));
    ASSERT_TRUE(is_seq(fast->receive(1s), seq));
  }
  EXPECT_EQ(send_seq(*pub, cells, 0ns), errc::timed_out) << "the slow subscriber is a ring behind";
  EXPECT_NE(last_error_detail().find("no room before the timeout"), std::string::npos) << last_error_detail();
  ASSERT_TRUE(is_seq(slow->receive(1s), 0));
  EXPECT_FALSE(send_seq(*pub, cells)) << "room once the slowest moved";
  EXPECT_GT(pub->stats().producer_waits, 0u);
  { BroadcastSubscriber gone = std::move(*slow); }
  EXPECT_FALSE(send_seq(*pub, cells + 1)) << "a subscriber that left no longer holds it back";
}

TEST(Broadcast, LappedSubscriberIsToldExactlyHowManyItMissed) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::overwrite));
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::open);
  ASSERT_TRUE(pub && sub);
  const uint64_t cells = 4096 / 64, total = 3 * cells + 5;
  for (uint64_t seq = 0; seq < total; ++seq) ASSERT_FALSE(send_seq(*pub, seq, 0ns)) << "never waits";
  auto first = sub->receive(1s);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error(), errc::message_lost);
  const uint64_t resume = total - cells + 1;
  EXPECT_EQ(sub->last_missed(), resume) << "messages 0.." << resume - 1 << " are gone";
  for (uint64_t seq = resume; seq < total; ++seq) ASSERT_TRUE(is_seq(sub->receive(1s), seq));
  const auto stats = sub->stats();
  EXPECT_EQ(stats.lapped, 1u);
  EXPECT_EQ(stats.missed, resume);
  EXPECT_EQ(stats.messages_committed, total);
}

TEST(Broadcast, ViewOverwrittenWhileHeldIsReportedAtRelease) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::overwrite));
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::open);
  ASSERT_TRUE(pub && sub);
  ASSERT_FALSE(send_seq(*pub, 0));
  auto view = sub->read(1s);
  ASSERT_TRUE(view);
  for (uint64_t seq = 1; seq <= 4096 / 64; ++seq) ASSERT_FALSE(send_seq(*pub, seq, 0ns));
  EXPECT_EQ(sub->release(), errc::message_lost) << "message 0's cell now holds message 64";
  EXPECT_EQ(sub->last_missed(), 1u);
}

TEST(Broadcast, StagedMessagesAppearTogetherAtPublish) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::block));
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::open);
  ASSERT_TRUE(pub && sub);
  for (uint64_t seq = 0; seq < 3; ++seq) {
    const size_t size = test::pattern_size(5, seq, 48);
    auto span = pub->reserve(size, 1s);
    ASSERT_TRUE(span);
    test::pattern_fill(5, seq, *span);
    ASSERT_FALSE(pub->stage(size));
  }
  EXPECT_EQ(sub->try_read().error(), errc::would_block) << "nothing before publish()";
  pub->publish();
  for (uint64_t seq = 0; seq < 3; ++seq) EXPECT_TRUE(is_seq(sub->receive(1s), seq));
  EXPECT_EQ(pub->commit(1), errc::invalid_argument) << "nothing reserved";
}

TEST(Broadcast, APublisherThatLeavesPublishesWhatItStaged) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::block));
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::open);
  ASSERT_TRUE(pub && sub);
  const size_t size = test::pattern_size(5, 0, 48);
  auto span = pub->reserve(size, 1s);
  ASSERT_TRUE(span);
  test::pattern_fill(5, 0, *span);
  ASSERT_FALSE(pub->stage(size));
  { BroadcastPublisher gone = std::move(*pub); }
  EXPECT_TRUE(is_seq(sub->receive(1s), 0));
}

TEST(Broadcast, LimitsAndMismatches) {
  ScopedName n, spsc;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::block));
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->max_message_size(), 48u);
  EXPECT_EQ(pub->reserve(49, 10s).error(), errc::message_too_large);
  EXPECT_EQ(BroadcastPublisher::open(n.location(), OpenMode::open).error(), errc::role_taken);
  BroadcastOptions other;
  other.cell_size = 128;
  EXPECT_EQ(BroadcastSubscriber::open(n.location(), OpenMode::open, other).error(),
            errc::capacity_mismatch);
  BroadcastOptions bad;
  bad.cell_size = 100;
  EXPECT_EQ(BroadcastPublisher::open(spsc.location(), OpenMode::create, bad).error(),
            errc::invalid_argument);
  ASSERT_TRUE(SpscProducer::open(spsc.location(), OpenMode::create));
  EXPECT_EQ(BroadcastSubscriber::open(spsc.location(), OpenMode::open).error(), errc::wrong_kind);
}

TEST(Broadcast, SubscriberSeesPeerGoneAfterThePublisherLeaves) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::block));
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::open, options(SlowSubscriber::block));
  ASSERT_TRUE(pub && sub);
  ASSERT_FALSE(send_seq(*pub, 0));
  { BroadcastPublisher gone = std::move(*pub); }
  EXPECT_TRUE(is_seq(sub->receive(1s), 0));
  EXPECT_EQ(sub->read(30s).error(), errc::peer_gone);
  auto again = BroadcastPublisher::open(n.location(), OpenMode::open);
  ASSERT_TRUE(again);
  ASSERT_FALSE(send_seq(*again, 1));
  EXPECT_TRUE(is_seq(sub->receive(1s), 1)) << "a new publisher carries on the numbering";
}

TEST(Broadcast, StatsNameThePeers) {
  ScopedName n;
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, options(SlowSubscriber::block));
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::open);
  ASSERT_TRUE(pub && sub);
  ASSERT_FALSE(send_seq(*pub, 0));
  ASSERT_TRUE(sub->receive(1s));
  auto s = inspect_broadcast(n.location());
  ASSERT_TRUE(s);
  ASSERT_EQ(s->peers.size(), 2u);
  EXPECT_TRUE(s->peers[0].producer);
  EXPECT_EQ(s->peers[1].pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(s->messages_committed, 1u);
  EXPECT_EQ(s->messages_consumed, 1u);
  EXPECT_EQ(s->cells, 64u);
}

// Threads: this is what ThreadSanitizer checks (block policy: no payload is
// ever read and written at once).
TEST(Broadcast, ThreadedSubscribersAllSeeTheWholeStream) {
  ScopedName n;
  auto o = options(SlowSubscriber::block, 16384, 128);
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, o);
  ASSERT_TRUE(pub);
  const uint64_t total = test::scaled(200000);
  std::vector<BroadcastSubscriber> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(BroadcastSubscriber::open(n.location(), OpenMode::open, o).value());
  std::vector<uint64_t> good(subs.size(), 0);
  {
    std::vector<std::jthread> readers;
    for (size_t i = 0; i < subs.size(); ++i) {
      readers.emplace_back([&, i] {
        for (uint64_t seq = 0; seq < total; ++seq) {
          auto view = subs[i].read(30s);
          if (!view) {
            ADD_FAILURE() << "subscriber " << i << " at #" << seq << ": " << view.error().message();
            return;
          }
          if (!test::pattern_check(9, seq, *view, 112)) {
            ADD_FAILURE() << "subscriber " << i << " expected #" << seq << ", got #" << test::pattern_seq(*view);
            return;
          }
          if (seq % 4 == 3 && subs[i].release()) return;  // batch release
          ++good[i];
        }
        (void)subs[i].release();
      });
    }
    for (uint64_t seq = 0; seq < total; ++seq) {
      const size_t size = test::pattern_size(9, seq, 112);
      auto span = pub->reserve(size, 30s);
      ASSERT_TRUE(span) << span.error().message();
      test::pattern_fill(9, seq, *span);
      ASSERT_FALSE(pub->commit(size));
    }
  }
  for (uint64_t g : good) EXPECT_EQ(g, total);
}

// Issue 14, finding 7: a subscriber joining at the newest message, while the
// publisher runs free (no other subscriber holds it back), must never be told
// it lost messages on its first reads: what was published before it joined
// was never its to miss. With the block policy, from then on it misses none.
TEST(Broadcast, ALateJoinerAtTheNewestIsNeverToldItLostMessages) {
  ScopedName n;
  auto o = options(SlowSubscriber::block, 4096, 64);  // 64 cells
  auto pub = BroadcastPublisher::open(n.location(), OpenMode::create, o);
  ASSERT_TRUE(pub) << pub.error().message() << ": " << last_error_detail();
  std::atomic<bool> stop{false};
  std::jthread publisher([&] {
    for (uint64_t seq = 0; !stop.load(std::memory_order_relaxed); ++seq) {
      while (!stop.load(std::memory_order_relaxed) && send_seq(*pub, seq, 10ms)) {
      }
    }
  });
  struct StopFirst {  // destroyed before the publisher is joined, however the test ends
    std::atomic<bool>& stop;
    ~StopFirst() { stop = true; }
  } stop_first{stop};
  const int joins = static_cast<int>(test::scaled(300));
  for (int i = 0; i < joins; ++i) {
    auto sub = BroadcastSubscriber::open(n.location(), OpenMode::open, o);
    ASSERT_TRUE(sub) << last_error_detail();
    std::optional<uint64_t> prev;
    for (int k = 0; k < 100; ++k) {  // more than a ring's worth
      auto got = sub->receive(30s);
      ASSERT_TRUE(got) << "join " << i << ", read " << k << ": " << got.error().message()
                       << " (missed " << sub->last_missed() << ")";
      const uint64_t seq = test::pattern_seq(*got);
      if (prev) {
        ASSERT_EQ(seq, *prev + 1) << "join " << i;
      }
      prev = seq;
    }
  }
}

// A publisher killed after its messages' complete stores but before its
// tail store: subscribers may already have read those messages. Its
// successor must publish after them, not over them. (White-box: the kill's
// window is two stores wide, so the test rewinds tail as the kill leaves it.)
TEST(Broadcast, ASuccessorPublishesAfterMessagesCompletedButNotCountedInTail) {
  ScopedName n;
  const auto o = options(SlowSubscriber::block, 4096, 64);
  auto sub = BroadcastSubscriber::open(n.location(), OpenMode::create, o);
  ASSERT_TRUE(sub) << last_error_detail();
  {
    auto pub = BroadcastPublisher::open(n.location(), OpenMode::open, o);
    ASSERT_TRUE(pub) << last_error_detail();
    for (uint64_t seq = 0; seq < 3; ++seq) ASSERT_FALSE(send_seq(*pub, seq));
    auto* ctl = reinterpret_cast<detail::BroadcastControl*>(pub->segment().control());
    ASSERT_EQ(ctl->tail.load(), 3u);
    ctl->tail.store(1);  // as a publisher killed before storing tail past messages 1 and 2
  }
  for (uint64_t seq = 0; seq < 3; ++seq) ASSERT_TRUE(is_seq(sub->receive(1s), seq));
  auto successor = BroadcastPublisher::open(n.location(), OpenMode::open, o);
  ASSERT_TRUE(successor) << last_error_detail();
  ASSERT_FALSE(send_seq(*successor, 3));
  EXPECT_TRUE(is_seq(sub->receive(1s), 3)) << "the successor's first message follows the three read";
  EXPECT_EQ(sub->last_missed(), 0u);
  EXPECT_EQ(successor->stats().abandoned, 0u) << "published messages are not abandoned ones";
}

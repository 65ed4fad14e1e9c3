// The SPSC ring under real concurrency, in one process: a producer thread
// and a consumer thread (this is what ThreadSanitizer checks the memory
// orders with), in every wait mode, and sleep/wake ping-pong with no lost
// wake-up.
#include <gtest/gtest.h>

#include <thread>

#include "message_pattern.hpp"
#include "ringdrop/ringdrop.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::ScopedName;

namespace {

struct ModeCase {
  const char* name;
  WaitMode mode;
  std::chrono::nanoseconds spin_for;
};

void PrintTo(const ModeCase& c, std::ostream* os) { *os << c.name; }

class SpscThreads : public ::testing::TestWithParam<ModeCase> {};

RingOptions options_for(const ModeCase& c, uint64_t capacity = 0) {
  RingOptions o;
  o.capacity = capacity;
  o.wait.mode = c.mode;
  o.wait.spin_for = c.spin_for;
  return o;
}

}  // namespace

TEST_P(SpscThreads, EveryMessageArrivesInOrderAndIntact) {
  ScopedName n;
  const RingOptions o = options_for(GetParam(), 16384);
  auto tx = SpscProducer::open(n.location(), OpenMode::create, o);
  auto rx = SpscConsumer::open(n.location(), OpenMode::open, o);
  ASSERT_TRUE(tx && rx);
  const uint64_t total = test::scaled(300000);
  std::jthread producer([&] {
    for (uint64_t seq = 0; seq < total; ++seq) {
      const size_t size = test::pattern_size(11, seq, 1000);
      auto span = tx->reserve(size, 30s);
      ASSERT_TRUE(span) << span.error().message();
      test::pattern_fill(11, seq, *span);
      // Publish in batches of 4: stage, stage, stage, commit.
      ASSERT_FALSE(seq % 4 == 3 ? tx->commit(size) : tx->stage(size));
    }
    tx->publish();
  });
  uint64_t bad = 0;
  for (uint64_t seq = 0; seq < total; ++seq) {
    auto view = rx->read(30s);
    ASSERT_TRUE(view) << "message " << seq << ": " << view.error().message();
    bad += !test::pattern_check(11, seq, *view, 1000);
    if (seq % 3 == 2) rx->release();  // batch release too
  }
  rx->release();
  producer.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(rx->stats().messages_released, total);
}

// Waits go to the futex, and a lost wake-up cannot be papered over by the
// periodic liveness check (set to an hour): a single lost wake-up fails the
// test with timed_out. (Only the modes that sleep.)
class SpscSleepers : public SpscThreads {};

TEST_P(SpscSleepers, PingPongLosesNoWakeUp) {
  ScopedName ping, pong;
  RingOptions o = options_for(GetParam());
  o.wait.liveness_interval = 1h;
  auto ping_tx = SpscProducer::open(ping.location(), OpenMode::create, o);
  auto ping_rx = SpscConsumer::open(ping.location(), OpenMode::open, o);
  auto pong_tx = SpscProducer::open(pong.location(), OpenMode::create, o);
  auto pong_rx = SpscConsumer::open(pong.location(), OpenMode::open, o);
  ASSERT_TRUE(ping_tx && ping_rx && pong_tx && pong_rx);
  const uint64_t rounds = test::scaled(20000);
  std::jthread echo([&] {
    for (uint64_t i = 0; i < rounds; ++i) {
      auto view = ping_rx->read(30s);
      ASSERT_TRUE(view) << "echo " << i << ": " << view.error().message();
      ASSERT_FALSE(pong_tx->send(*view, 30s));
      ping_rx->release();
    }
  });
  for (uint64_t i = 0; i < rounds; ++i) {
    ASSERT_FALSE(ping_tx->send(std::as_bytes(std::span(&i, 1)), 30s));
    auto back = pong_rx->receive(30s);
    ASSERT_TRUE(back) << "round " << i << ": " << back.error().message();
    ASSERT_EQ(test::pattern_seq(*back), i);
  }
  echo.join();
  if (GetParam().spin_for == std::chrono::nanoseconds::zero()) {
    EXPECT_GT(pong_rx->stats().consumer_sleeps, 0u) << "the test did exercise sleeping";
  }
}

INSTANTIATE_TEST_SUITE_P(
    WaitModes, SpscThreads,
    ::testing::Values(ModeCase{"spin", WaitMode::spin, 0ns},
                      ModeCase{"spin_yield", WaitMode::spin_yield, 0ns},
                      ModeCase{"spin_block", WaitMode::spin_block, 50us},
                      ModeCase{"block_only", WaitMode::spin_block, 0ns}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    SleepingModes, SpscSleepers,
    ::testing::Values(ModeCase{"spin_block", WaitMode::spin_block, 50us},
                      ModeCase{"block_only", WaitMode::spin_block, 0ns}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

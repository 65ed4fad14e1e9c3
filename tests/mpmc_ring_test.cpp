// The MPMC ring's logic, driven from one thread: cells, zero-copy spans,
// ordering, limits, batching, departures and their policies, options,
// statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "message_pattern.hpp"
#include "ring/mpmc_layout.hpp"
#include "ringdrop/ringdrop.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::quick_mpmc;
using ringdrop::test::ScopedName;

namespace {

// 4096 bytes of 256-byte cells: 16 cells, messages up to 240 bytes.
constexpr uint64_t kCapacity = 4096;
constexpr uint32_t kCell = 256;
constexpr uint64_t kCells = kCapacity / kCell;

struct Ring {
  MpmcProducer tx;
  MpmcConsumer rx;
};

Ring make_ring(const ScopedName& n, OnConsumerDeath policy = OnConsumerDeath::redeliver,
               uint64_t capacity = kCapacity, uint32_t cell = kCell) {
  auto tx = MpmcProducer::open(n.location(), OpenMode::create, quick_mpmc(capacity, cell, policy));
  EXPECT_TRUE(tx) << tx.error().message() << " " << last_error_detail();
  auto rx = MpmcConsumer::open(n.location(), OpenMode::open, quick_mpmc());
  EXPECT_TRUE(rx) << rx.error().message() << " " << last_error_detail();
  return Ring{std::move(tx).value(), std::move(rx).value()};
}

MpmcProducer open_producer(const ScopedName& n) {
  auto tx = MpmcProducer::open(n.location(), OpenMode::open, quick_mpmc());
  EXPECT_TRUE(tx) << tx.error().message();
  return std::move(tx).value();
}

MpmcConsumer open_consumer(const ScopedName& n) {
  auto rx = MpmcConsumer::open(n.location(), OpenMode::open, quick_mpmc());
  EXPECT_TRUE(rx) << rx.error().message();
  return std::move(rx).value();
}

std::string text(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// A received message as text, or its error in <>.
std::string got(const Result<std::vector<std::byte>>& r) {
  if (r) return text(std::span<const std::byte>(*r));
  std::string error = "<";
  error += r.error().message();  // (not "<" + ...: g++ 12 -O3 warns falsely, -Wrestrict)
  error += ">";
  return error;
}

std::vector<std::byte> bytes(size_t n, uint8_t fill = 0) { return std::vector<std::byte>(n, std::byte{fill}); }

}  // namespace

TEST(MpmcRing, SendThenReceiveCopies) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  ASSERT_FALSE(tx.send(bytes_of("hello"), 1s));
  ASSERT_FALSE(tx.send(bytes_of(""), 1s));
  EXPECT_EQ(got(rx.receive(1s)), "hello");
  auto empty = rx.receive(1s);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(rx.try_receive().error(), errc::would_block);
}

// release_oldest(n) frees the n messages read first and keeps the rest
// held: a consumer that leaves then hands on only those (redeliver).
TEST(MpmcRing, ReleaseOldestKeepsTheLaterOnesHeld) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  for (const char* m : {"a", "b", "c", "d"}) ASSERT_FALSE(tx.send(bytes_of(m), 1s));
  std::vector<std::string> read;
  for (int i = 0; i < 3; ++i) {
    auto v = rx.try_read();
    ASSERT_TRUE(v) << v.error().message();
    read.push_back(text(*v));
  }
  EXPECT_EQ(read, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(rx.release_oldest(1));  // a
  EXPECT_FALSE(rx.release_oldest(0));  // nothing
  {
    MpmcConsumer gone = std::move(rx);  // leaves holding b and c
  }
  auto other = open_consumer(n);
  std::vector<std::string> again;
  for (int i = 0; i < 3; ++i) again.push_back(got(other.try_receive()));
  std::sort(again.begin(), again.end());  // redelivered ones come in any order beside d
  EXPECT_EQ(again, (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(other.try_receive().error(), errc::would_block);
  // More than are held: all of them.
  ASSERT_FALSE(tx.send(bytes_of("e"), 1s));
  ASSERT_TRUE(other.try_read());
  EXPECT_FALSE(other.release_oldest(5));
  EXPECT_EQ(other.try_read().error(), errc::would_block);
}

TEST(MpmcRing, PeekCopiesWhatWaitsAndTakesNothing) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  EXPECT_TRUE(peek_mpmc(n.location(), 10)->empty());
  for (int round = 0; round < 300; ++round) {  // many laps of the cells
    const std::string a = "message " + std::to_string(round);
    ASSERT_FALSE(tx.send(bytes_of(a), 1s));
    ASSERT_FALSE(tx.send(bytes_of("second"), 1s));
    auto seen = peek_mpmc(n.location(), 10);
    ASSERT_TRUE(seen) << last_error_detail();
    ASSERT_EQ(seen->size(), 2u);
    EXPECT_EQ(text((*seen)[0]), a);
    EXPECT_EQ(text((*seen)[1]), "second");
    EXPECT_EQ(peek_mpmc(n.location(), 1)->size(), 1u) << "at most max";
    // Held by a consumer (read, not released): no longer waiting.
    EXPECT_EQ(text(rx.read(1s).value()), a) << "the consumer still gets every one";
    ASSERT_EQ(peek_mpmc(n.location(), 10)->size(), 1u);
    EXPECT_EQ(text(peek_mpmc(n.location(), 10)->front()), "second");
    ASSERT_FALSE(rx.release());
    EXPECT_EQ(text(rx.receive(1s).value()), "second");
  }
}

TEST(MpmcRing, ReserveAndReadAreInPlaceInTheirCellAndWordAligned) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  const std::byte* lo = tx.segment().data();
  const std::byte* hi = lo + tx.segment().info().capacity;
  // More messages than cells, so every cell is used and reused.
  for (size_t i = 0; i < 2 * kCells + 3; ++i) {
    const size_t size = std::vector<size_t>{1, 7, 8, 13, 100, 240}[i % 6];
    auto span = tx.reserve(size, 1s);
    ASSERT_TRUE(span);
    ASSERT_EQ(span->size(), size);
    EXPECT_TRUE(span->data() >= lo && span->data() + size <= hi);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(span->data()) % 8, 0u);
    // The payload follows the 16-byte header of its own cell.
    EXPECT_EQ(static_cast<uint64_t>(span->data() - lo) % kCell, 16u);
    std::memset(span->data(), static_cast<int>('a' + i % 26), size);
    ASSERT_FALSE(tx.commit(size));
    auto view = rx.read(1s);
    ASSERT_TRUE(view);
    // Each handle maps the segment at its own address; the same offset means
    // the reader sees the writer's bytes, not a copy.
    EXPECT_EQ(view->data() - rx.segment().data(), span->data() - tx.segment().data());
    ASSERT_EQ(view->size(), size);
    EXPECT_EQ((*view)[size - 1], std::byte(static_cast<uint8_t>('a' + i % 26)));
    rx.release();
  }
}

TEST(MpmcRing, OneProducersMessagesArriveInOrderAcrossManyLaps) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  std::mt19937_64 rng(7);
  const uint64_t total = test::scaled(100000);
  const size_t max = tx.max_message_size();
  uint64_t sent = 0, received = 0;
  while (received < total) {
    // A random burst, then a random part of what is in flight, so the ring
    // is found full and empty at every cell.
    for (int burst = static_cast<int>(rng() % 20); burst >= 0 && sent < total; --burst) {
      const size_t size = test::pattern_size(3, sent, max);
      auto span = tx.try_reserve(size);
      if (!span) {
        ASSERT_EQ(span.error(), errc::would_block);
        break;
      }
      test::pattern_fill(3, sent, *span);
      ASSERT_FALSE(tx.commit(size));
      ++sent;
    }
    for (int drain = static_cast<int>(rng() % 20); drain >= 0 && received < sent; --drain) {
      auto view = rx.try_read();
      ASSERT_TRUE(view) << view.error().message();
      ASSERT_TRUE(test::pattern_check(3, received, *view, max))
          << "message " << received << " (claims " << test::pattern_seq(*view) << ")";
      rx.release();
      ++received;
    }
  }
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
  const SharedRingStats s = rx.stats();
  EXPECT_EQ(s.messages_committed, total);
  EXPECT_EQ(s.messages_consumed, total);
  EXPECT_EQ(s.fill, 0u);
}

TEST(MpmcRing, LargestMessageIsTheCellLessSixteenBytes) {
  for (uint32_t cell : {64u, 256u, 2048u}) {
    ScopedName n;
    auto [tx, rx] = make_ring(n, OnConsumerDeath::redeliver, kCapacity, cell);
    EXPECT_EQ(tx.max_message_size(), cell - 16u);
    EXPECT_EQ(rx.max_message_size(), cell - 16u);
    auto span = tx.reserve(cell - 16, 1s);
    ASSERT_TRUE(span) << cell;
    std::memset(span->data(), 0x5a, span->size());
    ASSERT_FALSE(tx.commit(span->size()));
    auto view = rx.read(1s);
    ASSERT_TRUE(view) << cell;
    ASSERT_EQ(view->size(), cell - 16u);
    EXPECT_EQ((*view)[cell - 17], std::byte{0x5a});
    rx.release();
  }
}

TEST(MpmcRing, TooLargeIsRefusedAtOnceNotWaitedFor) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  // Waiting would end in timed_out after 10 s; refusal is message_too_large.
  EXPECT_EQ(tx.reserve(kCell - 15, 10s).error(), errc::message_too_large);
  EXPECT_EQ(tx.try_reserve(kCell - 15).error(), errc::message_too_large);
  EXPECT_EQ(tx.send(bytes(kCell), 10s), errc::message_too_large);
  // Even on a full ring, where any fitting message would have to wait.
  while (!tx.try_send(bytes(8))) {
  }
  EXPECT_EQ(tx.reserve(kCell - 15, 10s).error(), errc::message_too_large);
  EXPECT_EQ(tx.send(bytes(5000), Clock::now() + 10s), errc::message_too_large);
  ASSERT_TRUE(rx.receive(1s));
  EXPECT_FALSE(tx.send(bytes_of("still works"), 1s));
}

TEST(MpmcRing, FullRingWouldBlockAndTimesOutUntilACellIsReleased) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  uint64_t sent = 0;
  while (!tx.try_send(bytes(8))) ++sent;
  EXPECT_EQ(sent, kCells) << "one message per cell, whatever its size";
  EXPECT_EQ(tx.try_send(bytes(8)), errc::would_block);
  EXPECT_EQ(tx.try_reserve(1).error(), errc::would_block);
  EXPECT_EQ(tx.send(bytes(8), 5ms), errc::timed_out);
  EXPECT_NE(last_error_detail().find("no room before the timeout"), std::string::npos) << last_error_detail();
  EXPECT_EQ(tx.reserve(8, Clock::now()).error(), errc::timed_out) << "a past deadline is a try";
  ASSERT_TRUE(rx.read(1s));
  EXPECT_EQ(tx.try_send(bytes(8)), errc::would_block) << "read alone frees no cell";
  rx.release();
  EXPECT_FALSE(tx.try_send(bytes(8)));
  EXPECT_EQ(tx.try_send(bytes(8)), errc::would_block) << "one cell released, one message";
  const SharedRingStats s = tx.stats();
  EXPECT_EQ(s.high_water, kCells);
  EXPECT_GE(s.producer_waits, 3u);
}

TEST(MpmcRing, ReadTimesOutOnAnEmptyRing) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
  const auto start = Clock::now();
  EXPECT_EQ(rx.read(20ms).error(), errc::timed_out);
  EXPECT_GE(Clock::now() - start, 20ms) << "a timeout never fires early";
  EXPECT_EQ(rx.read(Clock::now()).error(), errc::timed_out) << "a past deadline is a try";
  EXPECT_GE(rx.stats().consumer_waits, 2u);
}

TEST(MpmcRing, CommitMayUseLessThanReservedAndNoMore) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  EXPECT_EQ(tx.commit(1), errc::invalid_argument) << "nothing reserved";
  EXPECT_EQ(tx.stage(1), errc::invalid_argument);
  auto span = tx.reserve(64, 1s);
  ASSERT_TRUE(span);
  std::memcpy(span->data(), "abc", 3);
  EXPECT_EQ(tx.commit(65), errc::invalid_argument);
  ASSERT_FALSE(tx.commit(3));
  EXPECT_EQ(tx.commit(3), errc::invalid_argument) << "a reservation commits once";
  EXPECT_EQ(got(rx.receive(1s)), "abc");
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
}

TEST(MpmcRing, StagedMessagesAppearOnlyWhenPublished) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  for (int i = 0; i < 3; ++i) {
    auto span = tx.try_reserve(8);
    ASSERT_TRUE(span);
    std::memcpy(span->data(), &i, sizeof i);
    ASSERT_FALSE(tx.stage(8));
  }
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
  EXPECT_EQ(rx.read(10ms).error(), errc::timed_out);
  tx.publish();
  for (int i = 0; i < 3; ++i) {
    auto view = rx.try_read();
    ASSERT_TRUE(view);
    int got = -1;
    std::memcpy(&got, view->data(), sizeof got);
    EXPECT_EQ(got, i);
  }
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
}

TEST(MpmcRing, AProducerThatFindsTheRingFullPublishesWhatItStaged) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  for (uint64_t i = 0; i < kCells; ++i) {
    ASSERT_TRUE(tx.try_reserve(8));
    ASSERT_FALSE(tx.stage(8));
  }
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
  EXPECT_EQ(tx.try_reserve(8).error(), errc::would_block);
  // Otherwise the consumer could never make the room the producer waits for.
  for (uint64_t i = 0; i < kCells; ++i) EXPECT_TRUE(rx.try_receive()) << i;
}

TEST(MpmcRing, ConsumersTakeMessagesInTheOrderTheirCellsWereReserved) {
  ScopedName n;
  auto [first, rx] = make_ring(n);
  auto second = open_producer(n);
  auto span = first.try_reserve(5);
  ASSERT_TRUE(span);
  ASSERT_FALSE(second.send(bytes_of("later"), 1s));
  EXPECT_EQ(rx.try_read().error(), errc::would_block)
      << "a committed message waits behind a cell reserved before it";
  std::memcpy(span->data(), "first", 5);
  ASSERT_FALSE(first.commit(5));
  EXPECT_EQ(got(rx.receive(1s)), "first");
  EXPECT_EQ(got(rx.receive(1s)), "later");
}

// A consumer keeping up takes the next cell expecting the last record's
// producer (take_expected): another producer's record, a cell still being
// written and one a lap on must each be taken or waited for as before.
TEST(MpmcRing, AConsumerKeepingUpTakesRecordsOfWhicheverProducerWroteThem) {
  ScopedName n;
  auto [a, rx] = make_ring(n);
  auto b = open_producer(n);
  for (uint64_t lap = 0; lap < 3; ++lap) {
    for (uint64_t i = 0; i < kCells / 2; ++i) {
      ASSERT_FALSE(a.send(bytes_of("a" + std::to_string(i)), 1s));
      ASSERT_FALSE(b.send(bytes_of("b" + std::to_string(i)), 1s));
    }
    for (uint64_t i = 0; i < kCells / 2; ++i) {
      EXPECT_EQ(got(rx.try_receive()), "a" + std::to_string(i)) << "lap " << lap;
      EXPECT_EQ(got(rx.try_receive()), "b" + std::to_string(i)) << "lap " << lap;
    }
  }
  ASSERT_FALSE(a.send(bytes_of("first"), 1s));
  auto open = a.try_reserve(4);  // the next cell: being written
  ASSERT_TRUE(open);
  EXPECT_EQ(got(rx.try_receive()), "first");
  EXPECT_EQ(rx.try_read().error(), errc::would_block) << "a cell being written is not taken";
  std::memcpy(open->data(), "next", 4);
  ASSERT_FALSE(a.commit(4));
  EXPECT_EQ(got(rx.try_receive()), "next");
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
  ASSERT_FALSE(b.send(bytes_of("after"), 1s));
  EXPECT_EQ(got(rx.try_receive()), "after") << "found again after the ring ran empty";
  EXPECT_EQ(rx.stats().messages_consumed, 3 * kCells + 3);
}

TEST(MpmcRing, ReservingAgainKeepsTheOpenReservation) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  auto a = tx.try_reserve(10);
  ASSERT_TRUE(a);
  auto b = tx.try_reserve(20);
  ASSERT_TRUE(b);
  EXPECT_EQ(a->data(), b->data());
  EXPECT_EQ(b->size(), 20u);
  std::memset(b->data(), 'z', 20);
  ASSERT_FALSE(tx.commit(20));
  EXPECT_EQ(got(rx.receive(1s)), std::string(20, 'z'));
  EXPECT_EQ(rx.try_read().error(), errc::would_block) << "one cell, one message";
  EXPECT_EQ(rx.stats().messages_committed, 1u);
}

TEST(MpmcRing, SeveralReadsThenOneReleaseFreesTheirCells) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  for (uint64_t i = 0; i < kCells; ++i) ASSERT_FALSE(tx.send(bytes_of(std::to_string(i)), 1s));
  auto a = rx.try_read(), b = rx.try_read(), c = rx.try_read();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(text(*a) + "," + text(*b) + "," + text(*c), "0,1,2") << "views stay valid until release";
  EXPECT_EQ(tx.try_send(bytes_of("x")), errc::would_block);
  rx.release();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(tx.try_send(bytes_of("x"))) << i;
  EXPECT_EQ(tx.try_send(bytes_of("x")), errc::would_block);
  EXPECT_EQ(rx.stats().messages_consumed, 3u);
}

TEST(MpmcRing, ConsumerBeforeAnyProducerTimesOutRatherThanPeerGone) {
  ScopedName n;
  auto rx = MpmcConsumer::open(n.location(), OpenMode::create, quick_mpmc(kCapacity, kCell));
  ASSERT_TRUE(rx);
  EXPECT_EQ(rx->read(20ms).error(), errc::timed_out) << "not peer_gone: no producer yet";
  auto tx = open_producer(n);
  ASSERT_FALSE(tx.send(bytes_of("late"), 1s));
  EXPECT_EQ(got(rx->receive(1s)), "late");
}

TEST(MpmcRing, ConsumerGetsEverythingThenPeerGoneOnceEveryProducerLeft) {
  ScopedName n;
  auto [first, rx] = make_ring(n);
  auto second = open_producer(n);
  ASSERT_FALSE(first.send(bytes_of("a"), 1s));
  { MpmcProducer gone = std::move(first); }
  EXPECT_EQ(got(rx.receive(1s)), "a");
  EXPECT_EQ(rx.read(20ms).error(), errc::timed_out) << "one producer is still attached";
  ASSERT_FALSE(second.send(bytes_of("b"), 1s));
  ASSERT_FALSE(second.send(bytes_of("c"), 1s));
  { MpmcProducer gone = std::move(second); }
  EXPECT_EQ(got(rx.receive(10s)), "b") << "committed messages come before peer_gone";
  EXPECT_EQ(got(rx.receive(10s)), "c");
  EXPECT_EQ(rx.read(10s).error(), errc::peer_gone);
  EXPECT_EQ(rx.try_read().error(), errc::would_block) << "a try does not judge peers";
  // peer_gone is a state: a new producer carries on.
  auto again = open_producer(n);
  ASSERT_FALSE(again.send(bytes_of("d"), 1s));
  EXPECT_EQ(got(rx.receive(1s)), "d");
}

TEST(MpmcRing, ADepartingProducerWakesASleepingConsumerAtOnce) {
  ScopedName n;
  MpmcOptions o = quick_mpmc(kCapacity, kCell);
  o.wait.spin_for = 0ns;
  o.wait.liveness_interval = 1h;  // only the departure's wake-up can end the wait
  auto tx = MpmcProducer::open(n.location(), OpenMode::create, o);
  auto rx = MpmcConsumer::open(n.location(), OpenMode::open, o);
  ASSERT_TRUE(tx && rx);
  auto* ctl = reinterpret_cast<detail::MpmcControl*>(rx->segment().control());
  std::jthread leaver([&] {
    while (ctl->data_wait.sleeps.load() == 0) std::this_thread::yield();
    MpmcProducer gone = std::move(*tx);
  });
  EXPECT_EQ(rx->read(30s).error(), errc::peer_gone);
}

TEST(MpmcRing, ProducerOnAFullRingGetsPeerGoneOnceEveryConsumerLeft) {
  ScopedName n;
  auto [tx, first] = make_ring(n);
  auto second = open_consumer(n);
  while (!tx.try_send(bytes(100))) {
  }
  { MpmcConsumer gone = std::move(first); }
  EXPECT_EQ(tx.send(bytes(100), 20ms), errc::timed_out) << "one consumer is still attached";
  { MpmcConsumer gone = std::move(second); }
  EXPECT_EQ(tx.send(bytes(100), 10s), errc::peer_gone);
  // A new consumer finds every message the ring holds.
  auto again = open_consumer(n);
  for (uint64_t i = 0; i < kCells; ++i) EXPECT_TRUE(again.try_receive()) << i;
  EXPECT_FALSE(tx.send(bytes(100), 1s));
}

TEST(MpmcRing, ProducerOnAFullRingBeforeAnyConsumerTimesOut) {
  ScopedName n;
  auto tx = MpmcProducer::open(n.location(), OpenMode::create, quick_mpmc(kCapacity, kCell));
  ASSERT_TRUE(tx);
  while (!tx->try_send(bytes(100))) {
  }
  EXPECT_EQ(tx->send(bytes(100), 20ms), errc::timed_out) << "not peer_gone: no consumer yet";
}

TEST(MpmcRing, AClosingConsumersUnreleasedMessagesGoToAnotherConsumer) {
  ScopedName n;
  auto [tx, first] = make_ring(n, OnConsumerDeath::redeliver);
  auto second = open_consumer(n);
  for (const char* m : {"one", "two", "three", "four"}) ASSERT_FALSE(tx.send(bytes_of(m), 1s));
  EXPECT_EQ(got(first.receive(1s)), "one");  // released
  ASSERT_TRUE(first.read(1s));                // "two", read, never released
  ASSERT_TRUE(first.read(1s));                // "three", likewise
  EXPECT_EQ(got(second.receive(1s)), "four");
  EXPECT_EQ(second.try_read().error(), errc::would_block);
  { MpmcConsumer gone = std::move(first); }
  std::vector<std::string> again{got(second.receive(1s)), got(second.receive(1s))};
  std::sort(again.begin(), again.end());
  EXPECT_EQ(again, (std::vector<std::string>{"three", "two"}));
  EXPECT_EQ(second.try_read().error(), errc::would_block) << "each is delivered once more, once";
  const SharedRingStats s = second.stats();
  EXPECT_EQ(s.redelivered, 2u);
  EXPECT_EQ(s.lost, 0u);
  // Every cell is usable again.
  for (uint64_t i = 0; i < kCells; ++i) EXPECT_FALSE(tx.try_send(bytes_of("x"))) << i;
}

TEST(MpmcRing, AConsumerWaitingWhileAnotherClosesGetsItsUnreleasedMessage) {
  ScopedName n;
  auto [tx, first] = make_ring(n, OnConsumerDeath::redeliver);
  auto second = open_consumer(n);
  ASSERT_FALSE(tx.send(bytes_of("held"), 1s));
  ASSERT_TRUE(first.read(1s));
  std::atomic<bool> waiting{false};
  std::jthread closer([&] {
    while (!waiting.load()) std::this_thread::yield();
    MpmcConsumer gone = std::move(first);
  });
  waiting.store(true);
  // Whether the close comes before or during the wait, the message arrives.
  EXPECT_EQ(got(second.receive(30s)), "held");
  EXPECT_EQ(second.stats().redelivered, 1u);
}

TEST(MpmcRing, UnderTheDropPolicyAClosingConsumersUnreleasedMessagesAreLost) {
  ScopedName n;
  auto [tx, first] = make_ring(n, OnConsumerDeath::drop);
  auto second = open_consumer(n);
  for (const char* m : {"one", "two", "three", "four"}) ASSERT_FALSE(tx.send(bytes_of(m), 1s));
  EXPECT_EQ(got(first.receive(1s)), "one");
  ASSERT_TRUE(first.read(1s));
  ASSERT_TRUE(first.read(1s));
  { MpmcConsumer gone = std::move(first); }
  EXPECT_EQ(got(second.receive(1s)), "four");
  EXPECT_EQ(second.read(20ms).error(), errc::timed_out) << "two and three are never delivered";
  const SharedRingStats s = second.stats();
  EXPECT_EQ(s.lost, 2u);
  EXPECT_EQ(s.redelivered, 0u);
  // Their cells are free again.
  for (uint64_t i = 0; i < kCells; ++i) EXPECT_FALSE(tx.try_send(bytes_of("x"))) << i;
}

TEST(MpmcRing, ThePolicyIsTheCreatorsWhateverAnOpenerAsks) {
  ScopedName n;
  auto tx = MpmcProducer::open(n.location(), OpenMode::create,
                               quick_mpmc(kCapacity, kCell, OnConsumerDeath::drop));
  ASSERT_TRUE(tx);
  auto first = MpmcConsumer::open(n.location(), OpenMode::open,
                                  quick_mpmc(0, 0, OnConsumerDeath::redeliver));
  ASSERT_TRUE(first);
  ASSERT_FALSE(tx->send(bytes_of("m"), 1s));
  ASSERT_TRUE(first->read(1s));
  { MpmcConsumer gone = std::move(*first); }
  EXPECT_EQ(tx->stats().lost, 1u);
}

TEST(MpmcRing, DestroyingAProducerPublishesWhatItStagedAndAbandonsItsReservation) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  for (const char* m : {"a", "b"}) {
    auto span = tx.try_reserve(1);
    ASSERT_TRUE(span);
    std::memcpy(span->data(), m, 1);
    ASSERT_FALSE(tx.stage(1));
  }
  ASSERT_TRUE(tx.try_reserve(8));  // never committed
  auto other = open_producer(n);
  ASSERT_FALSE(other.send(bytes_of("c"), 1s));  // behind the open reservation
  { MpmcProducer gone = std::move(tx); }
  EXPECT_EQ(got(rx.receive(1s)), "a");
  EXPECT_EQ(got(rx.receive(1s)), "b");
  EXPECT_EQ(got(rx.receive(1s)), "c") << "the abandoned cell is skipped";
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
  EXPECT_EQ(rx.stats().abandoned, 1u);
  // Every cell is usable again, the abandoned one included.
  for (uint64_t i = 0; i < kCells; ++i) EXPECT_FALSE(other.try_send(bytes_of("x"))) << i;
  for (uint64_t i = 0; i < kCells; ++i) EXPECT_EQ(got(rx.try_receive()), "x") << i;
}

TEST(MpmcRing, CellSizeMustMatchWhenOpening) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  EXPECT_EQ(MpmcConsumer::open(n.location(), OpenMode::open, quick_mpmc(0, 512)).error(),
            errc::capacity_mismatch);
  EXPECT_NE(last_error_detail().find("256"), std::string::npos) << last_error_detail();
  EXPECT_EQ(MpmcProducer::open(n.location(), OpenMode::open_or_create, quick_mpmc(0, 128)).error(),
            errc::capacity_mismatch);
  auto same = MpmcConsumer::open(n.location(), OpenMode::open, quick_mpmc(0, kCell));
  ASSERT_TRUE(same);
  auto any = MpmcConsumer::open(n.location(), OpenMode::open, quick_mpmc(0, 0));
  ASSERT_TRUE(any);
  EXPECT_EQ(any->max_message_size(), kCell - 16u) << "0: whatever the ring has";
  EXPECT_EQ(any->stats().cell_size, kCell);
}

TEST(MpmcRing, DefaultCellIs256Bytes) {
  ScopedName n;
  auto tx = MpmcProducer::open(n.location(), OpenMode::create, MpmcOptions{});
  ASSERT_TRUE(tx) << last_error_detail();
  EXPECT_EQ(tx->max_message_size(), 240u);
  EXPECT_EQ(tx->stats().cells, kDefaultCapacity / 256);
}

TEST(MpmcRing, InvalidCellSizesAreRefusedAndCreateNothing) {
  for (uint32_t cell : {100u, 32u, 63u, 4096u, 8192u}) {
    ScopedName n;
    EXPECT_EQ(MpmcProducer::open(n.location(), OpenMode::create, quick_mpmc(kCapacity, cell)).error(),
              errc::invalid_argument)
        << cell;
    EXPECT_EQ(MpmcConsumer::open(n.location(), OpenMode::open_or_create, quick_mpmc(kCapacity, cell))
                  .error(),
              errc::invalid_argument)
        << cell;
    EXPECT_EQ(Segment::remove(n.location()), errc::not_found) << cell << ": nothing was created";
  }
  // Half the capacity is the largest: two cells.
  ScopedName n;
  auto [tx, rx] = make_ring(n, OnConsumerDeath::redeliver, kCapacity, kCapacity / 2);
  EXPECT_EQ(tx.stats().cells, 2u);
  ASSERT_FALSE(tx.send(bytes_of("1"), 1s));
  ASSERT_FALSE(tx.send(bytes_of("2"), 1s));
  EXPECT_EQ(tx.try_send(bytes_of("3")), errc::would_block);
}

TEST(MpmcRing, OtherRingKindsAreWrongKind) {
  ScopedName spsc, mpmc;
  auto s = SpscConsumer::open(spsc.location(), OpenMode::create, test::quick_options());
  ASSERT_TRUE(s);
  EXPECT_EQ(MpmcProducer::open(spsc.location(), OpenMode::open).error(), errc::wrong_kind);
  EXPECT_EQ(MpmcConsumer::open(spsc.location(), OpenMode::open_or_create).error(), errc::wrong_kind);
  EXPECT_NE(last_error_detail().find(spsc.name()), std::string::npos) << last_error_detail();
  EXPECT_EQ(inspect_mpmc(spsc.location()).error(), errc::wrong_kind);
  auto m = MpmcConsumer::open(mpmc.location(), OpenMode::create, quick_mpmc(kCapacity, kCell));
  ASSERT_TRUE(m);
  EXPECT_EQ(SpscConsumer::open(mpmc.location(), OpenMode::open).error(), errc::wrong_kind);
  EXPECT_EQ(inspect_spsc(mpmc.location()).error(), errc::wrong_kind);
}

TEST(MpmcRing, StatsCountMessagesBytesFillAndPeers) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  for (size_t size : {10, 20, 30, 40, 50}) ASSERT_FALSE(tx.send(bytes(size), 1s));
  ASSERT_TRUE(rx.receive(1s));
  ASSERT_TRUE(rx.receive(1s));
  auto held = rx.read(1s);  // read, not yet released: consumed
  ASSERT_TRUE(held);
  auto s = inspect_mpmc(n.location());
  ASSERT_TRUE(s) << last_error_detail();
  EXPECT_EQ(s->capacity, kCapacity);
  EXPECT_EQ(s->cell_size, kCell);
  EXPECT_EQ(s->cells, kCells);
  EXPECT_EQ(s->messages_committed, 5u);
  EXPECT_EQ(s->bytes_committed, 150u);
  EXPECT_EQ(s->messages_consumed, 3u);
  EXPECT_EQ(s->bytes_consumed, 60u);
  EXPECT_EQ(s->fill, 2u);
  // Sampled (every 64 claims, and when full): seen at the first claim, never
  // above the true peak. (Exact when full: FullRingWouldBlockAndTimesOut...)
  EXPECT_GE(s->high_water, 1u);
  EXPECT_LE(s->high_water, 5u);
  EXPECT_EQ(s->abandoned + s->redelivered + s->lost + s->lapped + s->missed, 0u);
  ASSERT_EQ(s->peers.size(), 2u);
  const auto me = static_cast<uint32_t>(::getpid());
  const auto producer = std::find_if(s->peers.begin(), s->peers.end(), [](auto& p) { return p.producer; });
  const auto consumer = std::find_if(s->peers.begin(), s->peers.end(), [](auto& p) { return !p.producer; });
  ASSERT_TRUE(producer != s->peers.end() && consumer != s->peers.end());
  EXPECT_EQ(producer->pid, me);
  EXPECT_EQ(producer->messages, 5u);
  EXPECT_EQ(producer->bytes, 150u);
  EXPECT_EQ(consumer->pid, me);
  EXPECT_EQ(consumer->messages, 3u);
  EXPECT_EQ(consumer->bytes, 60u);
  // A handle's own view agrees.
  EXPECT_EQ(rx.stats().messages_committed, 5u);
  EXPECT_EQ(rx.stats().peers.size(), 2u);
  // A departed producer's counts stay in the totals; it is no longer a peer.
  { MpmcProducer gone = std::move(tx); }
  rx.release();
  s = inspect_mpmc(n.location());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->messages_committed, 5u);
  EXPECT_EQ(s->bytes_committed, 150u);
  ASSERT_EQ(s->peers.size(), 1u);
  EXPECT_FALSE(s->peers[0].producer);
}

TEST(MpmcRing, SixtyFourPeersAtMost) {
  ScopedName n;
  // 64 cells of 64 bytes: room for one message from each of 32 producers.
  auto first = MpmcConsumer::open(n.location(), OpenMode::create, quick_mpmc(kCapacity, 64));
  ASSERT_TRUE(first);
  std::vector<MpmcProducer> producers;
  std::vector<MpmcConsumer> consumers;
  for (int i = 1; i < 64; ++i) {
    if (i % 2) {
      auto tx = MpmcProducer::open(n.location(), OpenMode::open);
      ASSERT_TRUE(tx) << i << ": " << tx.error().message();
      producers.push_back(std::move(*tx));
    } else {
      auto rx = MpmcConsumer::open(n.location(), OpenMode::open);
      ASSERT_TRUE(rx) << i << ": " << rx.error().message();
      consumers.push_back(std::move(*rx));
    }
  }
  EXPECT_EQ(MpmcProducer::open(n.location(), OpenMode::open).error(), errc::role_taken);
  EXPECT_EQ(MpmcConsumer::open(n.location(), OpenMode::open).error(), errc::role_taken);
  EXPECT_EQ(first->stats().peers.size(), 64u);
  // They all work: each producer sends one, each consumer takes one.
  for (uint64_t i = 0; i < producers.size(); ++i) {
    ASSERT_FALSE(producers[i].send(std::as_bytes(std::span(&i, 1)), 1s)) << i;
  }
  std::vector<uint64_t> got;
  for (auto& rx : consumers) {
    auto m = rx.receive(1s);
    ASSERT_TRUE(m);
    got.push_back(test::pattern_seq(*m));
  }
  while (auto m = first->try_receive()) got.push_back(test::pattern_seq(*m));
  ASSERT_EQ(got.size(), producers.size());
  for (uint64_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], i) << "in reserve order";
  producers.pop_back();
  EXPECT_TRUE(MpmcProducer::open(n.location(), OpenMode::open)) << "a departure frees a slot";
}

TEST(MpmcRing, MovedFromHandlesAreHarmless) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  MpmcProducer tx2 = std::move(tx);
  MpmcConsumer rx2 = std::move(rx);
  tx2 = std::move(tx2);
  rx2 = std::move(rx2);
  ASSERT_FALSE(tx2.send(bytes_of("m"), 1s));
  EXPECT_EQ(got(rx2.receive(1s)), "m");
  // Assigning over a live handle detaches the old one.
  auto tx3 = open_producer(n);
  tx2 = std::move(tx3);
  EXPECT_EQ(rx2.stats().peers.size(), 2u);
}

// White-box: laps are 40 bits in the state word, compared modulo 2^40.
// Start two laps short of the wrap and run traffic across it.
TEST(MpmcRing, PositionsCrossTheLapCounterWrap) {
  ScopedName n;
  auto [tx, rx] = make_ring(n);
  auto* ctl = reinterpret_cast<detail::MpmcControl*>(tx.segment().control());
  const uint64_t lap = detail::kLapMask - 1;  // the wrap comes two laps on
  for (uint64_t i = 0; i < kCells; ++i) {
    detail::cell_at(tx.segment().data(), kCell, i)
        .state.store(detail::CellState{detail::kFree, 0, 0, lap}.pack());
  }
  ctl->tail.store(lap * kCells);
  ctl->head.store(lap * kCells);
  uint64_t sent = 0, received = 0;
  const size_t max = tx.max_message_size();
  for (int round = 0; round < 6; ++round) {
    // Fill the ring exactly, then drain it: every cell, every lap.
    for (uint64_t i = 0; i < kCells; ++i, ++sent) {
      std::vector<std::byte> m(test::pattern_size(5, sent, max));
      test::pattern_fill(5, sent, m);
      ASSERT_FALSE(tx.try_send(m)) << "message " << sent;
    }
    ASSERT_EQ(tx.try_send(bytes(8)), errc::would_block) << "round " << round;
    for (uint64_t i = 0; i < kCells; ++i, ++received) {
      auto view = rx.try_read();
      ASSERT_TRUE(view) << "message " << received << ": " << view.error().message();
      ASSERT_TRUE(test::pattern_check(5, received, *view, max)) << "message " << received;
      rx.release();
    }
    ASSERT_EQ(rx.try_read().error(), errc::would_block) << "round " << round;
  }
  EXPECT_EQ(rx.stats().fill, 0u);
}

// Hostile damage (issue 14): another process writes the ring's tail word.
// A new producer's send must end by its timeout, reporting corrupted, not
// spin forever helping tail past cells that were never filled.
TEST(MpmcRing, ADamagedTailIsCorruptedAndTheTimeoutHolds) {
  for (uint64_t bad : {uint64_t{0xff}, uint64_t{0x1000}, uint64_t{0x80000001}}) {
    ScopedName n;
    {
      Ring r = make_ring(n, OnConsumerDeath::redeliver, 4096, 64);
      for (int i = 0; i < 15; ++i) ASSERT_FALSE(r.tx.send(bytes_of("m" + std::to_string(i)), 1s));
      for (int i = 0; i < 10; ++i) ASSERT_TRUE(r.rx.receive(1s));
    }
    auto seg = Segment::open(n.location(), OpenMode::open, {RingKind::mpmc, 0});
    ASSERT_TRUE(seg);
    reinterpret_cast<detail::MpmcControl*>(seg->control())->tail.store(bad);  // byte 128 of the file
    auto tx = MpmcProducer::open(n.location(), OpenMode::open, quick_mpmc());
    ASSERT_TRUE(tx) << last_error_detail();
    EXPECT_EQ(tx->send(bytes_of("x"), 20ms), errc::corrupted) << std::hex << bad;
    EXPECT_NE(last_error_detail().find("tail is at position"), std::string::npos) << last_error_detail();
    EXPECT_EQ(tx->try_send(bytes_of("x")), errc::corrupted);
  }
}

// A damaged head likewise: the consumer says corrupted instead of waiting
// for cells that laps ago were read.
TEST(MpmcRing, ADamagedHeadIsCorrupted) {
  ScopedName n;
  Ring r = make_ring(n, OnConsumerDeath::redeliver, 4096, 64);
  for (int i = 0; i < 15; ++i) ASSERT_FALSE(r.tx.send(bytes_of("m"), 1s));
  reinterpret_cast<detail::MpmcControl*>(r.rx.segment().control())->head.store(64 * 5 + 3);
  EXPECT_EQ(r.rx.read(20ms).error(), errc::corrupted);
}

// A committed cell's length word overwritten (0xFFFFFFFF, or just more than
// a cell holds): never a span past the cell, never a copy of it; the record
// is dropped and counted lost, and the ring goes on.
TEST(MpmcRing, ADamagedLengthWordIsCorruptedAndTheRingGoesOn) {
  for (uint32_t bad : {0xFFFFFFFFu, 49u, 490u}) {
    ScopedName n;
    Ring r = make_ring(n, OnConsumerDeath::redeliver, 4096, 64);  // largest message: 48
    ASSERT_FALSE(r.tx.send(bytes_of("first"), 1s));
    ASSERT_FALSE(r.tx.send(bytes_of("second"), 1s));
    auto& cell0 = detail::cell_at(r.tx.segment().data(), 64, 0);
    cell0.size = bad;
    auto damaged = r.rx.receive(1s);
    ASSERT_FALSE(damaged) << bad;
    EXPECT_EQ(damaged.error(), errc::corrupted);
    EXPECT_NE(last_error_detail().find("more than a cell takes (48)"), std::string::npos) << last_error_detail();
    EXPECT_EQ(got(r.rx.receive(1s)), "second");
    EXPECT_EQ(r.rx.stats().lost, 1u);
    EXPECT_FALSE(r.tx.send(bytes_of("third"), 1s)) << "the damaged cell was freed";
    EXPECT_EQ(got(r.rx.receive(1s)), "third");
  }
}

// The same damage on a record delivered again after its consumer died.
TEST(MpmcRing, ADamagedLengthWordOfAnOrphanIsCorrupted) {
  ScopedName n;
  Ring r = make_ring(n, OnConsumerDeath::redeliver, 4096, 64);
  ASSERT_FALSE(r.tx.send(bytes_of("held"), 1s));
  {
    MpmcConsumer dying = open_consumer(n);
    ASSERT_TRUE(dying.read(1s));
    detail::cell_at(r.tx.segment().data(), 64, 0).size = 0xFFFFFFFF;
  }  // closed while holding it: an orphan
  EXPECT_EQ(r.rx.receive(1s).error(), errc::corrupted);
  ASSERT_FALSE(r.tx.send(bytes_of("next"), 1s));
  EXPECT_EQ(got(r.rx.receive(1s)), "next");
}

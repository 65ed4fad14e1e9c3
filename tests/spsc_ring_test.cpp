// The SPSC ring's logic, driven from one thread: records, padding and
// wrap-around, zero-copy spans, batching, limits, roles and corruption.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <random>
#include <string>

#include "message_pattern.hpp"
#include "ringdrop/ringdrop.hpp"
#include "ring/spsc_layout.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::quick_options;
using ringdrop::test::ScopedName;

namespace {

struct Pair {
  SpscProducer tx;
  SpscConsumer rx;
};

Pair make_pair(const ScopedName& n, uint64_t capacity = 4096) {
  auto tx = SpscProducer::open(n.location(), OpenMode::create, quick_options(capacity));
  EXPECT_TRUE(tx) << tx.error().message() << " " << last_error_detail();
  auto rx = SpscConsumer::open(n.location(), OpenMode::open, quick_options());
  EXPECT_TRUE(rx) << rx.error().message();
  return Pair{std::move(tx).value(), std::move(rx).value()};
}

std::string text(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

TEST(SpscRing, SendThenReceiveCopies) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  ASSERT_FALSE(tx.send(bytes_of("hello"), 1s));
  ASSERT_FALSE(tx.send(bytes_of(""), 1s));
  auto first = rx.receive(1s);
  ASSERT_TRUE(first);
  EXPECT_EQ(text(*first), "hello");
  auto empty = rx.receive(1s);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(rx.try_receive().error(), errc::would_block);
}

TEST(SpscRing, PeekCopiesWhatWaitsAndTakesNothing) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  EXPECT_TRUE(peek_spsc(n.location(), 10)->empty());
  // Enough laps that records wrap (and padding is skipped) on the way.
  for (int round = 0; round < 40; ++round) {
    const std::string a = "message " + std::to_string(round) + std::string(static_cast<size_t>(round * 37 % 300), 'x');
    ASSERT_FALSE(tx.send(bytes_of(a), 1s));
    ASSERT_FALSE(tx.send(bytes_of("second"), 1s));
    auto seen = peek_spsc(n.location(), 10);
    ASSERT_TRUE(seen) << last_error_detail();
    ASSERT_EQ(seen->size(), 2u);
    EXPECT_EQ(text((*seen)[0]), a);
    EXPECT_EQ(text((*seen)[1]), "second");
    EXPECT_EQ(peek_spsc(n.location(), 1)->size(), 1u) << "at most max";
    EXPECT_EQ(text(rx.receive(1s).value()), a) << "the consumer still gets every one";
    EXPECT_EQ(peek_spsc(n.location(), 10)->size(), 1u);
    EXPECT_EQ(text(rx.receive(1s).value()), "second");
  }
  ScopedName missing;
  EXPECT_EQ(peek_spsc(missing.location(), 1).error(), errc::not_found);
}

TEST(SpscRing, ReserveAndReadAreInPlaceAndWordAligned) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  const std::byte* lo = tx.segment().data();
  const std::byte* hi = lo + tx.segment().info().capacity;
  for (size_t size : {1, 7, 8, 13, 100}) {
    auto span = tx.reserve(size, 1s);
    ASSERT_TRUE(span);
    EXPECT_TRUE(span->data() >= lo && span->data() + size <= hi);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(span->data()) % 8, 0u);
    std::memset(span->data(), 'x', size);
    ASSERT_FALSE(tx.commit(size));
    auto view = rx.read(1s);
    ASSERT_TRUE(view);
    // Each handle maps the segment at its own address; the same offset means
    // the reader sees the writer's bytes, not a copy.
    EXPECT_EQ(view->data() - rx.segment().data(), span->data() - tx.segment().data());
    EXPECT_EQ(view->size(), size);
    rx.release();
  }
}

TEST(SpscRing, CommitMayUseLessThanReserved) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  auto span = tx.reserve(64, 1s);
  ASSERT_TRUE(span);
  std::memcpy(span->data(), "abc", 3);
  ASSERT_FALSE(tx.commit(3));
  EXPECT_EQ(text(*rx.receive(1s)), "abc");
}

// Bytes written into an abandoned reservation lie past a smaller record
// committed in its place; they look like record headers, and must not be
// taken for one (the producer zeroes free space ahead, and must not count
// a reservation's bytes as zero).
TEST(SpscRing, AnAbandonedReservationsBytesAreNeverReadAsRecords) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  for (int lap = 0; lap < 3; ++lap) {  // the first publish, and ones with space zeroed ahead
    auto big = tx.reserve(512, 1s);
    ASSERT_TRUE(big);
    const uint64_t fake = detail::make_header(8, detail::kDataTag);
    for (size_t at = 0; at + 8 <= big->size(); at += 8) std::memcpy(big->data() + at, &fake, 8);
    auto small = tx.reserve(8, 1s);  // abandons the first
    ASSERT_TRUE(small);
    std::memcpy(small->data(), "smallrec", 8);
    ASSERT_FALSE(tx.commit(8));
    auto got = rx.receive(1s);
    ASSERT_TRUE(got);
    EXPECT_EQ(text(*got), "smallrec");
    EXPECT_EQ(rx.try_receive().error(), errc::would_block) << "lap " << lap;
  }
}

// publish() with a reservation open makes the staged records visible and
// leaves the reservation's bytes alone.
TEST(SpscRing, PublishingWithAReservationOpenKeepsItsBytes) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  ASSERT_FALSE(tx.send(bytes_of("first"), 1s));  // later publishes find space zeroed ahead
  ASSERT_EQ(text(*rx.receive(1s)), "first");
  auto staged = tx.reserve(5, 1s);
  ASSERT_TRUE(staged);
  std::memcpy(staged->data(), "stage", 5);
  ASSERT_FALSE(tx.stage(5));
  auto open = tx.reserve(300, 1s);
  ASSERT_TRUE(open);
  std::memset(open->data(), 0x5a, open->size());
  tx.publish();
  EXPECT_EQ(text(*rx.receive(1s)), "stage");
  ASSERT_FALSE(tx.commit(300));
  auto got = rx.receive(1s);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::vector<std::byte>(300, std::byte{0x5a}));
}

TEST(SpscRing, CommitWithoutReservationOrBeyondItIsInvalid) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  EXPECT_EQ(tx.commit(1), errc::invalid_argument);
  ASSERT_TRUE(tx.reserve(5, 1s));
  EXPECT_EQ(tx.commit(6), errc::invalid_argument);
  EXPECT_FALSE(tx.commit(5));
  EXPECT_EQ(tx.commit(5), errc::invalid_argument) << "a reservation commits once";
}

TEST(SpscRing, WrapAroundWithRandomSizesKeepsEveryByte) {
  ScopedName n;
  auto [tx, rx] = make_pair(n, 4096);
  std::mt19937_64 rng(7);
  uint64_t sent = 0, received = 0;
  const uint64_t total = test::scaled(200000);
  while (received < total) {
    // Send a random burst, then drain a random part of what is in flight,
    // so records land at every offset and padding is exercised.
    for (int burst = static_cast<int>(rng() % 8); burst >= 0 && sent < total; --burst) {
      const size_t size = test::pattern_size(3, sent, 600);
      auto span = tx.try_reserve(size);
      if (!span) {
        ASSERT_EQ(span.error(), errc::would_block);
        break;
      }
      test::pattern_fill(3, sent, *span);
      ASSERT_FALSE(tx.commit(size));
      ++sent;
    }
    for (int drain = static_cast<int>(rng() % 8); drain >= 0 && received < sent; --drain) {
      auto view = rx.try_read();
      ASSERT_TRUE(view) << view.error().message();
      ASSERT_TRUE(test::pattern_check(3, received, *view, 600)) << "message " << received;
      rx.release();
      ++received;
    }
  }
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
  const SpscStats s = rx.stats();
  EXPECT_EQ(s.messages_published, total);
  EXPECT_EQ(s.messages_released, total);
  EXPECT_EQ(s.bytes_in_flight, 0u);
}

// Issue 14, finding 4: after a 1-byte message the largest one timed out on
// an empty ring, its wrap padding waiting for the consumer's next call. An
// empty ring takes its largest message at once, wherever the consumer stands.
TEST(SpscRing, AnEmptyRingTakesItsLargestMessageAtOnceWhereverTheConsumerStands) {
  ScopedName n;
  auto [tx, rx] = make_pair(n, 4096);
  EXPECT_EQ(tx.max_message_size(), 2048u - 8) << "half the capacity, less a record header";
  const size_t largest = tx.max_message_size();
  auto* ctl = reinterpret_cast<detail::SpscControl*>(rx.segment().control());
  for (uint64_t at = 0; at < 4096; at += 8) {  // every record boundary of a lap
    // Move the consumer to offset `at` with filler records that need no padding.
    for (uint64_t now = ctl->head.load() % 4096; now != at; now = ctl->head.load() % 4096) {
      const uint64_t step = std::min({(at - now) % 4096, uint64_t{2048}, 4096 - now});
      ASSERT_FALSE(tx.try_send(std::vector<std::byte>(step - 8)));
      ASSERT_TRUE(rx.try_receive());
    }
    auto span = tx.try_reserve(largest);  // no waiting: the ring is empty
    ASSERT_TRUE(span) << "consumer at offset " << at << ": " << span.error().message();
    std::memset(span->data(), 0x5a, span->size());
    ASSERT_FALSE(tx.commit(span->size()));
    auto view = rx.try_read();
    ASSERT_TRUE(view) << "padding is skipped, not delivered";
    EXPECT_EQ(view->size(), largest);
    EXPECT_EQ((*view)[largest - 1], std::byte{0x5a});
    rx.release();
  }
}

TEST(SpscRing, TooLargeIsRefusedAtOnceNotWaitedFor) {
  ScopedName n;
  auto [tx, rx] = make_pair(n, 4096);
  // A waiting reserve would report timed_out after 10 s instead.
  EXPECT_EQ(tx.reserve(tx.max_message_size() + 1, 10s).error(), errc::message_too_large);
  EXPECT_EQ(tx.send(std::vector<std::byte>(5000), 10s), errc::message_too_large);
  EXPECT_FALSE(tx.send(bytes_of("still works"), 1s));
  EXPECT_EQ(text(*rx.receive(1s)), "still works");
}

TEST(SpscRing, FullRingBlocksTheProducerUntilReleased) {
  ScopedName n;
  auto [tx, rx] = make_pair(n, 4096);
  int sent = 0;
  while (!tx.try_send(std::vector<std::byte>(120))) ++sent;
  EXPECT_EQ(sent, (4096 - 8) / 128) << "128-byte records, less the 8-byte end marker";
  EXPECT_EQ(tx.try_send(std::vector<std::byte>(120)), errc::would_block);
  EXPECT_EQ(tx.send(std::vector<std::byte>(120), 5ms), errc::timed_out);
  EXPECT_NE(last_error_detail().find("no room before the timeout"), std::string::npos) << last_error_detail();
  ASSERT_TRUE(rx.read(1s));
  EXPECT_EQ(tx.try_send(std::vector<std::byte>(120)), errc::would_block)
      << "read alone does not free space";
  rx.release();
  EXPECT_FALSE(tx.try_send(std::vector<std::byte>(120)));
}

TEST(SpscRing, StagedRecordsAppearOnlyWhenPublished) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  for (int i = 0; i < 3; ++i) {
    auto span = tx.try_reserve(8);
    ASSERT_TRUE(span);
    std::memcpy(span->data(), &i, sizeof i);
    ASSERT_FALSE(tx.stage(8));
  }
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
  tx.publish();
  for (int i = 0; i < 3; ++i) {
    auto view = rx.try_read();
    ASSERT_TRUE(view);
    int got = -1;
    std::memcpy(&got, view->data(), sizeof got);
    EXPECT_EQ(got, i);
  }
}

TEST(SpscRing, BatchReleaseKeepsEveryViewValidUntilRelease) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  for (const char* m : {"one", "two", "three"}) ASSERT_FALSE(tx.send(bytes_of(m), 1s));
  auto a = rx.try_read(), b = rx.try_read(), c = rx.try_read();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(rx.stats().messages_released, 0u);
  EXPECT_EQ(text(*a) + text(*b) + text(*c), "onetwothree");
  rx.release();
  EXPECT_EQ(rx.stats().messages_released, 3u);
  EXPECT_EQ(rx.stats().bytes_in_flight, 0u);
}

TEST(SpscRing, ReadTimesOutWhenNothingArrives) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  const auto start = Clock::now();
  EXPECT_EQ(rx.read(20ms).error(), errc::timed_out);
  EXPECT_GE(Clock::now() - start, 20ms) << "a timeout never fires early";
  EXPECT_EQ(rx.read(Clock::now()).error(), errc::timed_out) << "a past deadline is a try";
}

TEST(SpscRing, ConsumerWaitsForAProducerThatHasNotArrived) {
  ScopedName n;
  auto rx = SpscConsumer::open(n.location(), OpenMode::create, quick_options());
  ASSERT_TRUE(rx);
  EXPECT_EQ(rx->read(10ms).error(), errc::timed_out) << "not peer_gone: no producer yet";
}

TEST(SpscRing, OneLiveHolderPerRole) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  EXPECT_EQ(SpscProducer::open(n.location(), OpenMode::open).error(), errc::role_taken);
  EXPECT_EQ(SpscConsumer::open(n.location(), OpenMode::open).error(), errc::role_taken);
  EXPECT_NE(last_error_detail().find(std::to_string(::getpid())), std::string::npos);
  { SpscProducer gone = std::move(tx); }
  EXPECT_TRUE(SpscProducer::open(n.location(), OpenMode::open));
}

TEST(SpscRing, ConsumerGetsEverythingThenPeerGoneWhenProducerLeaves) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  ASSERT_FALSE(tx.send(bytes_of("a"), 1s));
  ASSERT_FALSE(tx.send(bytes_of("b"), 1s));
  { SpscProducer gone = std::move(tx); }
  EXPECT_EQ(text(*rx.receive(1s)), "a");
  EXPECT_EQ(text(*rx.receive(1s)), "b");
  EXPECT_EQ(rx.read(10s).error(), errc::peer_gone);
  // peer_gone is a state: a new producer carries on.
  auto again = SpscProducer::open(n.location(), OpenMode::open, quick_options());
  ASSERT_TRUE(again);
  ASSERT_FALSE(again->send(bytes_of("c"), 1s));
  EXPECT_EQ(text(*rx.receive(1s)), "c");
}

TEST(SpscRing, ADepartingProducerWakesASleepingConsumerAtOnce) {
  ScopedName n;
  RingOptions o;
  o.wait.spin_for = 0ns;
  o.wait.liveness_interval = 1h;  // only the departure's wake-up can end the wait
  auto tx = SpscProducer::open(n.location(), OpenMode::create, o);
  auto rx = SpscConsumer::open(n.location(), OpenMode::open, o);
  ASSERT_TRUE(tx && rx);
  std::jthread leaver([&] {
    while (rx->stats().consumer_sleeps == 0) std::this_thread::yield();
    SpscProducer gone = std::move(*tx);
  });
  EXPECT_EQ(rx->read(30s).error(), errc::peer_gone);
}

TEST(SpscRing, TailFarBehindHeadAfterRepeatedCrashesIsRepaired) {
  ScopedName n;
  auto [tx, rx] = make_pair(n, 4096);
  for (int i = 0; i < 100; ++i) {
    ASSERT_FALSE(tx.send(std::vector<std::byte>(100), 1s));
    ASSERT_TRUE(rx.receive(1s));
  }
  auto* ctl = reinterpret_cast<detail::SpscControl*>(rx.segment().control());
  { SpscProducer gone = std::move(tx); }
  ctl->tail.store(0);  // as if producers kept dying between header and tail
  auto next = SpscProducer::open(n.location(), OpenMode::open);
  ASSERT_TRUE(next) << last_error_detail();
  EXPECT_EQ(ctl->tail.load(), ctl->head.load()) << "the new producer repaired tail";
  ASSERT_FALSE(next->send(bytes_of("on"), 1s));
  EXPECT_EQ(text(*rx.receive(1s)), "on");
}

TEST(SpscRing, DestroyingAProducerPublishesWhatItStaged) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  ASSERT_TRUE(tx.try_reserve(4));
  ASSERT_FALSE(tx.stage(4));
  { SpscProducer gone = std::move(tx); }
  auto view = rx.read(1s);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->size(), 4u);
}

TEST(SpscRing, ProducerOnAFullRingSeesPeerGoneWhenConsumerLeaves) {
  ScopedName n;
  auto [tx, rx] = make_pair(n, 4096);
  while (!tx.try_send(std::vector<std::byte>(100))) {
  }
  { SpscConsumer gone = std::move(rx); }
  EXPECT_EQ(tx.send(std::vector<std::byte>(100), 10s), errc::peer_gone);
}

TEST(SpscRing, UnreleasedRecordsGoToTheNextConsumer) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  for (const char* m : {"first", "second"}) ASSERT_FALSE(tx.send(bytes_of(m), 1s));
  ASSERT_TRUE(rx.receive(1s));        // released
  ASSERT_TRUE(rx.read(1s));           // read, never released
  { SpscConsumer gone = std::move(rx); }
  auto next = SpscConsumer::open(n.location(), OpenMode::open);
  ASSERT_TRUE(next);
  EXPECT_EQ(text(*next->receive(1s)), "second");
}

TEST(SpscRing, StatsNameTheRoleHolders) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  ASSERT_FALSE(tx.send(bytes_of("abc"), 1s));
  auto s = inspect_spsc(n.location());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->producer_pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(s->consumer_pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(s->messages_published, 1u);
  EXPECT_EQ(s->bytes_published, 3u);
  EXPECT_EQ(s->bytes_in_flight, 16u);
  EXPECT_EQ(s->capacity, 4096u);
  ASSERT_TRUE(rx.receive(1s));
  EXPECT_EQ(rx.read(1ms).error(), errc::timed_out);
  while (!tx.try_send(std::vector<std::byte>(100))) {
  }
  const SpscStats after = tx.stats();
  EXPECT_EQ(after.bytes_released, 3u);
  EXPECT_EQ(after.messages_released, 1u);
  EXPECT_EQ(after.consumer_waits, 1u);
  EXPECT_GE(after.high_water, 4096u - 8 - 100) << "the producer saw the ring nearly full";
  EXPECT_LE(after.high_water, 4096u);
}

TEST(SpscRing, ImpossibleRecordHeaderIsCorruptedNotACrash) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  ASSERT_FALSE(tx.send(bytes_of("hello"), 1s));
  auto header = detail::header_at(tx.segment().data(), 0);
  header.store(detail::make_header(1u << 30, detail::kDataTag));  // beyond the ring
  EXPECT_EQ(rx.try_read().error(), errc::corrupted);
  header.store(detail::make_header(5, 0xdeadbeef));  // unknown tag
  EXPECT_EQ(rx.try_read().error(), errc::corrupted);
  header.store(detail::make_header(5, detail::kPadTag));  // padding not reaching the end
  EXPECT_EQ(rx.try_read().error(), errc::corrupted);
  header.store(detail::make_header(5, detail::kDataTag));
  EXPECT_EQ(text(*rx.try_receive()), "hello") << "nothing was consumed by the failed reads";
}

TEST(SpscRing, NewProducerFindsTheEndEvenWhenTailIsStale) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  for (const char* m : {"a", "b", "c"}) ASSERT_FALSE(tx.send(bytes_of(m), 1s));
  auto* ctl = reinterpret_cast<detail::SpscControl*>(rx.segment().control());
  { SpscProducer gone = std::move(tx); }
  // As if the producer died between publishing "c" and storing tail.
  ctl->tail.store(16);
  auto next = SpscProducer::open(n.location(), OpenMode::open);
  ASSERT_TRUE(next);
  ASSERT_FALSE(next->send(bytes_of("d"), 1s));
  std::string all;
  for (int i = 0; i < 4; ++i) all += text(*rx.receive(1s));
  EXPECT_EQ(all, "abcd") << "nothing overwritten, nothing repeated";
}

TEST(SpscRing, ImpossibleIndicesAreCorruptedAtOpen) {
  ScopedName n;
  auto seg = Segment::open(n.location(), OpenMode::create, {RingKind::spsc, 4096});
  ASSERT_TRUE(seg);
  auto* ctl = reinterpret_cast<detail::SpscControl*>(seg->control());
  ctl->tail.store(4096 * 3);  // more than a ring ahead of head
  EXPECT_EQ(SpscConsumer::open(n.location(), OpenMode::open).error(), errc::corrupted);
  EXPECT_EQ(SpscProducer::open(n.location(), OpenMode::open).error(), errc::corrupted);
  ctl->tail.store(12);  // not a record boundary
  EXPECT_EQ(SpscConsumer::open(n.location(), OpenMode::open).error(), errc::corrupted);
  ctl->tail.store(0);
  EXPECT_TRUE(SpscConsumer::open(n.location(), OpenMode::open)) << "the roles were not kept";
  EXPECT_TRUE(SpscProducer::open(n.location(), OpenMode::open));
}

TEST(SpscRing, GarbageAfterTheEndMarkerIsCorruptedForANewProducer) {
  ScopedName n;
  auto seg = Segment::open(n.location(), OpenMode::create, {RingKind::spsc, 4096});
  ASSERT_TRUE(seg);
  detail::header_at(seg->data(), 0).store(detail::make_header(8, 0x12345678));
  EXPECT_EQ(SpscProducer::open(n.location(), OpenMode::open).error(), errc::corrupted);
}

TEST(SpscRing, FileBackedRingKeepsMessagesAcrossHandles) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("ringdrop-spsc-" + std::to_string(::getpid()) + ".ring");
  const auto where = Location::file(path);
  {
    auto tx = SpscProducer::open(where, OpenMode::create);
    ASSERT_TRUE(tx) << last_error_detail();
    ASSERT_FALSE(tx->send(bytes_of("survives"), 1s));
  }
  {
    auto rx = SpscConsumer::open(where, OpenMode::open);
    ASSERT_TRUE(rx);
    EXPECT_EQ(text(*rx->receive(1s)), "survives");
  }
  EXPECT_FALSE(Segment::remove(where));
}

TEST(SpscRing, MovedFromHandlesAreHarmless) {
  ScopedName n;
  auto [tx, rx] = make_pair(n);
  SpscProducer tx2 = std::move(tx);
  SpscConsumer rx2 = std::move(rx);
  tx2 = std::move(tx2);
  ASSERT_FALSE(tx2.send(bytes_of("m"), 1s));
  EXPECT_EQ(text(*rx2.receive(1s)), "m");
}

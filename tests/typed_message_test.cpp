// Typed messages: built in ring memory, read in place, validated; malformed
// input is bad_message and the ring moves on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/spsc_ring.hpp"
#include "ringdrop/typed_ring.hpp"
#include "rpc_test.capnp.h"
#include "drop_support.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace ringdrop::test;
using namespace std::chrono_literals;

namespace {

std::string text(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

// A ring pair over one shm name.
struct Spsc {
  ScopedName name;
  SpscProducer tx = SpscProducer::open(name.location(), OpenMode::create, quick_options(64 * 1024)).value();
  SpscConsumer rx = SpscConsumer::open(name.location(), OpenMode::open, quick_options()).value();
};

struct Mpmc {
  ScopedName name;
  MpmcProducer tx = MpmcProducer::open(name.location(), OpenMode::create, quick_mpmc(16 * 1024, 1024)).value();
  MpmcConsumer rx = MpmcConsumer::open(name.location(), OpenMode::open, quick_mpmc()).value();
};

std::error_code send_echo(auto& ring, uint64_t seq, std::string_view body, SenderState* state = nullptr) {
  return send_message<rdtest::Echo>(ring, deadline_after(1s), [&](rdtest::Echo::Builder e) {
    e.setSeq(seq);
    e.setText(capnp::Text::Reader(body.data(), body.size()));
  }, {}, state);
}

}  // namespace

TEST(TypedMessage, BuiltInPlaceAndReadInPlace) {
  Spsc r;
  SenderState state;
  const std::pair<std::string_view, std::string_view> headers[] = {{"tenant", "acme"}};
  MessageOptions o;
  o.headers = headers;
  o.schema_version = 3;
  o.deadline = deadline_after(1h);
  ASSERT_FALSE(send_message<rdtest::Echo>(r.tx, deadline_after(1s), [](rdtest::Echo::Builder e) {
    e.setSeq(7);
    e.setText("hello");
  }, o, &state));
  EXPECT_EQ(state.in_place, 1u);
  EXPECT_EQ(state.copied, 0u);

  auto view = r.rx.read(1s).value();
  auto msg = IncomingMessage::open(view).value();
  EXPECT_EQ(msg.bytes().data(), view.data()) << "read where it lies";
  ASSERT_TRUE(msg.is<rdtest::Echo>());
  auto echo = msg.payload<rdtest::Echo>().value();
  EXPECT_EQ(echo.getSeq(), 7u);
  EXPECT_EQ(text(echo.getText()), "hello");
  EXPECT_EQ(msg.header("tenant"), "acme");
  EXPECT_EQ(msg.header("missing"), "");
  EXPECT_EQ(msg.envelope().getSchemaVersion(), 3u);
  EXPECT_EQ(msg.envelope().getAttempt(), 1u);
  EXPECT_NE(msg.id(), 0u);
  EXPECT_EQ(msg.deadline(), from_envelope_time(to_envelope_time(o.deadline)));
  EXPECT_GT(msg.envelope().getSentAtNs(), 0);
  r.rx.release();
}

TEST(TypedMessage, WrongTypeIsBadMessage) {
  Spsc r;
  ASSERT_FALSE(send_echo(r.tx, 1, "x"));
  auto msg = IncomingMessage::open(r.rx.read(1s).value()).value();
  auto other = msg.payload<rdtest::Stranger>();
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), errc::bad_message);
  EXPECT_NE(last_error_detail().find("carries type"), std::string::npos) << last_error_detail();
}

TEST(TypedMessage, AMessageLargerThanTheEstimateIsCopiedOnceAndTheEstimateGrows) {
  Spsc r;
  SenderState state;
  const std::string big(5000, 'b');  // more than the first 256-byte estimate
  ASSERT_FALSE(send_echo(r.tx, 1, big, &state));
  EXPECT_EQ(state.copied, 1u);
  ASSERT_FALSE(send_echo(r.tx, 2, big, &state));
  EXPECT_EQ(state.in_place, 1u) << "the second one fits the grown estimate";
  for (uint64_t seq : {1, 2}) {
    auto msg = IncomingMessage::open(r.rx.read(1s).value()).value();
    auto echo = msg.payload<rdtest::Echo>().value();
    EXPECT_EQ(echo.getSeq(), seq);
    EXPECT_EQ(text(echo.getText()), big);
    r.rx.release();
  }
}

TEST(TypedMessage, HeapMessageIsCopiedOnceIntoAnyRing) {
  Mpmc r;
  HeapMessage m;
  auto e = m.init<rdtest::Echo>();
  e.setSeq(9);
  e.setText("from the heap");
  const size_t size = m.size();
  ASSERT_FALSE(send_heap(r.tx, m, deadline_after(1s)));
  auto view = r.rx.read(1s).value();
  EXPECT_EQ(view.size(), size);
  auto echo = IncomingMessage::open(view).value().payload<rdtest::Echo>().value();
  EXPECT_EQ(echo.getSeq(), 9u);
  EXPECT_EQ(text(echo.getText()), "from the heap");
}

TEST(TypedMessage, TooLargeForACellIsRefusedAndTheRingStaysUsable) {
  Mpmc r;  // 1 KiB cells
  auto ec = send_echo(r.tx, 1, std::string(2000, 'x'));
  EXPECT_EQ(ec, errc::message_too_large);
  ASSERT_FALSE(send_echo(r.tx, 2, "small"));
  TypedReceiver rx(std::move(r.rx));
  auto msg = rx.receive(deadline_after(1s));
  ASSERT_TRUE(msg) << msg.error().message();
  EXPECT_EQ((*msg)->payload<rdtest::Echo>().value().getSeq(), 2u);
  EXPECT_EQ(rx.stats().cancelled, 1u) << "the refused message left an empty record, skipped";
}

TEST(TypedMessage, AnExceptionFromFillPropagatesAndTheReceiverSkipsTheCancelledRecord) {
  Spsc r;
  EXPECT_THROW((void)send_message<rdtest::Echo>(r.tx, deadline_after(1s),
                                                [](rdtest::Echo::Builder) { throw std::runtime_error("no"); }),
               std::runtime_error);
  ASSERT_FALSE(send_echo(r.tx, 5, "after"));
  TypedReceiver rx(std::move(r.rx));
  auto msg = rx.receive(deadline_after(1s));
  ASSERT_TRUE(msg);
  EXPECT_EQ((*msg)->payload<rdtest::Echo>().value().getSeq(), 5u);
  EXPECT_EQ(rx.stats().cancelled, 1u);
}

// Malformed input of every kind: bad_message, and the next message still comes.
TEST(TypedMessage, MalformedRecordsAreBadMessageAndTheRingMovesOn) {
  Spsc r;
  // A valid message, to cut short.
  HeapMessage m;
  m.init<rdtest::Echo>().setText("a text long enough to be cut");
  std::vector<std::byte> flat(m.size());
  detail::write_flat(m.builder().getSegmentsForOutput(), flat);

  std::vector<std::vector<std::byte>> bad;
  bad.emplace_back(flat.begin(), flat.end() - 16);                 // truncated
  bad.emplace_back(flat.begin(), flat.begin() + 12);               // not whole words
  bad.emplace_back(64, std::byte{0xff});                           // garbage table
  auto wild = flat;                                                // root pointer far out of bounds
  ASSERT_GE(wild.size(), 16u);
  for (size_t i = 8; i < 16; ++i) wild[i] = std::byte{0};
  wild[8] = std::byte{0xfc};
  wild[9] = std::byte{0xff};
  wild[10] = std::byte{0xff};
  wild[11] = std::byte{0x7f};
  wild[12] = std::byte{1};
  bad.push_back(wild);
  for (auto& b : bad) ASSERT_FALSE(r.tx.send(b, 1s));
  ASSERT_FALSE(send_echo(r.tx, 42, "good"));

  TypedReceiver rx(std::move(r.rx));
  for (size_t i = 0; i < bad.size(); ++i) {
    auto msg = rx.receive(deadline_after(1s));
    ASSERT_FALSE(msg) << "bad record " << i;
    EXPECT_EQ(msg.error(), errc::bad_message) << "bad record " << i << ": " << msg.error().message();
  }
  auto good = rx.receive(deadline_after(1s));
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ((*good)->payload<rdtest::Echo>().value().getSeq(), 42u);
  EXPECT_EQ(rx.stats().malformed, bad.size());
}

TEST(TypedMessage, NestingBeyondTheLimitIsBadMessage) {
  HeapMessage m;
  auto node = m.init<rdtest::Node>();
  for (int depth = 0; depth < 40; ++depth) node = node.initChild();
  std::vector<capnp::word> flat(m.size() / 8);
  detail::write_flat(m.builder().getSegmentsForOutput(), std::as_writable_bytes(std::span(flat)));
  auto msg = IncomingMessage::open(std::as_bytes(std::span(flat)));
  ASSERT_FALSE(msg);
  EXPECT_EQ(msg.error(), errc::bad_message);

  HeapMessage shallow;
  auto n2 = shallow.init<rdtest::Node>();
  for (int depth = 0; depth < 20; ++depth) n2 = n2.initChild();
  std::vector<capnp::word> flat2(shallow.size() / 8);
  detail::write_flat(shallow.builder().getSegmentsForOutput(), std::as_writable_bytes(std::span(flat2)));
  EXPECT_TRUE(IncomingMessage::open(std::as_bytes(std::span(flat2)))) << "20 levels are fine";
}

TEST(TypedMessage, SubscriberFiltersByType) {
  ScopedName name;
  auto pub = BroadcastPublisher::open(name.location(), OpenMode::create).value();
  TypedReceiver rx(BroadcastSubscriber::open(name.location(), OpenMode::open).value());
  rx.accept<rdtest::Stranger>();
  TypedSender tx(std::move(pub));
  for (uint32_t i = 0; i < 3; ++i) {
    ASSERT_FALSE(tx.send<rdtest::Echo>([&](rdtest::Echo::Builder e) { e.setSeq(i); }, deadline_after(1s)));
    ASSERT_FALSE(tx.send<rdtest::Stranger>([&](rdtest::Stranger::Builder s) { s.setX(i); }, deadline_after(1s)));
  }
  for (uint32_t i = 0; i < 3; ++i) {
    auto msg = rx.receive(deadline_after(1s));
    ASSERT_TRUE(msg) << msg.error().message();
    EXPECT_EQ((*msg)->payload<rdtest::Stranger>().value().getX(), i);
  }
  EXPECT_EQ(rx.stats().filtered, 3u);
  EXPECT_EQ(rx.receive(deadline_after(0ms)).error(), errc::timed_out);
}

TEST(TypedMessage, MessageIdsAreUniqueAndDifferInAForkedChild) {
  const uint64_t a = next_message_id(), b = next_message_id();
  EXPECT_NE(a, b);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const int code = in_child([&] {
    const uint64_t id = next_message_id();
    return ::write(fds[1], &id, sizeof id) == sizeof id ? 0 : 1;
  });
  ASSERT_EQ(code, 0);
  uint64_t child = 0;
  ASSERT_EQ(::read(fds[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_NE(child, b + 1) << "the child drew its own base";
}

TEST(TypedMessage, MessageIdsFromManyThreadsNeverRepeat) {
  // Each thread takes ids a block at a time; 3 000 each crosses blocks.
  constexpr int kThreads = 4, kEach = 3000;
  std::vector<std::vector<uint64_t>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&drawn, t] {
      for (int i = 0; i < kEach; ++i) drawn[t].push_back(next_message_id());
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> all;
  for (const auto& ids : drawn) {
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()) || ids.front() > ids.back())
        << "increasing within a thread (or wrapped past 2^64 once)";
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), size_t{kThreads} * kEach);
  EXPECT_EQ(all.count(0), 0u);
}

TEST(TypedMessage, AnEnvelopeTextWithoutItsNulIsBadMessageAtOpen) {
  HeapMessage m;
  MessageOptions o;
  o.reply_to = "shm:zzzz";
  m.init<rdtest::Echo>(o);
  std::vector<capnp::word> flat(m.size() / 8);
  auto bytes = std::as_writable_bytes(std::span(flat));
  detail::write_flat(m.builder().getSegmentsForOutput(), bytes);
  ASSERT_TRUE(IncomingMessage::open(bytes));
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const auto at = text.find("shm:zzzz");
  ASSERT_NE(at, std::string_view::npos);
  bytes[at + 8] = std::byte{'!'};  // the NUL that ends the Text
  auto msg = IncomingMessage::open(bytes);
  ASSERT_FALSE(msg) << "caught by open(), not by a later reader";
  EXPECT_EQ(msg.error(), errc::bad_message);
}

TEST(TypedMessage, AMovedReceiverHoldingAMessageReleasesItOnce) {
  ScopedName name;
  TypedSender tx(BroadcastPublisher::open(name.location(), OpenMode::create).value());
  TypedReceiver rx(BroadcastSubscriber::open(name.location(), OpenMode::open).value());
  for (uint64_t seq : {1, 2}) {
    ASSERT_FALSE(tx.send<rdtest::Echo>([&](rdtest::Echo::Builder e) { e.setSeq(seq); }, deadline_after(1s)));
  }
  ASSERT_TRUE(rx.receive(deadline_after(1s)));
  TypedReceiver moved(std::move(rx));  // rx's destructor must not release through a moved-from ring
  auto next = moved.receive(deadline_after(1s));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ((*next)->payload<rdtest::Echo>().value().getSeq(), 2u);
}

// Two pointers to one object: the message reads as more than it holds (the
// amplification attack the reader's budget exists for); refused at open.
TEST(TypedMessage, OverlappingPointersAreBadMessage) {
  constexpr uint64_t kMarker = 0x1122334455667788;
  HeapMessage m;
  auto e = m.init<rdtest::Echo>();
  e.setSeq(kMarker);
  e.setText(std::string(800, 't'));
  std::vector<capnp::word> flat(m.size() / 8);
  auto bytes = std::as_writable_bytes(std::span(flat));
  detail::write_flat(m.builder().getSegmentsForOutput(), bytes);
  ASSERT_TRUE(IncomingMessage::open(bytes));
  // Echo's data section is `seq`; its pointers follow: text, then data.
  auto* words = reinterpret_cast<uint64_t*>(flat.data());
  size_t at = 0;
  while (at < flat.size() && words[at] != kMarker) ++at;
  ASSERT_LT(at + 2, flat.size());
  const uint64_t text = words[at + 1];
  ASSERT_EQ(text & 3, 1u) << "a list pointer";
  words[at + 2] = text - (1u << 2);  // `data` now points at the text too (offsets count from the pointer)
  auto msg = IncomingMessage::open(bytes);
  ASSERT_FALSE(msg);
  EXPECT_EQ(msg.error(), errc::bad_message);
  EXPECT_NE(last_error_detail().find("overlap"), std::string::npos) << last_error_detail();
}

// open() makes its reader in the block its thread freed last (no malloc per
// message): a message opened on one thread and dropped on another, after
// the first has ended, is still freed once, and each thread's block too.
TEST(TypedMessage, AMessageOpenedOnOneThreadCanBeDroppedOnAnother) {
  HeapMessage m;
  m.init<rdtest::Echo>().setSeq(7);
  std::vector<capnp::word> flat(m.size() / 8);
  detail::write_flat(m.builder().getSegmentsForOutput(), std::as_writable_bytes(std::span(flat)));
  const auto bytes = std::as_bytes(std::span(flat));
  std::vector<IncomingMessage> opened;
  std::thread([&] {
    for (int i = 0; i < 100; ++i) opened.push_back(IncomingMessage::open(bytes).value());
    opened.erase(opened.begin() + 50, opened.end());  // this thread keeps one block
  }).join();
  std::thread([&] {
    for (auto& msg : opened) EXPECT_EQ(msg.payload<rdtest::Echo>().value().getSeq(), 7u);
    opened.clear();
    auto again = IncomingMessage::open(bytes);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->payload<rdtest::Echo>().value().getSeq(), 7u);
  }).join();
  auto here = IncomingMessage::open(bytes);
  ASSERT_TRUE(here);
  EXPECT_EQ(here->payload<rdtest::Echo>().value().getSeq(), 7u);
}

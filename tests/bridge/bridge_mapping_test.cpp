// The bridge's mapping between ringdrop messages and AMQP messages
// (tools/bridge/envelope_mapping.hpp, the table in lib/schemas/envelope.capnp)
// and its configuration (tools/bridge/bridge_config.hpp). No broker: the
// mapping works on WireMessage, the neutral form, and clocks are passed in,
// so nothing here sleeps or depends on timing.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bridge_config.hpp"
#include "envelope_mapping.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/message.hpp"
#include "rpc_test.capnp.h"
#include "wire_message.hpp"

namespace ringdrop::bridge {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kSentNs = 1'700'000'000 * kSecond + 123'456'789;  // CLOCK_REALTIME at the sender
constexpr int64_t kMonoA = 5'000 * kSecond;                         // CLOCK_MONOTONIC at bridge A
constexpr int64_t kMonoB = 90'000 * kSecond;                        // ... at bridge B, another host

std::string text(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

std::vector<std::byte> flat(capnp::MessageBuilder& b) {
  auto words = capnp::messageToFlatArray(b);
  auto bytes = words.asBytes();
  return {reinterpret_cast<const std::byte*>(bytes.begin()), reinterpret_cast<const std::byte*>(bytes.end())};
}

std::vector<std::byte> bytes_of(const std::vector<uint64_t>& words) {
  std::vector<std::byte> b(words.size() * 8);
  std::memcpy(b.data(), words.data(), b.size());
  return b;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), reinterpret_cast<const std::byte*>(s.data() + s.size())};
}

size_t count(const WireMessage& w, std::string_view key) {
  return static_cast<size_t>(std::count_if(w.headers.begin(), w.headers.end(), [&](auto& kv) { return kv.first == key; }));
}

std::string value(const WireMessage& w, std::string_view key) {
  const std::string* v = w.header(key);
  return v ? *v : "<absent>";
}

std::string type_text(uint64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(id));
  return buf;
}

OutboundContext context(std::string origin, std::string source, int64_t mono) {
  OutboundContext c;
  c.origin = std::move(origin);
  c.source = std::move(source);
  c.now_mono_ns = mono;
  c.now_real_ns = 1'800'000'000 * kSecond + 42;
  c.fresh_id = "fresh-1";
  return c;
}

// Cap'n Proto pointers, for hand-made (malicious) bodies.
uint64_t struct_ptr(int32_t offset, uint16_t data_words, uint16_t pointers) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(offset) << 2)) | (uint64_t{data_words} << 32) |
         (uint64_t{pointers} << 48);
}
uint64_t list_ptr(int32_t offset, unsigned element_size, uint32_t elements) {
  return 1 | (static_cast<uint64_t>(static_cast<uint32_t>(offset) << 2)) | (uint64_t{element_size} << 32) |
         (uint64_t{elements} << 35);
}
// A one-segment message: its segment table, then `segment`.
std::vector<std::byte> message_of(std::vector<uint64_t> segment) {
  segment.insert(segment.begin(), uint64_t{segment.size()} << 32);
  return bytes_of(segment);
}

// A wire message that is otherwise valid, around `body`.
WireMessage wire_with_body(std::vector<std::byte> body) {
  WireMessage w;
  w.content_type = kTypedContentType;
  w.message_id = "7";
  w.type = type_text(capnp::typeId<rdtest::Echo>());
  w.body = std::move(body);
  return w;
}

// A typed message with every envelope field set.
struct FullMessage {
  static constexpr uint64_t kId = 0x1234'5678'9abc'def0;
  static constexpr uint64_t kCorrelation = 0xfedc'ba98'7654'3210;
  static constexpr int64_t kDeadline = kMonoA + 1'500 * kMs + 1;  // 1500.000001 ms left at A

  std::vector<std::byte> bytes;

  FullMessage() {
    HeapMessage m;
    const std::pair<std::string_view, std::string_view> headers[] = {{"tenant", "acme"}, {"trace", "t-1/2"}};
    MessageOptions o;
    o.kind = MessageKind::REQUEST;
    o.message_id = kId;
    o.correlation_id = kCorrelation;
    o.reply_to = "shm:replies";
    o.deadline = from_envelope_time(kDeadline);
    o.attempt = 3;
    o.schema_version = 7;
    o.idempotent = true;
    o.headers = headers;
    auto echo = m.init<rdtest::Echo>(o);
    echo.setSeq(99);
    echo.setText("hello, broker");
    const uint8_t data[] = {0, 1, 2, 0xff};
    echo.setData(capnp::Data::Reader(data, sizeof data));
    m.envelope().setSentAtNs(kSentNs);
    auto error = m.envelope().initError();
    error.setCode(-17);
    error.setMessage("it broke");
    bytes = flat(m.builder());
  }
};

void expect_echo_payload(const IncomingMessage& in) {
  auto echo = in.payload<rdtest::Echo>();
  ASSERT_TRUE(echo) << last_error_detail();
  EXPECT_EQ(echo->getSeq(), 99u);
  EXPECT_EQ(text(echo->getText()), "hello, broker");
  auto data = echo->getData();
  ASSERT_EQ(data.size(), 4u);
  EXPECT_EQ(data[0], 0u);
  EXPECT_EQ(data[3], 0xffu);
}

// ------------------------------------------------------------ typed messages

TEST(BridgeMapping, TypedRoundTripKeepsEveryField) {
  FullMessage original;
  ASSERT_TRUE(IncomingMessage::open(original.bytes));

  const OutboundContext a = context("bridge-a", "shm:orders", kMonoA);
  auto w = typed_to_wire(original.bytes, a);
  ASSERT_TRUE(w) << last_error_detail();

  // The properties, as envelope.capnp's table says.
  EXPECT_EQ(w->content_type, kTypedContentType);
  EXPECT_EQ(w->message_id, std::to_string(FullMessage::kId));
  EXPECT_EQ(w->message_id, "1311768467463790320");
  EXPECT_EQ(w->correlation_id, "18364758544493064720");
  EXPECT_EQ(w->reply_to, "shm:replies");
  EXPECT_EQ(w->type, type_text(capnp::typeId<rdtest::Echo>()));
  ASSERT_EQ(w->type.size(), 18u);
  EXPECT_TRUE(w->type.starts_with("0x"));
  EXPECT_TRUE(std::all_of(w->type.begin() + 2, w->type.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  })) << w->type;
  ASSERT_TRUE(w->timestamp_s.has_value());
  EXPECT_EQ(*w->timestamp_s, 1'700'000'000u);
  EXPECT_EQ(w->expiration, "1501") << "1500.000001 ms left, rounded up";
  EXPECT_TRUE(w->persistent);

  EXPECT_EQ(value(*w, wire_header::schema_version), "7");
  EXPECT_EQ(value(*w, wire_header::attempt), "3");
  EXPECT_EQ(value(*w, wire_header::kind), "request");
  EXPECT_EQ(value(*w, wire_header::idempotent), "true");
  EXPECT_EQ(value(*w, wire_header::error_code), "-17");
  EXPECT_EQ(value(*w, wire_header::error_message), "it broke");
  EXPECT_EQ(value(*w, wire_header::sent_at_ns), std::to_string(kSentNs));
  EXPECT_EQ(value(*w, wire_header::origin), "bridge-a");
  EXPECT_EQ(value(*w, wire_header::hops), "1");
  EXPECT_EQ(value(*w, wire_header::source), "shm:orders");
  EXPECT_EQ(value(*w, "tenant"), "acme");
  EXPECT_EQ(value(*w, "trace"), "t-1/2");
  for (const auto& [k, v] : w->headers) EXPECT_EQ(count(*w, k), 1u) << "header " << k << " twice";
  EXPECT_EQ(w->headers.size(), 12u);
  EXPECT_EQ(hops_of(*w), 1u);
  EXPECT_EQ(dedupe_id(*w), w->message_id + "#3");  // a request's third try (reply_routes_test.cpp)

  // The body is the payload as a Cap'n Proto message of its own: a consumer
  // outside ringdrop reads it with its own Cap'n Proto.
  {
    ASSERT_EQ(w->body.size() % 8, 0u);
    auto words = kj::heapArray<capnp::word>(w->body.size() / 8);
    std::memcpy(words.begin(), w->body.data(), w->body.size());
    capnp::FlatArrayMessageReader reader(words);
    auto echo = reader.getRoot<rdtest::Echo>();
    EXPECT_EQ(echo.getSeq(), 99u);
    EXPECT_EQ(text(echo.getText()), "hello, broker");
  }

  // Back, on another host whose monotonic clock has nothing to do with A's.
  auto back = wire_to_typed(*w, kMonoB);
  ASSERT_TRUE(back) << last_error_detail();
  auto in = IncomingMessage::open(*back);
  ASSERT_TRUE(in) << last_error_detail();
  auto env = in->envelope();
  EXPECT_EQ(env.getMessageId(), FullMessage::kId);
  EXPECT_EQ(env.getCorrelationId(), FullMessage::kCorrelation);
  EXPECT_EQ(text(env.getReplyTo()), "shm:replies");
  EXPECT_EQ(env.getTypeId(), capnp::typeId<rdtest::Echo>());
  EXPECT_TRUE(in->is<rdtest::Echo>());
  EXPECT_EQ(env.getSchemaVersion(), 7u);
  EXPECT_EQ(env.getSentAtNs(), kSentNs) << "the exact ns, from x-ringdrop-sent-at-ns";
  EXPECT_EQ(env.getDeadlineNs(), kMonoB + 1'501 * kMs) << "B's now + the expiration";
  EXPECT_EQ(in->deadline(), from_envelope_time(kMonoB + 1'501 * kMs));
  EXPECT_EQ(env.getAttempt(), 3u);
  EXPECT_EQ(env.getKind(), MessageKind::REQUEST);
  EXPECT_TRUE(env.getIdempotent());
  ASSERT_TRUE(env.hasError());
  EXPECT_EQ(env.getError().getCode(), -17);
  EXPECT_EQ(text(env.getError().getMessage()), "it broke");
  EXPECT_EQ(in->header("tenant"), "acme");
  EXPECT_EQ(in->header("trace"), "t-1/2");
  EXPECT_EQ(in->header(wire_header::origin), "bridge-a");
  EXPECT_EQ(in->header(wire_header::hops), "1");
  for (auto h : env.getHeaders()) {
    const std::string key = text(h.getKey());
    EXPECT_NE(key, wire_header::schema_version);
    EXPECT_NE(key, wire_header::attempt);
    EXPECT_NE(key, wire_header::kind);
    EXPECT_NE(key, wire_header::idempotent);
    EXPECT_NE(key, wire_header::error_code);
    EXPECT_NE(key, wire_header::error_message);
    EXPECT_NE(key, wire_header::sent_at_ns);
  }
  expect_echo_payload(*in);

  // A second hop, through bridge C: the first origin stays, one more hop,
  // and the deadline counted again from C's clock.
  const OutboundContext c = context("bridge-c", "shm:elsewhere", kMonoB + 500 * kMs);
  auto w2 = typed_to_wire(*back, c);
  ASSERT_TRUE(w2) << last_error_detail();
  EXPECT_EQ(value(*w2, wire_header::origin), "bridge-a");
  EXPECT_EQ(value(*w2, wire_header::hops), "2");
  EXPECT_EQ(hops_of(*w2), 2u);
  EXPECT_EQ(count(*w2, wire_header::source), 1u);
  EXPECT_EQ(w2->expiration, "1001");
  EXPECT_EQ(w2->message_id, w->message_id);
  EXPECT_EQ(w2->correlation_id, w->correlation_id);
  EXPECT_EQ(w2->type, w->type);
  EXPECT_EQ(w2->timestamp_s, w->timestamp_s);
  EXPECT_EQ(value(*w2, wire_header::sent_at_ns), std::to_string(kSentNs));
  EXPECT_EQ(value(*w2, "tenant"), "acme");
  for (const auto& [k, v] : w2->headers) EXPECT_EQ(count(*w2, k), 1u) << "header " << k << " twice";
  EXPECT_EQ(w2->body, w->body);
}

TEST(BridgeMapping, TypedWithoutOptionalFieldsHasEmptyProperties) {
  HeapMessage m;
  m.init<rdtest::Echo>().setSeq(5);
  const auto bytes = flat(m.builder());
  auto w = typed_to_wire(bytes, context("bridge-a", "shm:orders", kMonoA));
  ASSERT_TRUE(w) << last_error_detail();
  EXPECT_EQ(w->correlation_id, "");
  EXPECT_EQ(w->expiration, "");
  EXPECT_EQ(w->reply_to, "");
  EXPECT_FALSE(w->message_id.empty());
  EXPECT_EQ(value(*w, wire_header::kind), "notification");
  EXPECT_EQ(w->header(wire_header::idempotent), nullptr);
  EXPECT_EQ(w->header(wire_header::error_code), nullptr);
  EXPECT_EQ(w->header(wire_header::error_message), nullptr);

  auto back = wire_to_typed(*w, kMonoB);
  ASSERT_TRUE(back) << last_error_detail();
  auto in = IncomingMessage::open(*back);
  ASSERT_TRUE(in) << last_error_detail();
  EXPECT_EQ(in->envelope().getCorrelationId(), 0u);
  EXPECT_EQ(in->envelope().getDeadlineNs(), 0);
  EXPECT_EQ(in->deadline(), Deadline::max());
  EXPECT_EQ(text(in->envelope().getReplyTo()), "");
  EXPECT_FALSE(in->envelope().getIdempotent());
  EXPECT_FALSE(in->envelope().hasError());
  EXPECT_EQ(in->envelope().getAttempt(), 1u);
  EXPECT_EQ(in->payload<rdtest::Echo>().value().getSeq(), 5u);
}

TEST(BridgeMapping, ExpiredDeadlineIsNotBridged) {
  for (int64_t left : {int64_t{0}, int64_t{-1}, -10 * kSecond}) {
    HeapMessage m;
    MessageOptions o;
    o.deadline = from_envelope_time(kMonoA + left);
    m.init<rdtest::Echo>(o);
    const auto bytes = flat(m.builder());
    auto w = typed_to_wire(bytes, context("bridge-a", "shm:orders", kMonoA));
    ASSERT_FALSE(w) << "left " << left;
    EXPECT_EQ(w.error(), errc::deadline_exceeded);
  }
  // 1 ns left: still on its way, an expiration of 1 ms (never "0").
  HeapMessage m;
  MessageOptions o;
  o.deadline = from_envelope_time(kMonoA + 1);
  m.init<rdtest::Echo>(o);
  const auto bytes = flat(m.builder());
  auto w = typed_to_wire(bytes, context("bridge-a", "shm:orders", kMonoA));
  ASSERT_TRUE(w) << last_error_detail();
  EXPECT_EQ(w->expiration, "1");
}

TEST(BridgeMapping, MalformedTypedBytesAreBadMessage) {
  const auto ctx = context("bridge-a", "shm:orders", kMonoA);
  auto refuse = [&](std::span<const std::byte> bytes, const std::string& what) {
    auto w = typed_to_wire(bytes, ctx);
    ASSERT_FALSE(w) << what;
    EXPECT_EQ(w.error(), errc::bad_message) << what;
    EXPECT_FALSE(last_error_detail().empty()) << what;
  };
  refuse({}, "empty");
  FullMessage full;
  for (size_t cut : {size_t{8}, size_t{16}, full.bytes.size() / 2, full.bytes.size() - 8, full.bytes.size() - 1}) {
    refuse(std::span(full.bytes).first(cut), "truncated to " + std::to_string(cut));
  }
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint64_t> words(1 + rng() % 32);
    for (auto& x : words) x = rng();
    auto bytes = bytes_of(words);
    if (i % 3 == 0) bytes.resize(bytes.size() - 1 - rng() % 7);  // not whole words
    refuse(bytes, "random #" + std::to_string(i));
  }
}

// -------------------------------------------------- wire_to_typed refusals

void expect_refused(const WireMessage& w, const std::string& what) {
  auto t = wire_to_typed(w, kMonoB);
  ASSERT_FALSE(t) << what;
  EXPECT_EQ(t.error(), errc::bad_message) << what;
  EXPECT_FALSE(last_error_detail().empty()) << what;
}

TEST(BridgeMapping, WireToTypedRefusesBadProperties) {
  FullMessage full;
  auto good = typed_to_wire(full.bytes, context("bridge-a", "shm:orders", kMonoA)).value();
  ASSERT_TRUE(wire_to_typed(good, kMonoB)) << last_error_detail();

  for (size_t size : {size_t{0}, size_t{1}, size_t{7}, size_t{13}, good.body.size() - 4, good.body.size() + 1}) {
    WireMessage w = good;
    w.body.resize(size);
    expect_refused(w, "body of " + std::to_string(size) + " bytes");
  }
  for (const char* id : {"", "abc", "12abc", "-1", " 12", "0x10", "99999999999999999999999"}) {
    WireMessage w = good;
    w.message_id = id;
    expect_refused(w, std::string("message-id '") + id + "'");
  }
  for (const char* type : {"", "0x", "zz", "0xzz", "0x12 ", "-0x1", "0x1234567890abcdef0"}) {
    WireMessage w = good;
    w.type = type;
    expect_refused(w, std::string("type '") + type + "'");
  }
  {
    WireMessage w = good;
    w.correlation_id = "c-7";
    expect_refused(w, "correlation-id 'c-7'");
  }
  {
    WireMessage w = good;
    w.expiration = "soon";
    expect_refused(w, "expiration 'soon'");
  }
}

TEST(BridgeMapping, WireToTypedRefusesRandomBodies) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 400; ++i) {
    std::vector<uint64_t> words(1 + rng() % 64);
    for (auto& x : words) x = rng();
    expect_refused(wire_with_body(bytes_of(words)), "random body #" + std::to_string(i));
  }
}

// Random words behind a valid segment table and root pointer, so the reader
// itself meets them: refused, or rebuilt into a message that opens.
TEST(BridgeMapping, WireToTypedRandomStructsNeverYieldUnreadableMessages) {
  std::mt19937_64 rng(7);
  int accepted = 0;
  for (int i = 0; i < 400; ++i) {
    const uint16_t data = static_cast<uint16_t>(rng() % 4);
    const uint16_t pointers = static_cast<uint16_t>(rng() % 4);
    std::vector<uint64_t> segment{struct_ptr(0, data, pointers)};
    const unsigned words = data + pointers + static_cast<unsigned>(rng() % 8);
    for (unsigned j = 0; j < words; ++j) {
      // Pointers: mostly random, sometimes null, sometimes a small in-bounds list.
      const uint64_t r = rng();
      segment.push_back(r % 5 == 0 ? 0 : r % 5 == 1 ? list_ptr(static_cast<int32_t>(rng() % 3), 2, rng() % 16) : r);
    }
    auto t = wire_to_typed(wire_with_body(message_of(segment)), kMonoB);
    if (!t) {
      EXPECT_EQ(t.error(), errc::bad_message) << "#" << i;
      continue;
    }
    ++accepted;
    auto in = IncomingMessage::open(*t);
    EXPECT_TRUE(in) << "#" << i << ": wire_to_typed rebuilt a message that does not open: " << last_error_detail();
  }
  EXPECT_GT(accepted, 0) << "some of them are valid structs";
}

TEST(BridgeMapping, WireToTypedRefusesMaliciousBodies) {
  constexpr uint32_t kMaxElements = (1u << 29) - 1;
  // A root list of 2^29 eight-byte elements in a one-word segment.
  expect_refused(wire_with_body(message_of({list_ptr(0, 5, kMaxElements)})), "huge root list");
  // A struct whose pointer is such a list.
  expect_refused(wire_with_body(message_of({struct_ptr(0, 0, 1), list_ptr(0, 5, kMaxElements)})),
                 "struct with a huge list");
  // ... a huge composite list (its tag claims 2^29 structs of 8 words).
  expect_refused(wire_with_body(message_of({struct_ptr(0, 0, 1), list_ptr(0, 7, 8),
                                            (uint64_t{kMaxElements} << 2) | (uint64_t{8} << 32)})),
                 "huge composite list");
  // A pointer far out of the segment, backwards.
  expect_refused(wire_with_body(message_of({struct_ptr(-1000, 1, 0)})), "negative offset");
  // A segment table claiming more words than the body has.
  expect_refused(wire_with_body(bytes_of({uint64_t{1000} << 32, struct_ptr(0, 0, 0)})), "short segment");
  // A table claiming 2^32 segments.
  expect_refused(wire_with_body(bytes_of({0xffff'ffffu, 0})), "segment count");
  // A List(Void) of 2^29 elements: no words, 2^29 steps to copy.
  expect_refused(wire_with_body(message_of({struct_ptr(0, 0, 1), list_ptr(0, 0, kMaxElements)})),
                 "huge void list");
  // ... and one that fits the traversal budget but not ringdrop's rule on
  // elements that take no space: the rebuilt message would not open.
  expect_refused(wire_with_body(message_of({struct_ptr(0, 0, 1), list_ptr(0, 0, 60'000)})), "void list");
  // A capability pointer: nothing to resolve it with between processes.
  expect_refused(wire_with_body(message_of({3})), "capability root");
  // A payload that is not a struct (a root list of bytes).
  expect_refused(wire_with_body(message_of({list_ptr(0, 2, 8), 0x0102030405060708})), "list payload");
  // Aliasing: eight pointers to one 64-word list, so 73 words read as 520.
  {
    std::vector<uint64_t> seg{struct_ptr(0, 0, 8)};
    for (int p = 0; p < 8; ++p) seg.push_back(list_ptr(7 - p, 5, 64));
    for (int k = 0; k < 64; ++k) seg.push_back(static_cast<uint64_t>(k));
    expect_refused(wire_with_body(message_of(seg)), "aliased pointers");
  }
  // Nesting deeper than the limit: Node.child 100 deep.
  {
    std::vector<uint64_t> seg{struct_ptr(0, 1, 1)};
    for (int d = 0; d < 100; ++d) {
      seg.push_back(0);                   // value
      seg.push_back(struct_ptr(0, 1, 1));  // child: the next two words
    }
    seg.push_back(0);
    seg.push_back(0);
    WireMessage w = wire_with_body(message_of(seg));
    w.type = type_text(capnp::typeId<rdtest::Node>());
    expect_refused(w, "nesting");
  }
  // An expiration far beyond int64 nanoseconds: no overflow; a deadline far away.
  {
    FullMessage full;
    auto w = typed_to_wire(full.bytes, context("bridge-a", "shm:orders", kMonoA)).value();
    for (const char* e : {"18446744073709551615", "9223372036854775807", "9223372036854"}) {
      w.expiration = e;
      auto t = wire_to_typed(w, kMonoB);
      ASSERT_TRUE(t) << e << ": " << last_error_detail();
      const int64_t deadline = IncomingMessage::open(*t).value().envelope().getDeadlineNs();
      EXPECT_GT(deadline, kMonoB + 100LL * 365 * 24 * 3600 * kSecond) << "expiration " << e;
    }
  }
}

// ------------------------------------------------------------- raw messages

TEST(BridgeMapping, RawToWire) {
  const auto ctx = context("bridge-a", "drop:/srv/drop/orders", kMonoA);
  const auto body = bytes_of("id,qty\n1,5\n");
  const DropHeaders headers{{"content-type", "text/csv"}, {"correlation-id", "req-9"}, {"tenant", "acme"}};
  const WireMessage w = raw_to_wire(body, headers, "drop-id-1", ctx);
  EXPECT_EQ(w.content_type, "text/csv");
  EXPECT_EQ(w.correlation_id, "req-9");
  EXPECT_EQ(w.message_id, "drop-id-1");
  EXPECT_EQ(w.type, "");
  EXPECT_EQ(w.expiration, "");
  EXPECT_TRUE(w.persistent);
  ASSERT_TRUE(w.timestamp_s.has_value());
  EXPECT_EQ(*w.timestamp_s, static_cast<uint64_t>(ctx.now_real_ns / kSecond));
  EXPECT_EQ(value(w, "tenant"), "acme");
  EXPECT_EQ(w.header("content-type"), nullptr) << "a property, not a header";
  EXPECT_EQ(w.header("correlation-id"), nullptr);
  EXPECT_EQ(value(w, wire_header::origin), "bridge-a");
  EXPECT_EQ(value(w, wire_header::hops), "1");
  EXPECT_EQ(value(w, wire_header::source), "drop:/srv/drop/orders");
  EXPECT_EQ(value(w, wire_header::sent_at_ns), std::to_string(ctx.now_real_ns));
  for (const auto& [k, v] : w.headers) EXPECT_EQ(count(w, k), 1u) << "header " << k << " twice";
  EXPECT_EQ(w.body, body);
  EXPECT_EQ(dedupe_id(w), "drop-id-1");

  // No id of its own: the fresh one; no content type: octet-stream.
  const WireMessage bare = raw_to_wire(body, {}, "", ctx);
  EXPECT_EQ(bare.message_id, "fresh-1");
  EXPECT_EQ(bare.content_type, kRawContentType);
  EXPECT_EQ(bare.correlation_id, "");
  EXPECT_EQ(bare.body, body);
  EXPECT_EQ(raw_to_wire({}, {}, "x", ctx).body.size(), 0u);
}

TEST(BridgeMapping, WireToDropHeaders) {
  WireMessage w;
  w.message_id = "m-1";
  w.content_type = "application/json";
  w.correlation_id = "req-9";
  w.headers = {{"tenant", "acme"}, {std::string(wire_header::origin), "bridge-a"}, {std::string(wire_header::hops), "1"}};
  const DropHeaders h = wire_to_drop_headers(w);
  auto at = [&](std::string_view k) {
    auto it = h.find(k);
    return it == h.end() ? std::string("<absent>") : it->second;
  };
  EXPECT_EQ(at(drop_header::idempotency_key), "m-1");
  EXPECT_EQ(at(drop_header::content_type), "application/json");
  EXPECT_EQ(at(drop_header::correlation_id), "req-9");
  EXPECT_EQ(at("tenant"), "acme");
  EXPECT_EQ(at(wire_header::origin), "bridge-a");
  EXPECT_EQ(at(wire_header::hops), "1");
  EXPECT_EQ(h.size(), 6u);

  // Nothing set: no empty headers.
  const DropHeaders none = wire_to_drop_headers(WireMessage{});
  EXPECT_TRUE(none.empty());
}

// A raw message carried into a drop channel and out again by a second
// bridge: the first origin, two hops, and each header once.
TEST(BridgeMapping, RawSecondHop) {
  const auto a = context("bridge-a", "drop:/srv/a", kMonoA);
  const auto body = bytes_of("payload");
  const WireMessage first = raw_to_wire(body, {{"content-type", "text/plain"}, {"tenant", "acme"}}, "id-1", a);
  const DropHeaders kept = wire_to_drop_headers(first);

  auto b = context("bridge-b", "drop:/srv/b", kMonoB);
  b.now_real_ns += 5 * kSecond;
  const WireMessage second = raw_to_wire(body, kept, "id-2", b);
  EXPECT_EQ(value(second, wire_header::origin), "bridge-a");
  EXPECT_EQ(value(second, wire_header::hops), "2");
  EXPECT_EQ(hops_of(second), 2u);
  EXPECT_EQ(second.content_type, "text/plain");
  EXPECT_EQ(value(second, "tenant"), "acme");
  EXPECT_EQ(second.message_id, "id-2");
  for (const auto& [k, v] : second.headers) EXPECT_EQ(count(second, k), 1u) << "header " << k << " twice";
  // The send time: the message's first, as a typed message keeps its envelope's.
  EXPECT_EQ(value(second, wire_header::sent_at_ns), std::to_string(a.now_real_ns));
  ASSERT_TRUE(second.timestamp_s.has_value());
  EXPECT_EQ(*second.timestamp_s, static_cast<uint64_t>(a.now_real_ns / kSecond));
}

// ----------------------------------------------------------- configuration

constexpr std::string_view kFullConfig = R"({
  "name": "bridge-a",
  "broker": {"host": "mq.example", "port": 5673, "vhost": "/prod", "user": "u", "password": "p",
             "heartbeat": 30, "timeout_ms": 2500},
  "state_dir": "/var/lib/ringdrop-bridge",
  "dedupe_window": 120,
  "dedupe_capacity": 1000,
  "window": 64,
  "routes": [
    {"name": "orders-out", "from": "shm:orders", "format": "raw", "exchange": "orders",
     "exchange_type": "direct", "routing_key": "new"},
    {"name": "fills-in", "to": "drop:/srv/drop/fills", "format": "typed", "queue": "fills",
     "bind_exchange": "fills-x", "exchange_type": "fanout", "binding_key": "eu.*",
     "cell_size": 4096, "capacity": 128}
  ]
})";

TEST(BridgeConfig, ParsesAFullConfig) {
  auto c = parse_config(kFullConfig, "test.json");
  ASSERT_TRUE(c) << last_error_detail();
  EXPECT_EQ(c->name, "bridge-a");
  EXPECT_EQ(c->broker.host, "mq.example");
  EXPECT_EQ(c->broker.port, 5673);
  EXPECT_EQ(c->broker.vhost, "/prod");
  EXPECT_EQ(c->broker.user, "u");
  EXPECT_EQ(c->broker.password, "p");
  EXPECT_EQ(c->broker.heartbeat, std::chrono::seconds(30));
  EXPECT_EQ(c->broker.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(c->state_dir, "/var/lib/ringdrop-bridge");
  EXPECT_EQ(c->dedupe_window, std::chrono::seconds(120));
  EXPECT_EQ(c->dedupe_capacity, 1000u);
  EXPECT_EQ(c->window, 64u);

  ASSERT_EQ(c->out.size(), 1u);
  const OutRoute& o = c->out[0];
  EXPECT_EQ(o.name, "orders-out");
  EXPECT_EQ(o.from.kind, Endpoint::Kind::ring);
  EXPECT_EQ(o.from.describe(), "shm:orders");
  EXPECT_EQ(o.format, Format::raw);
  EXPECT_EQ(o.exchange, "orders");
  EXPECT_EQ(o.exchange_type, ExchangeType::direct);
  EXPECT_EQ(o.routing_key, "new");

  ASSERT_EQ(c->in.size(), 1u);
  const InRoute& i = c->in[0];
  EXPECT_EQ(i.name, "fills-in");
  EXPECT_EQ(i.to.kind, Endpoint::Kind::drop);
  EXPECT_EQ(i.to.dir, "/srv/drop/fills");
  EXPECT_EQ(i.format, Format::typed);
  EXPECT_EQ(i.queue, "fills");
  EXPECT_EQ(i.bind_exchange, "fills-x");
  EXPECT_EQ(i.exchange_type, ExchangeType::fanout);
  EXPECT_EQ(i.binding_key, "eu.*");
  EXPECT_EQ(i.cell_size, 4096u);
  EXPECT_EQ(i.capacity, 128u);

  EXPECT_FALSE(c->check()) << last_error_detail();
}

TEST(BridgeConfig, DefaultsAndPasswordFile) {
  const std::string path = std::filesystem::temp_directory_path() / ("bridge-pw-" + std::to_string(::getpid()));
  std::ofstream(path) << "s3cret\nignored\n";
  auto c = parse_config(R"({"state_dir": "/s", "broker": {"password_file": ")" + path +
                            R"("}, "routes": [{"from": "file:/tmp/x.ring", "exchange": "e"}, {"to": "shm:in", "queue": "q"}]})",
                        "test.json");
  std::filesystem::remove(path);
  ASSERT_TRUE(c) << last_error_detail();
  EXPECT_EQ(c->broker.password, "s3cret");
  EXPECT_EQ(c->broker.host, "127.0.0.1");
  EXPECT_EQ(c->broker.port, 5672);
  EXPECT_FALSE(c->name.empty()) << "the host name by default";
  ASSERT_EQ(c->out.size(), 1u);
  EXPECT_EQ(c->out[0].name, "route0");
  EXPECT_EQ(c->out[0].format, Format::typed);
  EXPECT_EQ(c->out[0].exchange_type, ExchangeType::topic);
  EXPECT_EQ(c->out[0].from.describe(), "file:/tmp/x.ring");
  ASSERT_EQ(c->in.size(), 1u);
  EXPECT_EQ(c->in[0].name, "route1");
  EXPECT_EQ(c->in[0].binding_key, "#");
  EXPECT_EQ(c->in[0].to.describe(), "shm:in");
  EXPECT_FALSE(c->check()) << last_error_detail();
}

TEST(BridgeConfig, ErrorsNameTheKey) {
  struct Case {
    const char* json;
    std::vector<const char*> detail;  // each must appear in last_error_detail()
  };
  const Case cases[] = {
      {"{not json", {"test.json", "not JSON"}},
      {"[1, 2]", {"test.json", "object"}},
      {R"({"state_dir": "/s", "colour": "red"})", {"colour"}},
      {R"({"routes": [{"from": "shm:a", "exchange": "e", "colour": "red"}]})", {"routes[0]", "colour"}},
      {R"({"routes": [{"to": "shm:a", "queue": "q", "routing_key": "k"}]})", {"routes[0]", "routing_key"}},
      {R"({"window": "big"})", {"window", "wrong type"}},
      {R"({"broker": {"port": "5672"}})", {"port", "wrong type"}},
      {R"({"broker": {"hostname": "h"}})", {"broker", "hostname"}},
      {R"({"routes": [{"from": "shm:a", "exchange": 5}]})", {"routes[0].exchange", "wrong type"}},
      {R"({"routes": {"from": "shm:a"}})", {"routes"}},
      {R"({"routes": [{"from": "shm:a", "exchange": "e", "format": "json"}]})", {"routes[0].format", "json"}},
      {R"({"routes": [{"from": "shm:a", "exchange": "e", "exchange_type": "headers"}]})",
       {"routes[0].exchange_type", "headers"}},
      {R"({"routes": [{"exchange": "e", "queue": "q"}]})", {"routes[0]", "from", "to"}},
      {R"({"routes": [{"from": "tcp:x", "exchange": "e"}]})", {"routes[0].from", "tcp:x"}},
      {R"({"routes": [{"to": "tcp:x", "queue": "q"}]})", {"routes[0].to", "tcp:x"}},
      {R"({"routes": ["shm:a"]})", {"routes[0]"}},
      // "subscribe": a broadcast ring's, outbound only
      {R"({"routes": [{"from": "shm:a", "exchange": "e", "subscribe": "latest"}]})",
       {"routes[0].subscribe", "latest", "newest", "oldest"}},
      {R"({"routes": [{"from": "shm:a", "exchange": "e", "subscribe": true}]})", {"routes[0].subscribe", "wrong type"}},
      {R"({"routes": [{"from": "drop:/tmp/d", "exchange": "e", "subscribe": "oldest"}]})",
       {"routes[0].subscribe", "drop:/tmp/d", "drop channel"}},
      {R"({"routes": [{"to": "shm:a", "queue": "q", "subscribe": "newest"}]})", {"routes[0].subscribe", "inbound"}},
      // "replies": requests into a ring, typed
      {R"({"routes": [{"to": "shm:a", "queue": "q", "replies": "yes"}]})", {"routes[0].replies", "wrong type"}},
      {R"({"routes": [{"to": "drop:/tmp/d", "queue": "q", "replies": true}]})", {"routes[0].replies", "typed"}},
      {R"({"routes": [{"from": "shm:a", "exchange": "e", "replies": true}]})", {"routes[0]", "replies"}},
  };
  for (const Case& c : cases) {
    auto r = parse_config(c.json, "test.json");
    ASSERT_FALSE(r) << c.json;
    EXPECT_EQ(r.error(), errc::invalid_argument) << c.json;
    for (const char* d : c.detail) {
      EXPECT_NE(last_error_detail().find(d), std::string::npos) << c.json << ": '" << last_error_detail()
                                                                 << "' does not name " << d;
    }
  }
}

TEST(BridgeConfig, Check) {
  auto valid = parse_config(kFullConfig, "test.json").value();
  ASSERT_FALSE(valid.check()) << last_error_detail();

  auto expect_bad = [](const BridgeConfig& c, const char* detail) {
    const std::error_code ec = c.check();
    EXPECT_EQ(ec, errc::invalid_argument) << detail;
    EXPECT_NE(last_error_detail().find(detail), std::string::npos) << last_error_detail();
  };
  {
    BridgeConfig c = valid;
    c.out.clear();
    c.in.clear();
    expect_bad(c, "no routes");
  }
  {
    BridgeConfig c = valid;
    c.in[0].name = c.out[0].name;
    expect_bad(c, "orders-out");
  }
  {
    BridgeConfig c = valid;
    c.out.push_back(c.out[0]);
    expect_bad(c, "orders-out");
  }
  {
    BridgeConfig c = valid;
    c.state_dir.clear();
    expect_bad(c, "state_dir");
  }
  {
    BridgeConfig c = valid;
    c.out[0].exchange.clear();
    expect_bad(c, "exchange");
  }
  {
    BridgeConfig c = valid;
    c.in[0].queue.clear();
    expect_bad(c, "queue");
  }
  {
    BridgeConfig c = valid;
    c.window = 0;
    expect_bad(c, "window");
  }
}

TEST(BridgeConfig, AddRoute) {
  BridgeConfig c;
  ASSERT_FALSE(add_route(c, "from=shm:orders,exchange=orders,routing_key=k,format=raw")) << last_error_detail();
  ASSERT_FALSE(add_route(c, "queue=q,to=drop:/tmp/x,cell_size=512")) << last_error_detail();
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].from.describe(), "shm:orders");
  EXPECT_EQ(c.out[0].exchange, "orders");
  EXPECT_EQ(c.out[0].routing_key, "k");
  EXPECT_EQ(c.out[0].format, Format::raw);
  EXPECT_EQ(c.out[0].name, "route0");
  ASSERT_EQ(c.in.size(), 1u);
  EXPECT_EQ(c.in[0].queue, "q");
  EXPECT_EQ(c.in[0].to.kind, Endpoint::Kind::drop);
  EXPECT_EQ(c.in[0].to.dir, "/tmp/x");
  EXPECT_EQ(c.in[0].cell_size, 512u);
  EXPECT_EQ(c.in[0].format, Format::typed);
  EXPECT_EQ(c.in[0].name, "route1");

  for (const char* bad : {"nokey", "cell_size=abc", "", "from=shm:a,exchange=e,", "=v", "from=tcp:x,exchange=e",
                          "from=shm:a,exchange=e,bogus=1", "queue=q,to=shm:b,capacity=-1"}) {
    BridgeConfig d;
    const std::error_code ec = add_route(d, bad);
    EXPECT_EQ(ec, errc::invalid_argument) << "'" << bad << "'";
    EXPECT_NE(last_error_detail().find(bad), std::string::npos) << last_error_detail();
  }
  BridgeConfig d;
  (void)add_route(d, "cell_size=abc");
  EXPECT_NE(last_error_detail().find("cell_size"), std::string::npos) << last_error_detail();
}

TEST(BridgeConfig, ParseBrokerUrl) {
  {
    BrokerAddress a;
    ASSERT_FALSE(parse_broker_url("amqp://u:p@h:1234/v", a)) << last_error_detail();
    EXPECT_EQ(a.user, "u");
    EXPECT_EQ(a.password, "p");
    EXPECT_EQ(a.host, "h");
    EXPECT_EQ(a.port, 1234);
    EXPECT_EQ(a.vhost, "v");
  }
  {
    BrokerAddress a;
    ASSERT_FALSE(parse_broker_url("amqp://h", a)) << last_error_detail();
    EXPECT_EQ(a.host, "h");
    EXPECT_EQ(a.port, 5672);
    EXPECT_EQ(a.vhost, "/");
    EXPECT_EQ(a.user, "guest");
    EXPECT_EQ(a.password, "guest");
  }
  {
    BrokerAddress a;
    ASSERT_FALSE(parse_broker_url("amqp://h:5672/%2F", a)) << last_error_detail();
    EXPECT_EQ(a.host, "h");
    EXPECT_EQ(a.port, 5672);
    EXPECT_EQ(a.vhost, "/");
  }
  {
    BrokerAddress a;
    ASSERT_FALSE(parse_broker_url("amqp://bob@mq.example.com/", a)) << last_error_detail();
    EXPECT_EQ(a.user, "bob");
    EXPECT_EQ(a.host, "mq.example.com");
    EXPECT_EQ(a.vhost, "/");
  }
  for (const char* bad : {"http://h", "amqp://h:0", "amqp://:5", "amqp://h:99999", "amqp://", "amqp://h:",
                          "amqp://h:x", "amqp://u:p@", "amqp://h:-1"}) {
    BrokerAddress a;
    EXPECT_EQ(parse_broker_url(bad, a), errc::invalid_argument) << bad;
    EXPECT_NE(last_error_detail().find(bad), std::string::npos) << last_error_detail();
  }
}

TEST(BridgeConfig, EndpointRoundTrip) {
  {
    auto e = Endpoint::parse("shm:orders");
    ASSERT_TRUE(e) << last_error_detail();
    EXPECT_EQ(e->kind, Endpoint::Kind::ring);
    EXPECT_FALSE(e->ring.is_file());
    EXPECT_EQ(e->ring.name(), "orders");
    EXPECT_EQ(e->describe(), "shm:orders");
  }
  {
    auto e = Endpoint::parse("file:/var/lib/x.ring");
    ASSERT_TRUE(e) << last_error_detail();
    EXPECT_EQ(e->kind, Endpoint::Kind::ring);
    EXPECT_TRUE(e->ring.is_file());
    EXPECT_EQ(e->ring.name(), "/var/lib/x.ring");
    EXPECT_EQ(e->describe(), "file:/var/lib/x.ring");
  }
  {
    auto e = Endpoint::parse("drop:/srv/drop/orders");
    ASSERT_TRUE(e) << last_error_detail();
    EXPECT_EQ(e->kind, Endpoint::Kind::drop);
    EXPECT_EQ(e->dir, "/srv/drop/orders");
    EXPECT_EQ(e->describe(), "drop:/srv/drop/orders");
  }
  for (const char* text : {"shm:orders", "file:/var/lib/x.ring", "drop:/srv/drop/orders", "drop:relative/dir"}) {
    auto e = Endpoint::parse(text);
    ASSERT_TRUE(e) << text;
    auto again = Endpoint::parse(e->describe());
    ASSERT_TRUE(again) << text;
    EXPECT_EQ(again->describe(), text);
    EXPECT_EQ(again->kind, e->kind);
  }
  for (const char* bad : {"tcp:x", "", "shm:", "file:", "drop:", "orders", "/dev/shm/orders"}) {
    auto e = Endpoint::parse(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error(), errc::invalid_argument) << bad;
  }
}

// "subscribe": an outbound route reads a broadcast ring as a subscriber.
TEST(BridgeConfig, SubscribeReadsABroadcastRing) {
  auto c = parse_config(R"({"state_dir": "/s", "routes": [
      {"from": "shm:prices", "exchange": "e", "subscribe": "newest"},
      {"from": "file:/tmp/prices.ring", "exchange": "e", "subscribe": "oldest"},
      {"from": "shm:orders", "exchange": "e"}]})",
                        "test.json");
  ASSERT_TRUE(c) << last_error_detail();
  ASSERT_EQ(c->out.size(), 3u);
  ASSERT_TRUE(c->out[0].subscribe);
  EXPECT_EQ(*c->out[0].subscribe, StartAt::newest);
  ASSERT_TRUE(c->out[1].subscribe);
  EXPECT_EQ(*c->out[1].subscribe, StartAt::oldest);
  EXPECT_FALSE(c->out[2].subscribe) << "without the key: an MPMC consumer";
  EXPECT_FALSE(c->check()) << last_error_detail();

  BridgeConfig f;  // the flag form goes through the same reader
  ASSERT_FALSE(add_route(f, "from=shm:prices,exchange=e,subscribe=oldest")) << last_error_detail();
  ASSERT_EQ(f.out.size(), 1u);
  ASSERT_TRUE(f.out[0].subscribe);
  EXPECT_EQ(*f.out[0].subscribe, StartAt::oldest);
}

// The example configuration in docs/bridge.md is one the bridge reads.
TEST(BridgeConfigDoc, TheDocumentedExampleParses) {
  std::ifstream f(std::string(RINGDROP_SOURCE_DIR) + "/docs/bridge.md");
  ASSERT_TRUE(f);
  std::string line, json;
  bool in = false;
  while (std::getline(f, line)) {
    if (!in && line == "```json") {
      in = true;
    } else if (in && line == "```") {
      break;
    } else if (in) {
      json += line + "\n";
    }
  }
  ASSERT_FALSE(json.empty()) << "docs/bridge.md has no json block";
  // password_file names a file this machine does not have: without it.
  const auto at = json.find("    \"password_file\": \"/etc/ringdrop/mq-password\",\n");
  ASSERT_NE(at, std::string::npos);
  json.erase(at, std::string("    \"password_file\": \"/etc/ringdrop/mq-password\",\n").size());
  auto c = ringdrop::bridge::parse_config(json, "docs/bridge.md");
  ASSERT_TRUE(c) << ringdrop::last_error_detail();
  EXPECT_FALSE(c->check()) << ringdrop::last_error_detail();
  ASSERT_EQ(c->out.size(), 1u);
  ASSERT_EQ(c->in.size(), 1u);
  EXPECT_EQ(c->name, "host-a");
  EXPECT_EQ(c->out[0].exchange, "orders");
  EXPECT_EQ(c->in[0].to.describe(), "drop:/srv/drop/invoices");
}

}  // namespace
}  // namespace ringdrop::bridge

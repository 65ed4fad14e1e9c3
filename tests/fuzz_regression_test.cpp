// fuzz_regression_test.cpp — inputs the fuzzers (fuzz/, scripts/fuzz.sh)
// found that broke a promise, fed again through the ordinary API. Each test
// failed before its fix. The fuzzers' own files are in fuzz/regressions/,
// which scripts/fuzz.sh replays.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "drop/drop_name.hpp"
#include "drop_support.hpp"
#include "ringdrop.h"
#include "ringdrop/message.hpp"
#include "ringdrop/ringdrop.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace ringdrop::test;
using namespace std::chrono_literals;

namespace {

/// Bytes from hex text (whitespace ignored), in 8-byte aligned memory.
struct Words {
  explicit Words(std::string_view hex) {
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < hex.size();) {
      if (hex[i] == ' ' || hex[i] == '\n') {
        ++i;
        continue;
      }
      bytes.push_back(static_cast<uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
      i += 2;
    }
    words.resize((bytes.size() + 7) / 8);
    std::memcpy(words.data(), bytes.data(), bytes.size());
    size = bytes.size();
  }
  std::span<const std::byte> span() const { return {reinterpret_cast<const std::byte*>(words.data()), size}; }
  std::vector<uint64_t> words;
  size_t size = 0;
};

/// An Envelope (6 data words, 4 pointers, all zero) whose payload is a
/// struct with one pointer: to a List(Void) of `n` elements, or to a list
/// of `n` empty structs. Such lists take no bytes, whatever their length.
Words empty_elements_message(uint32_t n, bool empty_structs) {
  std::string hex = "00000000 0c000000";            // one segment of 12 words (+1 for structs)
  if (empty_structs) hex = "00000000 0d000000";
  hex += "00000000 06000400";                        // root: the envelope, at word 1
  for (int i = 0; i < 9; ++i) hex += "0000000000000000";  // its data, reply-to, headers, error
  hex += "00000000 00000100";                        // payload: a struct of one pointer, next word
  char list[64];
  if (!empty_structs) {
    std::snprintf(list, sizeof list, "01000000 %08x", __builtin_bswap32(n << 3));  // List(Void), n elements
    hex += list;
  } else {
    hex += "01000000 07000000";                      // inline composite of 0 words...
    std::snprintf(list, sizeof list, "%08x 00000000", __builtin_bswap32(n << 2));  // ...n empty structs
    hex += list;
  }
  return Words(hex);
}

}  // namespace

// drop_names: an id's 19 digits past 2^63 - 1 overflowed a signed
// accumulator (undefined behaviour; UBSan stopped the fuzzer, a release
// build took the wrapped number for a publish time).
TEST(FuzzRegression, AnIdWhoseTimeIsPast2Pow63IsNoId) {
  const std::string name = "9700000000123456789-host-4242-7-0badcaf00000030123";  // the fuzzer's input
  EXPECT_EQ(detail::id_time_ns(name), 0);
  EXPECT_FALSE(detail::is_message_id(name));
  EXPECT_FALSE(detail::parse_ready(name + ".0").has_value());
  EXPECT_EQ(detail::id_time_ns("9223372036854775807-x"), INT64_MAX);
  EXPECT_EQ(detail::id_time_ns("9223372036854775808-x"), 0);
  EXPECT_EQ(detail::id_time_ns("9999999999999999999-x"), 0);
}

// ... and a file under such a name in new/ is a legacy file: adopted under
// a fresh id, its name kept.
TEST(FuzzRegression, AFileNamedWithSuchAnIdIsAdopted) {
  ScopedDir dir;
  auto ch = DropChannel::open(dir.root(), fast_drop(Discovery::polling)).value();
  spit(dir.root() + "/new/9999999999999999999-x.0", "payload");
  auto rx = DropConsumer::open(ch).value();
  std::optional<DropClaim> claim;
  for (int i = 0; i < 3 && !claim; ++i) {
    auto got = rx.try_claim();
    if (got) claim.emplace(std::move(*got));
  }
  ASSERT_TRUE(claim.has_value());
  EXPECT_NE(claim->id(), "9999999999999999999-x");
  EXPECT_EQ(claim->headers().at(std::string(drop_header::original_name)), "9999999999999999999-x.0");
  EXPECT_EQ(read_text(*claim), "payload");
  EXPECT_FALSE(claim->ack());
}

// message: a payload holding a List(Void) — or a list of empty structs — of
// 2^29 - 1 elements in a 100-byte message. totalSize() counts such lists as
// nothing, so open() accepted it; copying or iterating the list then took
// the reader's whole budget (the C ABI's ringdrop_message_payload failed
// with RINGDROP_EINTERNAL on the handle it had made) or, for empty structs,
// most of a second of CPU.
TEST(FuzzRegression, ListsOfElementsThatTakeNoSpaceCannotAmplifyAMessage) {
  for (const bool structs : {false, true}) {
    SCOPED_TRACE(structs ? "empty structs" : "List(Void)");
    const Words huge = empty_elements_message((1u << 29) - 1, structs);
    auto m = IncomingMessage::open(huge.span());
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error(), errc::bad_message);

    // More than 32 empty elements a word (512 in a small message): refused,
    // and said so.
    const Words many = empty_elements_message(5000, structs);
    m = IncomingMessage::open(many.span());
    ASSERT_FALSE(m.ok());
    EXPECT_NE(last_error_detail().find("lists of empty elements"), std::string::npos) << last_error_detail();

    // A few hundred are any message's allowance, and its payload can be
    // copied out (C ABI) and read.
    const Words some = empty_elements_message(500, structs);
    m = IncomingMessage::open(some.span());
    ASSERT_TRUE(m.ok()) << last_error_detail();
    ringdrop_message* h = nullptr;
    ASSERT_EQ(ringdrop_message_open(some.span().data(), some.size, &h), 0) << ringdrop_last_error_message();
    const void* data = nullptr;
    unsigned long long size = 0;
    EXPECT_EQ(ringdrop_message_payload(h, &data, &size), 0) << ringdrop_last_error_message();
    ringdrop_message_close(h);
  }
}

// message (F2): the same lists as a C caller's payload. ringdrop_message_build
// accepted them, and each copy of the payload (no budget) stepped through
// 2^29 elements: most of a second of CPU per message built, for a message
// no receiver would open. Now refused when built, as when opened.
TEST(FuzzRegression, TheCAbiRefusesAPayloadThatAmplifies) {
  for (const bool structs : {false, true}) {
    SCOPED_TRACE(structs ? "empty structs" : "List(Void)");
    const Words huge = empty_elements_message((1u << 29) - 1, structs);
    unsigned long long needed = 0;
    EXPECT_EQ(ringdrop_message_build(7, huge.span().data(), huge.size, nullptr, nullptr, 0, &needed),
              RINGDROP_EBADMESSAGE);
    EXPECT_NE(std::string(ringdrop_last_error_message()).find("lists of empty elements"), std::string::npos)
        << ringdrop_last_error_message();

    // Within the allowance: built, and the message opens.
    const Words some = empty_elements_message(500, structs);
    ASSERT_EQ(ringdrop_message_build(7, some.span().data(), some.size, nullptr, nullptr, 0, &needed),
              RINGDROP_EMSGSIZE);
    std::vector<uint64_t> built((needed + 7) / 8);
    ASSERT_EQ(ringdrop_message_build(7, some.span().data(), some.size, nullptr, built.data(), needed, &needed), 0);
    ringdrop_message* h = nullptr;
    EXPECT_EQ(ringdrop_message_open(built.data(), needed, &h), 0) << ringdrop_last_error_message();
    ringdrop_message_close(h);
  }
}

/// An Envelope whose reply-to is a Text of `text_words` words and whose
/// payload is a struct of one pointer to a List(Void) of `n` elements: a
/// small payload in a large message.
std::vector<uint64_t> void_list_in_a_large_envelope(uint32_t n, uint32_t text_words) {
  std::vector<uint64_t> w(1 + 12 + text_words, 0);
  uint64_t* seg = w.data() + 1;
  w[0] = uint64_t{12 + text_words} << 32;                          // one segment
  seg[0] = (uint64_t{6} << 32) | (uint64_t{4} << 48);              // root: the envelope, 6 data words, 4 pointers
  seg[7] = (4u << 2 | 1) | ((2 | uint64_t{text_words} * 8 << 3) << 32);  // reply-to: bytes at word 12
  seg[10] = uint64_t{1} << 48;                                     // payload: a struct of one pointer, next word
  seg[11] = 1 | (uint64_t{n} << 3 << 32);                          // its List(Void) of n elements
  std::memset(seg + 12, 'a', text_words * 8 - 1);                  // the text, NUL-terminated
  return w;
}

// message: a payload of 576 empty elements in 10 words inside an envelope
// of 20 more. open() counted them against the whole message (allowed) and
// ringdrop_message_build, sending that payload on, against the payload's
// own words (refused): a payload read as valid could not be sent on. open()
// now counts the payload against its own words too.
TEST(FuzzRegression, APayloadThatOpensCanBeSentOn) {
  const auto many = void_list_in_a_large_envelope(600, 100);  // the payload allows 512; the message 3552
  const std::span<const std::byte> many_bytes(reinterpret_cast<const std::byte*>(many.data()), many.size() * 8);
  const auto m = IncomingMessage::open(many_bytes);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), errc::bad_message);
  EXPECT_NE(last_error_detail().find("600 in a payload of 1 words"), std::string::npos) << last_error_detail();

  const auto some = void_list_in_a_large_envelope(500, 100);
  ringdrop_message* h = nullptr;
  ASSERT_EQ(ringdrop_message_open(some.data(), some.size() * 8, &h), 0) << ringdrop_last_error_message();
  const void* data = nullptr;
  unsigned long long size = 0;
  ASSERT_EQ(ringdrop_message_payload(h, &data, &size), 0) << ringdrop_last_error_message();
  unsigned long long needed = 0;
  EXPECT_EQ(ringdrop_message_build(7, data, size, nullptr, nullptr, 0, &needed), RINGDROP_EMSGSIZE)
      << ringdrop_last_error_message();
  ringdrop_message_close(h);
}

/// An Envelope whose reply-to is a Text of 100 words and whose payload is a
/// struct of one pointer to a list of `n` empty structs whose pointer claims
/// `claimed` words (they take none: the words after the tag are unused).
std::vector<uint64_t> empty_structs_claiming_words(uint32_t n, uint32_t claimed) {
  constexpr uint32_t kText = 100;
  std::vector<uint64_t> w(1 + 13 + claimed + kText, 0);
  uint64_t* seg = w.data() + 1;
  w[0] = uint64_t{13 + claimed + kText} << 32;                   // one segment
  seg[0] = (uint64_t{6} << 32) | (uint64_t{4} << 48);            // root: the envelope, 6 data words, 4 pointers
  seg[7] = ((5 + claimed) << 2 | 1) | ((2 | uint64_t{kText} * 8 << 3) << 32);  // reply-to: after the list
  seg[10] = uint64_t{1} << 48;                                   // payload: a struct of one pointer, next word
  seg[11] = 1 | ((7 | uint64_t{claimed} << 3) << 32);            // its list of structs, `claimed` words
  seg[12] = uint64_t{n} << 2;                                    // the tag: n structs of no words
  std::memset(seg + 13 + claimed, 'a', kText * 8 - 1);           // the text, NUL-terminated
  return w;
}

// message: found by a differential run of open() before and after its walk
// over raw words replaced totalSize(). A payload's list of structs whose
// pointer claims more words than its elements take: open() counted the
// payload as the words claimed (here 42, which allow 1344 empty elements),
// the C ABI's payload check as a copy keeps it (2 words: 512), so a payload
// that opened could not be sent on. Both count as totalSize() does now.
TEST(FuzzRegression, APayloadIsCountedAsACopyKeepsIt) {
  const auto w = empty_structs_claiming_words(600, 40);
  const auto m = IncomingMessage::open(std::as_bytes(std::span(w)));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), errc::bad_message);
  EXPECT_NE(last_error_detail().find("600 in a payload of 2 words"), std::string::npos) << last_error_detail();

  // Alone, the same payload is refused too.
  std::vector<uint64_t> alone(1 + 3 + 40, 0);
  alone[0] = uint64_t{3 + 40} << 32;
  alone[1] = uint64_t{1} << 48;                                  // root: a struct of one pointer, next word
  std::copy(w.begin() + 1 + 11, w.begin() + 1 + 13, alone.begin() + 2);  // the list pointer and its tag
  unsigned long long needed = 0;
  EXPECT_EQ(ringdrop_message_build(7, alone.data(), alone.size() * 8, nullptr, nullptr, 0, &needed),
            RINGDROP_EBADMESSAGE);

  // Within the payload's own allowance: opens, and its payload can be sent on.
  const auto some = empty_structs_claiming_words(500, 40);
  ringdrop_message* h = nullptr;
  ASSERT_EQ(ringdrop_message_open(some.data(), some.size() * 8, &h), 0) << ringdrop_last_error_message();
  const void* data = nullptr;
  unsigned long long size = 0;
  ASSERT_EQ(ringdrop_message_payload(h, &data, &size), 0) << ringdrop_last_error_message();
  EXPECT_EQ(ringdrop_message_build(7, data, size, nullptr, nullptr, 0, &needed), RINGDROP_EMSGSIZE)
      << ringdrop_last_error_message();
  ringdrop_message_close(h);
}

// The check only walks a message with a word that could head a long list of
// empty elements; data that looks like one (here 4096 in the envelope's
// first data word: the tag of 1024 empty structs) costs a walk, not a refusal.
TEST(FuzzRegression, DataThatLooksLikeAListOfEmptyElementsIsNoList) {
  Words m = empty_elements_message(3, true);
  m.words[2] = 4096;  // the envelope's first data word (word 0 is the segment table, 1 the root)
  auto opened = IncomingMessage::open(m.span());
  ASSERT_TRUE(opened.ok()) << last_error_detail();
  m.words[2] = (uint64_t{1024} << 35) | 1;  // a List(Void) pointer's shape, of 1024 elements
  opened = IncomingMessage::open(m.span());
  ASSERT_TRUE(opened.ok()) << last_error_detail();
}

// message: the fuzzer's input, a message whose header value is a List(Void)
// of 2 million elements, given to ringdrop_message_build as a payload. The
// message built around it opened, and then its payload could not be copied
// out (RINGDROP_EINTERNAL). Now the message is refused when opened (the
// payload check of ringdrop_message_build may come to refuse it first).
TEST(FuzzRegression, AMessageTheCAbiOpensHasAReadablePayload) {
  const Words input(
      "00000000 1c000000 00000000 06000400 e409a7df 55b3f486 00000000 00000000 63000000 00000000"
      "00000100 03000000 64847868 1ba6ee18 00000000 00000000 00000000 00000000 09000000 17000000"
      "00000000 00000000 14000000 06000400 04000000 00000200 05000000 12000000 05000000 00040001"
      "00000000 00000000 00000000 00000000 05000000 00000000 00000000 00000000 00000000 00000000"
      "00000000 00000000 00000000 00000000 00000000 00000000 0d000000 62000000 00000000 00000000"
      "00000000 00000000 00000000 00000000 66696c65 3a2f746d 702f7800 00000000");
  unsigned long long size = 0;
  int rc = ringdrop_message_build(7, input.span().data(), input.size, nullptr, nullptr, 0, &size);
  if (rc == RINGDROP_EBADMESSAGE) return;  // the payload refused at once: fine too
  ASSERT_EQ(rc, RINGDROP_EMSGSIZE) << ringdrop_last_error_message();
  std::vector<uint64_t> built((size + 7) / 8);
  ASSERT_EQ(ringdrop_message_build(7, input.span().data(), input.size, nullptr, built.data(), size, &size), 0);
  ringdrop_message* h = nullptr;
  rc = ringdrop_message_open(built.data(), size, &h);
  if (rc == 0) {
    const void* data = nullptr;
    unsigned long long payload_size = 0;
    EXPECT_EQ(ringdrop_message_payload(h, &data, &payload_size), 0) << ringdrop_last_error_message();
    ringdrop_message_close(h);
  } else {
    EXPECT_EQ(rc, RINGDROP_EBADMESSAGE);
  }
}

// message: a capability pointer in the payload. open() accepted it, and
// copying the payload threw ("invalid capability pointer"): the C ABI's
// ringdrop_message_payload failed with RINGDROP_EINTERNAL on a handle it had
// made. Capabilities cannot travel between processes: bad_message now.
TEST(FuzzRegression, ACapabilityInAMessageIsRefused) {
  const Words input(
      "00000000 1c000000 00000000 06000400 2a000000 00000000 00000000 00000000 efcdab90 78563412"
      "1e000200 01000000 00002a36 fe9c9717 15cd5b07 00000000 0d000000 62000000 11000000 27000000"
      "00000000 00000000 34000000 01000100 73686d3a 7265706c 69657300 00000000 08000000 00000200"
      "0d000000 6a000000 11000000 72000000 15000000 32000000 15000000 22000000 636f4e74 656e742d"
      "74797065 00000000 6170706c 69636174 00000000 00000000 00000000 00000000 00000000 00000000"
      "00000000 63000000 00000000 00000100 03000000 64847868 1ba6ee18 00000000");
  ASSERT_EQ(input.size, 232u);
  auto m = IncomingMessage::open(input.span());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error(), errc::bad_message);
  EXPECT_NE(last_error_detail().find("capabilit"), std::string::npos) << last_error_detail();
  ringdrop_message* h = nullptr;
  EXPECT_EQ(ringdrop_message_open(input.span().data(), input.size, &h), RINGDROP_EBADMESSAGE);
  EXPECT_EQ(h, nullptr);
}

// ring_ops, segment_open (fuzz/regressions/*/mpmc-tail-half-lap-space-ahead):
// another process writes 0x200000000000 over an MPMC ring's tail (offset
// 128; 64 cells, so tail's lap is 2^39 and every cell is "ahead" of it,
// modulo 2^40). The producer's try_reserve helps tail on, cell after cell,
// for 2^39 laps: send(..., 20 ms) does not return (issue 14, finding 1, with
// a value its first fix did not cover). Now corrupted (e2bc8fb).
TEST(FuzzRegression, MpmcSendReturnsWhenTailIsHalfTheLapSpaceAhead) {
  ScopedName name;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    MpmcOptions o;
    o.capacity = 4096;
    o.cell_size = 64;
    auto tx = MpmcProducer::open(name.location(), OpenMode::create, o);
    auto rx = MpmcConsumer::open(name.location(), OpenMode::open, o);
    if (!tx || !rx) ::_exit(2);
    for (int i = 0; i < 15; ++i) (void)tx->send(bytes_of("x"), 0ns);
    for (int i = 0; i < 10; ++i) (void)rx->receive(0ns);
    SegmentSpec spec;
    spec.kind = RingKind::mpmc;
    auto other = Segment::open(name.location(), OpenMode::open, spec);
    if (!other) ::_exit(2);
    std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(other->base() + 128)).store(0x200000000000);
    const auto ec = tx->send(bytes_of("y"), 20ms);
    ::_exit(ec == errc::corrupted ? 0 : 1);
  }
  const auto code = wait_exit_for(child, 5s);
  if (!code) {
    ::kill(child, SIGKILL);
    (void)wait_exit_for(child, 5s);
  }
  ASSERT_TRUE(code.has_value()) << "send(..., 20 ms) had not returned after 5 s";
  EXPECT_EQ(*code, 0);
}

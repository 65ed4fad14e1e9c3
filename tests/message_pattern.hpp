// message_pattern.hpp — deterministic test messages: message `seq` of a
// stream with `seed` has a pseudo-random size and content that any process
// can recompute, so a receiver checks every byte without being told them.
//
//   [ seq: u64 ][ byte i = mix(seed, seq) + i ... ]   size in [8, max_size]
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <span>

namespace ringdrop::test {

inline uint64_t mix(uint64_t seed, uint64_t seq) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + seq;  // splitmix64
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline size_t pattern_size(uint64_t seed, uint64_t seq, size_t max_size) {
  return 8 + mix(seed ^ 0x5151, seq) % (max_size - 7);
}

inline void pattern_fill(uint64_t seed, uint64_t seq, std::span<std::byte> out) {
  std::memcpy(out.data(), &seq, sizeof seq);
  const uint64_t base = mix(seed, seq);
  for (size_t i = sizeof seq; i < out.size(); ++i) out[i] = std::byte(static_cast<uint8_t>(base + i));
}

/// True when `msg` is exactly message `seq` of the stream.
inline bool pattern_check(uint64_t seed, uint64_t seq, std::span<const std::byte> msg,
                          size_t max_size) {
  if (msg.size() != pattern_size(seed, seq, max_size)) return false;
  uint64_t got = 0;
  std::memcpy(&got, msg.data(), sizeof got);
  if (got != seq) return false;
  const uint64_t base = mix(seed, seq);
  for (size_t i = sizeof seq; i < msg.size(); ++i) {
    if (msg[i] != std::byte(static_cast<uint8_t>(base + i))) return false;
  }
  return true;
}

/// The sequence number a message claims to be (its first 8 bytes).
inline uint64_t pattern_seq(std::span<const std::byte> msg) {
  uint64_t seq = ~uint64_t{0};
  if (msg.size() >= sizeof seq) std::memcpy(&seq, msg.data(), sizeof seq);
  return seq;
}

}  // namespace ringdrop::test

// ---------------------------------------------------------------------------
// Tagged messages, for rings with many producers: each message names its
// producer as well as its sequence number, and its bytes depend on both.
//
//   [ seq: u64 ][ producer: u64 ][ byte i = mix(~producer, seq) + i ... ]
//   size in [16, max_size]
//
// A Tally adds up what a consumer received: a count and two independent
// 64-bit fingerprint sums. Two tallies are equal (short of a collision in
// both sums at once) only when they hold the same messages the same number
// of times, so consumers in different processes can each print theirs and
// the test adds them up and compares with the tally of what was sent.

namespace ringdrop::test {

inline size_t tagged_size(uint64_t producer, uint64_t seq, size_t max_size) {
  return 16 + mix(producer ^ 0x7a67, seq) % (max_size - 15);
}

inline void tagged_fill(uint64_t producer, uint64_t seq, std::span<std::byte> out) {
  std::memcpy(out.data(), &seq, sizeof seq);
  std::memcpy(out.data() + 8, &producer, sizeof producer);
  const uint64_t base = mix(~producer, seq);
  for (size_t i = 16; i < out.size(); ++i) out[i] = std::byte(static_cast<uint8_t>(base + i));
}

struct Tag {
  uint64_t producer = 0, seq = 0;
};

/// The tag of `msg` if it is exactly the message its tag names, else false.
inline bool tagged_check(std::span<const std::byte> msg, size_t max_size, Tag& tag) {
  if (msg.size() < 16) return false;
  std::memcpy(&tag.seq, msg.data(), 8);
  std::memcpy(&tag.producer, msg.data() + 8, 8);
  if (msg.size() != tagged_size(tag.producer, tag.seq, max_size)) return false;
  const uint64_t base = mix(~tag.producer, tag.seq);
  for (size_t i = 16; i < msg.size(); ++i) {
    if (msg[i] != std::byte(static_cast<uint8_t>(base + i))) return false;
  }
  return true;
}

struct Tally {
  uint64_t count = 0, sum1 = 0, sum2 = 0;

  void add(Tag t) {
    ++count;
    sum1 += mix(0x51ed270b27u + t.producer, t.seq);
    sum2 += mix(t.seq ^ 0x2545f4914f6cdd1dull, t.producer * 0x100000001b3ull + 7);
  }
  void remove(Tag t) {  // undoes add(t)
    --count;
    sum1 -= mix(0x51ed270b27u + t.producer, t.seq);
    sum2 -= mix(t.seq ^ 0x2545f4914f6cdd1dull, t.producer * 0x100000001b3ull + 7);
  }
  Tally& operator+=(const Tally& o) {
    count += o.count;
    sum1 += o.sum1;
    sum2 += o.sum2;
    return *this;
  }
  bool operator==(const Tally&) const = default;

  /// The tally of messages first..first+count-1 of `producer`.
  static Tally of(uint64_t producer, uint64_t count, uint64_t first = 0) {
    Tally t;
    for (uint64_t seq = first; seq < first + count; ++seq) t.add({producer, seq});
    return t;
  }
};

inline void PrintTo(const Tally& t, std::ostream* os) {
  *os << "{count " << t.count << ", sums " << t.sum1 << " " << t.sum2 << "}";
}

}  // namespace ringdrop::test

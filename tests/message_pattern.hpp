// message_pattern.hpp — deterministic test messages: message `seq` of a
// stream with `seed` has a pseudo-random size and content that any process
// can recompute, so a receiver checks every byte without being told them.
//
//   [ seq: u64 ][ byte i = mix(seed, seq) + i ... ]   size in [8, max_size]
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
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

// ring_checks.hpp — what the ring fuzzers assert about every span a ring
// hands out, and small drivers that use a ring without ever waiting.
//
// The promise under test: whatever another process wrote into a segment,
// every call returns (an error code or a result) and every span lies inside
// the ring's data area — for the cell rings (MPMC, broadcast), inside one
// cell's payload. With RINGDROP_FUZZ_STRICT set, a span larger than the
// ring's max_message_size() fails too.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_support.hpp"
#include "ringdrop/ringdrop.hpp"

namespace ringdrop::fuzz {

/// Where a ring's spans may lie.
struct Area {
  const std::byte* lo;
  const std::byte* hi;
  uint64_t cell;  // 0 for SPSC: records anywhere in the area
  uint64_t max_message;
};

template <class Handle>
Area area_of(const Handle& h) {
  const Segment& s = h.segment();
  const SegmentInfo info = s.info();
  const uint64_t cell = info.kind == RingKind::spsc ? 0 : info.params[0];
  return {s.data(), s.data() + info.capacity, cell, h.max_message_size()};
}

template <class Byte>
void check_span(const Area& a, std::span<Byte> s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  FUZZ_CHECK(p >= a.lo && p <= a.hi, "a span starts outside the ring's data area");
  FUZZ_CHECK(s.size() <= static_cast<size_t>(a.hi - p), "a span ends past the ring's data area");
  if (a.cell != 0) {
    const uint64_t at = static_cast<uint64_t>(p - a.lo) % a.cell;
    FUZZ_CHECK(at == 16, "a cell ring's span does not start at a cell's payload");
    FUZZ_CHECK(at + s.size() <= a.cell, "a cell ring's span runs past its cell");
  }
  if (strict()) FUZZ_CHECK(s.size() <= a.max_message, "a span is larger than the ring's largest message");
}

inline std::vector<std::byte> pattern(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>(seed + i);
  return v;
}

/// Reads up to `n` messages in place (checking each span), releasing as it
/// goes when `release_each`, and everything at the end.
template <class Consumer>
void drain(Consumer& c, int n, bool release_each) {
  const Area a = area_of(c);
  for (int i = 0; i < n; ++i) {
    auto v = c.try_read();
    if (!v) {
      if (v.error() == errc::would_block) break;
      continue;  // corrupted, message_lost...: the ring goes on
    }
    check_span(a, *v);
    if (release_each) (void)c.release();
  }
  (void)c.release();
}

/// Sends `n` messages of sizes drawn from `in` (each try_ only: no waiting).
template <class Producer>
void feed(Producer& p, Bytes& in, int n) {
  const Area a = area_of(p);
  for (int i = 0; i < n; ++i) {
    const size_t size = in.u8() % (a.max_message + 2 < 300 ? a.max_message + 2 : 300);
    auto span = p.try_reserve(size);
    if (!span) continue;  // would_block, message_too_large...
    check_span(a, *span);
    const auto bytes = pattern(span->size(), static_cast<uint8_t>(i));
    if (!bytes.empty()) std::memcpy(span->data(), bytes.data(), bytes.size());
    (void)p.commit(span->size());
  }
}

/// Options for a handle that never waits for long and judges its peers at
/// once: every wait that is not a try_ call has a zero timeout.
template <class Options>
Options quick(Options o) {
  o.init_timeout = std::chrono::milliseconds(0);
  o.wait.mode = WaitMode::spin;
  o.wait.spin_for = std::chrono::nanoseconds(0);
  o.wait.liveness_interval = std::chrono::nanoseconds(0);
  return o;
}

}  // namespace ringdrop::fuzz

// spsc_layout.hpp — the SPSC ring's control block and record format.
//
// Control block (at segment offset 128), one 128-byte line per writer:
//
//   +0    producer line: tail (bytes published), messages_published
//   +128  consumer line: head (bytes released),  messages_released
//   +256  data_wait:  the consumer sleeps here while the ring is empty
//   +384  space_wait: the producer sleeps here while the ring is full
//   +512  roles: producer identity, consumer identity
//
// tail and head are byte counts that only grow (2^64 bytes never wrap in
// practice); a position in the data area is `index & (capacity - 1)`.
// tail - head is the number of bytes in flight, never more than capacity.
//
// Records in the data area are 8-byte aligned, so a Cap'n Proto message
// (which needs word alignment) can be built and read in place:
//
//   [ size: u32 | tag: u32 ][ payload: size bytes ][ pad to 8 ]
//
// A record never wraps. When the next record does not fit before the end of
// the data area, the producer fills the rest with a padding record (tag
// kPadTag) and starts again at offset 0. Any other tag means corruption.
#pragma once

#include <atomic>
#include <cstdint>

#include "segment_layout.hpp"
#include "wait_line.hpp"

namespace ringdrop::detail {

inline constexpr uint32_t kDataTag = 0x41544144;  // "DATA"
inline constexpr uint32_t kPadTag = 0x44444150;   // "PADD"
inline constexpr uint64_t kRecordHeader = 8;

struct RecordHeader {
  uint32_t size;
  uint32_t tag;
};
static_assert(sizeof(RecordHeader) == kRecordHeader);

constexpr uint64_t record_bytes(uint64_t payload) noexcept {
  return kRecordHeader + ((payload + 7) & ~uint64_t{7});
}

struct SpscControl {
  alignas(kLine) std::atomic<uint64_t> tail;
  std::atomic<uint64_t> messages_published;
  alignas(kLine) std::atomic<uint64_t> head;
  std::atomic<uint64_t> messages_released;
  alignas(kLine) WaitLine data_wait;
  alignas(kLine) WaitLine space_wait;
  alignas(kLine) std::atomic<uint64_t> producer;
  std::atomic<uint64_t> consumer;
};
static_assert(offsetof(SpscControl, head) == kLine);
static_assert(offsetof(SpscControl, data_wait) == 2 * kLine);
static_assert(offsetof(SpscControl, producer) == 4 * kLine);
static_assert(kControlOffset + sizeof(SpscControl) <= data_offset_for(RingKind::spsc));

}  // namespace ringdrop::detail

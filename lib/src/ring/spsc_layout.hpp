// spsc_layout.hpp — the SPSC ring's control block and record format.
//
// Control block (at segment offset 128), one 128-byte line per writer:
//
//   +0    producer line: tail (bytes published), messages_published
//   +128  consumer line: head (bytes released),  messages_released
//   +256  data_wait:  the consumer sleeps here while the ring is empty
//   +384  space_wait: the producer sleeps here while the ring is full
//   +512  roles: producer and consumer slots (holder pid; role.hpp locks their first byte)
//   +640  deliveries: the consumer's count of the furthest record read (see below)
//
// head and tail are byte counts that only grow (2^64 bytes never wrap in
// practice); a position in the data area is `index & (capacity - 1)`.
//
// Records in the data area are 8-byte aligned, so a Cap'n Proto message
// (which needs word alignment) can be built and read in place:
//
//   [ header: u64 = size | tag << 32 ][ payload: size bytes ][ pad to 8 ]
//
// The consumer learns that a record has arrived by polling its header word,
// not a shared index: for a small message the signal and the payload travel
// in the same cache line, one transfer between cores instead of two. That
// needs two rules from the producer:
//
//  1. End marker. The word just past the last published record is always
//     zero, so the consumer never mistakes the bytes of an earlier lap for a
//     header. The producer zeroes the word past a batch before it publishes
//     the batch, and keeps 8 bytes of room for it (the largest payload is
//     therefore capacity - 16). To keep that store off a small record's
//     path, the producer zeroes up to kCleanAhead bytes of free space past
//     the marker after it publishes (never past head + capacity), and stores
//     the marker only when it lies outside what it zeroed.
//  2. Held-back header. A batch becomes visible when the header of its first
//     record is stored (release); the headers after it are written as the
//     records are staged, since the consumer cannot reach them before the
//     first. So `publish()` is: zero the end marker, store the first header.
//
// `tail` is still stored after each publish, for statistics and as a hint
// for a new producer; a producer that dies between the header and the tail
// store leaves `tail` a little behind, never ahead. A new producer finds the
// true end by following headers from max(head, tail) to the zero word.
//
// Poison messages. A consumer that dies holding records leaves `head`
// where it last released, and the next consumer reads from there again:
// every record read since is delivered again. The one the dead consumer was
// on when it died is the furthest it read. So the consumer keeps, on a line
// of its own (the producer polls `head`, not this), the position of the
// furthest record ever read and how many times that record was read. A read
// past it starts a new count; a read of it adds one; a read before it is a
// redelivery of a record the dead consumer had passed (delivery_count() says
// "at least 2"). When the furthest record's count reaches max_deliveries
// the next consumer sets it aside (its count then becomes kSetAside, so a
// consumer that dies before releasing past it does not set it aside twice)
// and goes on. With one message processed at a time, the furthest record
// read is the one being processed. The count is written before the
// position: a consumer killed between the two leaves the old position, and
// the next read past it starts the count again at 1.
//
// A record never wraps. When the next record does not fit before the end of
// the data area, the producer fills the rest with a padding record (tag
// kPadTag) and starts again at offset 0. Any other tag means corruption.
#pragma once

#include <atomic>
#include <cstdint>

#include "segment/segment_layout.hpp"
#include "segment/wait_line.hpp"

namespace ringdrop::detail {

inline constexpr uint32_t kDataTag = 0x41544144;  // "DATA"
inline constexpr uint32_t kPadTag = 0x44444150;   // "PADD"
inline constexpr uint64_t kRecordHeader = 8;
/// Room the producer keeps free past its records for the zero end marker.
inline constexpr uint64_t kEndMarker = 8;
/// How far past the end marker the producer zeroes free space ahead.
inline constexpr uint64_t kCleanAhead = 1024;

constexpr uint64_t record_bytes(uint64_t payload) noexcept {
  return kRecordHeader + ((payload + 7) & ~uint64_t{7});
}

constexpr uint64_t make_header(uint32_t size, uint32_t tag) noexcept {
  return uint64_t{tag} << 32 | size;
}
constexpr uint32_t header_size(uint64_t header) noexcept { return static_cast<uint32_t>(header); }
constexpr uint32_t header_tag(uint64_t header) noexcept {
  return static_cast<uint32_t>(header >> 32);
}

/// The header word at data-area position `pos` (8-byte aligned), accessed
/// atomically: it is where producer and consumer meet.
inline std::atomic_ref<uint64_t> header_at(std::byte* data, uint64_t pos) noexcept {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(data + pos));
}
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<uint64_t>::required_alignment <= kRecordHeader);

/// Whether `header`, found at `pos` of a data area of `capacity` bytes, can
/// be a record header: a known tag, inside the area, padding exactly to its end.
constexpr bool header_valid(uint64_t header, uint64_t pos, uint64_t capacity) noexcept {
  const uint32_t tag = header_tag(header);
  const uint64_t bytes = record_bytes(header_size(header));
  if (tag == kPadTag) return pos + bytes == capacity;
  return tag == kDataTag && pos + bytes <= capacity;
}

struct SpscControl {
  alignas(kLine) std::atomic<uint64_t> tail;
  std::atomic<uint64_t> messages_published;  // statistics, from here down the line
  std::atomic<uint64_t> bytes_published;     // payload bytes
  std::atomic<uint64_t> high_water;          // largest fill the producer saw, in bytes
  std::atomic<uint64_t> producer_waits;      // blocking reserves that found the ring full
  alignas(kLine) std::atomic<uint64_t> head;
  std::atomic<uint64_t> messages_released;
  std::atomic<uint64_t> bytes_released;
  std::atomic<uint64_t> consumer_waits;      // blocking reads that found the ring empty
  alignas(kLine) WaitLine data_wait;
  alignas(kLine) WaitLine space_wait;
  alignas(kLine) std::atomic<uint64_t> producer;
  std::atomic<uint64_t> consumer;
  alignas(kLine) std::atomic<uint64_t> furthest_read;  // position of the furthest record read
  std::atomic<uint64_t> furthest_reads;  // times it was read (kSetAside: set aside)
  std::atomic<uint64_t> dead_lettered;   // records set aside: max_deliveries, or rejected
};
inline constexpr uint64_t kSetAside = ~uint64_t{0};
/// SPSC keeps its max_deliveries in the segment header's first parameter
/// word (0 in rings made before it existed: the default then).
inline constexpr int kSpscMaxDeliveriesParam = 0;
static_assert(offsetof(SpscControl, head) == kLine);
static_assert(offsetof(SpscControl, data_wait) == 2 * kLine);
static_assert(offsetof(SpscControl, producer) == 4 * kLine);
static_assert(offsetof(SpscControl, furthest_read) == 5 * kLine);
static_assert(kControlOffset + sizeof(SpscControl) <= data_offset_for(RingKind::spsc));

}  // namespace ringdrop::detail

// spsc_segment.hpp — what the SPSC producer (spsc_producer.cpp) and
// consumer (spsc_consumer.cpp) share: the segment's opening and checks, its
// statistics, the role slots. Layout and record format: spsc_layout.hpp.
//
// Memory-ordering argument, in one place:
//  - The producer writes a record's payload with plain stores, the end
//    marker and any later headers of the batch with relaxed atomic stores,
//    and then the batch's first header with a release store. The consumer
//    loads a header with acquire before it reads the record, and reaches the
//    later records of a batch only through the first. So every byte of a
//    published record, and the zero end marker after it, is visible to the
//    consumer.
//  - The consumer finishes reading records, then stores `head` (release).
//    The producer loads `head` with acquire before it overwrites the space
//    below it. So no byte is overwritten while still being read.
//  - `head` has one writer, so a plain store suffices (no RMW). The producer
//    keeps a cached copy and reloads it only when the copy says "full".
//  - The release stores (first header, head) are also W2 of the sleep/wake
//    handshake of wait_line.hpp, which needs no fence from the waker: a mov
//    per publish and per release on x86, not an xchg.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include "ring/spsc_layout.hpp"
#include "ringdrop/spsc_ring.hpp"
#include "segment/role.hpp"

namespace ringdrop::detail {

// Each wait line of an SPSC ring has one waiter, the holder of the role.
inline constexpr uint64_t kSpscOnlyWaiter = 1;

/// Opens (or creates) the segment of an SPSC ring and checks its header's
/// max_deliveries. Errors: Segment::open's, invalid_argument, corrupted.
Result<Segment> open_spsc_segment(const Location& where, OpenMode how, const RingOptions& o);

inline SpscControl* spsc_control(const Segment& s) noexcept {
  return reinterpret_cast<SpscControl*>(s.control());
}

/// errc::corrupted, naming the ring and `what`.
std::error_code spsc_corrupted(const Location& where, const std::string& what);

/// head and tail are record boundaries, and tail is at most a ring ahead of
/// head. (tail may trail head: producers killed between their header and
/// tail stores leave it behind; the walk in find_published_end covers that.)
std::error_code check_spsc_indices(const SpscControl& c, uint64_t capacity, const Location& where);

/// Where the published records end: follow headers from max(head, tail),
/// both record boundaries at or before the end, to the zero end marker.
Result<uint64_t> find_published_end(const SpscControl& c, std::byte* data, uint64_t capacity,
                                    const Location& where);

inline RoleSlot spsc_role_slot(const Segment& seg, std::atomic<uint64_t>& slot) noexcept {
  return RoleSlot{&slot, seg.native_handle(), offset_in(seg, &slot)};
}

SpscStats read_spsc_stats(const Segment& seg, SpscControl& c) noexcept;

// Half the capacity, less a record header. A record never wraps: one that
// does not fit before the end of the data area needs padding to the end and
// then itself at offset 0, and both must fit between the consumer's position
// and its position a ring later (less the end marker). Wherever an empty
// ring's consumer stands, that holds for records of up to half the capacity,
// and for no larger one; so the largest message fits an empty ring at once,
// without waiting for the consumer to pass the padding. (Agrona's ring
// buffers bound their messages the same way, at an eighth.)
inline uint64_t spsc_max_message(uint64_t capacity) noexcept {
  return std::min<uint64_t>(capacity / 2 - kRecordHeader, UINT32_MAX & ~uint64_t{7});
}

}  // namespace ringdrop::detail

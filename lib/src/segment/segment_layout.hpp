// segment_layout.hpp — the bytes at the start of every ringdrop segment.
//
//   offset  size  field
//        0     8  magic "RINGDROP"; written last by the creator (release)
//        8     4  layout_version
//       12     4  kind (RingKind)
//       16     8  capacity: data bytes, a power of two
//       24     8  data_offset: where the data area starts
//       32     8  total_size: bytes of the whole segment
//       40     8  created_unix_ns: wall-clock creation time
//       48     8  creator: pid of the creating process
//       56     8  checksum: FNV-1a 64 of bytes 8..55 and 64..127
//       64    32  ring parameters: 4 x u64, meaning set by the kind
//       96    32  reserved, zero
//      128     -  the kind's control block (e.g. SpscControl)
//  data_offset -  the data area
//
// Fields after the magic never change once the magic is set; the checksum
// catches garbage that happens to start with the right eight bytes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ringdrop/segment.hpp"

namespace ringdrop::detail {

inline constexpr uint64_t kMagic = 0x504f5244474e4952ull;  // "RINGDROP", little-endian
inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr uint64_t kControlOffset = 128;
inline constexpr uint64_t kMinCapacity = 4096;

/// Cache-line size used for padding. 128, not 64: Intel's adjacent-line
/// prefetcher pulls cache lines in pairs, so 64-byte neighbours still share.
inline constexpr size_t kLine = 128;

struct SegmentHeader {
  std::atomic<uint64_t> magic;
  uint32_t layout_version;
  uint32_t kind;
  uint64_t capacity;
  uint64_t data_offset;
  uint64_t total_size;
  uint64_t created_unix_ns;
  uint64_t creator;
  uint64_t checksum;
  uint64_t params[4];
  uint8_t reserved[32];
};
static_assert(sizeof(SegmentHeader) == kControlOffset);
static_assert(offsetof(SegmentHeader, layout_version) == 8);
static_assert(offsetof(SegmentHeader, capacity) == 16);
static_assert(offsetof(SegmentHeader, checksum) == 56);
static_assert(offsetof(SegmentHeader, params) == 64);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

/// Where the data area of a ring of `kind` starts: past its control block,
/// page-aligned so a large message can be mapped or handed on as whole pages.
constexpr uint64_t data_offset_for(RingKind kind) noexcept {
  return kind == RingKind::spsc ? 4096 : 65536;
}

/// Where `field`, somewhere in `seg`'s mapping, lies in the segment: the
/// byte a role lock covers.
inline uint64_t offset_in(const Segment& seg, const void* field) noexcept {
  return static_cast<uint64_t>(static_cast<const std::byte*>(field) - seg.base());
}

/// FNV-1a 64 over bytes 8..55 and 64..127 of the header: everything the
/// magic vouches for but the checksum itself.
uint64_t header_checksum(const SegmentHeader& h) noexcept;

}  // namespace ringdrop::detail

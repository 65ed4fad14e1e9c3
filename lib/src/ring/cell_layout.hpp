// cell_layout.hpp — the fixed-size slots ("cells") of the shared rings
// (MPMC, broadcast).
//
// The SPSC ring packs variable-length records end to end; its one producer
// and one consumer can always tell where a record starts. With many
// producers and consumers, and any of them liable to die holding a record,
// each record instead lives in a cell of fixed size (a power of two chosen
// at creation) with its own 64-bit state word. A message may be any length
// up to the cell's payload (cell size - 16): variable-length records in
// fixed slots. The price is memory when sizes vary widely; the gain is that
// every transition — claimed, committed, taken, freed, abandoned, orphaned —
// is one CAS on one word, and a dead peer's cells are found and repaired
// one by one without stopping anyone.
//
//   [ state: u64 ][ size: u32 ][ deliveries: u32 ][ payload ... ]
//
// `deliveries` (MPMC) counts the times the record was handed to a consumer,
// the current one included. The producer writes 1 with the record (with its
// size, published by the READY store), so a first take costs the consumer
// nothing and a consumer killed right after its CAS leaves a true count, not
// the previous lap's (a dead letter's 5 would set the new record aside at
// its first redelivery). A consumer that takes an orphan owns the cell and
// writes count + 1 there, in the cell, so a count survives the crash it
// counts: a consumer that dies holding the record leaves it behind, and the
// kernel that tells the reaper of the death (the peer's lock, released at
// exit) orders that store before the reaper's CAS, which the next taker
// acquires.
//
// Cells are cell-size aligned (at least 64), so a payload is 8-byte aligned
// for Cap'n Proto and no two cells share a cache line.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"
#include "ringdrop/ring_options.hpp"

namespace ringdrop::detail {

struct CellHeader {
  std::atomic<uint64_t> state;
  uint32_t size;
  uint32_t deliveries;  // read and written through std::atomic_ref, relaxed (see above)
};
inline constexpr uint64_t kCellHeader = sizeof(CellHeader);
static_assert(kCellHeader == 16);
inline constexpr uint64_t kMinCellSize = 64;
inline constexpr uint64_t kDefaultCellSize = 256;

/// The ring parameters of a cell ring in its segment header
/// (SegmentInfo::params): the cell size and a 0/1 policy (MPMC: what happens
/// to a dead consumer's messages; broadcast: what a slow subscriber costs).
/// MPMC also keeps its max_deliveries (0 in rings made before it existed:
/// the default then).
enum CellRingParam { kCellSizeParam = 0, kPolicyParam = 1, kMaxDeliveriesParam = 2 };

/// Opens (or creates) the segment of an MPMC or broadcast ring. `cell_size`
/// 0 means kDefaultCellSize when creating and "any" when opening; `policy`
/// is stored when creating. Checks what an existing segment holds: an
/// impossible cell size or policy is errc::corrupted, another cell size than
/// asked for errc::capacity_mismatch.
Result<Segment> open_cell_segment(const Location& where, OpenMode how, RingKind kind,
                                  const RingOptions& options, uint32_t cell_size, uint32_t policy,
                                  uint32_t max_deliveries = 0);

inline CellHeader& cell_at(std::byte* data, uint64_t cell_size, uint64_t index) noexcept {
  return *reinterpret_cast<CellHeader*>(data + index * cell_size);
}

inline std::byte* cell_payload(CellHeader& cell) noexcept {
  return reinterpret_cast<std::byte*>(&cell) + kCellHeader;
}

}  // namespace ringdrop::detail

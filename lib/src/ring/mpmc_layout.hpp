// mpmc_layout.hpp — the MPMC ring: control block and cell states.
//
// Positions are 64-bit counters that only grow: producers claim position
// `tail`, consumers take position `head`; position p lives in cell
// p % cells, on lap p / cells. A cell's state word says, for one lap:
//
//   bits  0..3   phase: FREE, WRITING, READY, READING, ORPHAN
//   bits  4..9   peer index of the producer writing / consumer reading it
//   bits 10..23  that peer's generation (low 14 bits)
//   bits 24..63  lap (low 40 bits; compared modulo 2^40)
//
//   FREE@L    --producer CAS-->  WRITING@L --commit-->  READY@L
//   READY@L   --consumer CAS-->  READING@L --release--> FREE@L+1
//   WRITING@L, producer died --reaper-->  FREE@L+1          (abandoned)
//   READING@L, consumer died --reaper-->  ORPHAN@L          (redeliver policy)
//                                    or  FREE@L+1          (drop policy: lost)
//   ORPHAN@L  --any consumer CAS-->  READING@L
//
// Zero is FREE@0, so a zero-filled segment is an empty ring. A claimer moves
// `tail` (or `head`) on with a CAS after winning the cell, and anyone who
// finds the cell at `tail` (`head`) already won helps move it on, so a
// claimer that dies between the two CASes stalls nobody. `head` never passes
// a cell that is not READY, taken, or freed, so nothing committed is skipped.
#pragma once

#include <atomic>
#include <cstdint>

#include "ring/cell_layout.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "segment/peer_table.hpp"
#include "segment/segment_layout.hpp"
#include "segment/wait_line.hpp"

namespace ringdrop::detail {

enum CellPhase : uint64_t { kFree = 0, kWriting = 1, kReady = 2, kReading = 3, kOrphan = 4 };

// kLapMask (a lap's 40 bits): ringdrop/mpmc_ring.hpp, for the endpoint's
// inline lap().
/// The peer and generation bits of a state word: who wrote or holds the cell.
inline constexpr uint64_t kWriterBits = 0xfffff0;

struct CellState {
  uint64_t phase, peer, generation, lap;

  static constexpr CellState unpack(uint64_t s) noexcept {
    return {s & 0xf, (s >> 4) & 0x3f, (s >> 10) & 0x3fff, s >> 24};
  }
  constexpr uint64_t pack() const noexcept {
    return phase | (peer & 0x3f) << 4 | (generation & 0x3fff) << 10 | (lap & kLapMask) << 24;
  }
};

static_assert(CellState{0, 0x3f, 0x3fff, 0}.pack() == kWriterBits);

struct MpmcControl {
  alignas(kLine) std::atomic<uint64_t> tail;  // next position producers claim
  alignas(kLine) std::atomic<uint64_t> head;  // next position consumers take
  alignas(kLine) WaitLine data_wait;          // consumers wait here for data
  alignas(kLine) WaitLine space_wait;         // producers wait here for room
  alignas(kLine) std::atomic<uint64_t> orphans;  // cells awaiting redelivery
  std::atomic<uint64_t> abandoned;   // records whose producer died before commit
  std::atomic<uint64_t> redelivered; // records taken again after their consumer died
  std::atomic<uint64_t> lost;        // records whose consumer died (drop policy)
  std::atomic<uint64_t> high_water;  // the largest fill seen
  std::atomic<uint64_t> dead_lettered;  // set aside: max_deliveries reached, or rejected
  alignas(kLine) PeerTable peers;
};
static_assert(kControlOffset + sizeof(MpmcControl) <= data_offset_for(RingKind::mpmc));

}  // namespace ringdrop::detail

// mpmc_segment.hpp — what the MPMC ring's files share: the segment's
// opening and statistics, the peer table, and the checks on a cell's lap.
// The endpoint (joining, leaving, recovering a dead peer's cells):
// mpmc_endpoint.cpp; the producer: mpmc_producer.cpp; the consumer:
// mpmc_consumer.cpp. Cell states: mpmc_layout.hpp; peers: peer_table.hpp.
//
// Memory ordering, in one place:
//  - A producer wins a cell with a CAS FREE@L -> WRITING@L (acquire: the
//    consumer that freed it finished reading before its release store),
//    writes the payload with plain stores, then stores READY@L (release).
//    A consumer wins it with a CAS READY@L -> READING@L (acquire: it sees
//    the payload), reads, and stores FREE@L+1 (release). Each cell's state
//    word is the only synchronisation its payload needs.
//  - A consumer keeping up takes a cell with the CAS alone, expecting the
//    READY state its last take saw (take_expected); the failed CAS loads
//    with acquire, as the load it replaces.
//  - tail and head only tell claimers where to try next (relaxed): a stale
//    value costs a retry, never a wrong claim, since the cell CAS decides.
//  - The stores of READY and FREE, and the waiters' seq_cst re-checks, are
//    the sleep/wake handshake of wait_line.hpp (W2 needs no fence there).
//    The rare stores (a reaper's, a dead letter's) stay seq_cst.
#pragma once

#include <atomic>
#include <cstdint>

#include "ring/mpmc_layout.hpp"
#include "ringdrop/mpmc_ring.hpp"

namespace ringdrop::detail {

inline PeerTableRef mpmc_peers(const Segment& seg, MpmcControl* ctl) noexcept {
  return {&ctl->peers, seg.native_handle(), offset_in(seg, &ctl->peers)};
}

/// Opens (or creates) the segment of an MPMC ring, checking max_deliveries.
/// Errors: open_cell_segment's, invalid_argument.
Result<Segment> open_mpmc_segment(const Location& where, OpenMode how, const MpmcOptions& o);

/// The ring's statistics, with the peers alive now (and this process).
SharedRingStats read_mpmc_stats(const Segment& seg, MpmcControl& c);

// The count in a cell's header (cell_layout.hpp): written by the consumer
// that owns the cell, read by the next one to take it. relaxed: the cell's
// state word (its CAS) orders it, and across a crash the kernel does.
inline std::atomic_ref<uint32_t> deliveries_of(CellHeader& c) noexcept { return std::atomic_ref<uint32_t>(c.deliveries); }

// Whether the cell's lap is `l` + `d` (modulo 2^40; d may be -1).
inline bool at_lap(uint64_t cell, uint64_t l, int64_t d) noexcept {
  return cell == ((l + static_cast<uint64_t>(d)) & kLapMask);
}

/// errc::corrupted: the index `index` ("tail", "head") points at position
/// `pos` of lap `l`, but the cell's `state` holds another lap.
[[gnu::cold]] std::error_code impossible_cell(const Segment& seg, const char* index, uint64_t pos, uint64_t l,
                                              uint64_t state);

}  // namespace ringdrop::detail

// mpmc_segment.cpp — an MPMC ring's segment, apart from its ends: opening
// it, its statistics, and inspect_mpmc/peek_mpmc, which look at a ring
// without joining it. What the ring's files share: mpmc_segment.hpp.
#include "ring/mpmc_segment.hpp"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "core/platform.hpp"
#include "ring/dead_letter_sink.hpp"

namespace ringdrop::detail {

Result<Segment> open_mpmc_segment(const Location& where, OpenMode how, const MpmcOptions& o) {
  if (auto ec = detail::check_max_deliveries(o.max_deliveries, where)) return ec;
  return detail::open_cell_segment(where, how, RingKind::mpmc, o, o.cell_size,
                                  static_cast<uint32_t>(o.on_consumer_death), o.max_deliveries);
}

SharedRingStats read_mpmc_stats(const Segment& seg, MpmcControl& c) {
  const SegmentInfo info = seg.info();
  SharedRingStats s;
  s.capacity = info.capacity;
  s.cell_size = info.params[detail::kCellSizeParam];
  s.cells = s.capacity / s.cell_size;
  const uint64_t head = c.head.load(std::memory_order_relaxed);
  const uint64_t tail = c.tail.load(std::memory_order_relaxed);
  s.fill = tail > head ? tail - head : 0;
  s.high_water = c.high_water.load(std::memory_order_relaxed);
  s.abandoned = c.abandoned.load(std::memory_order_relaxed);
  s.redelivered = c.redelivered.load(std::memory_order_relaxed);
  s.lost = c.lost.load(std::memory_order_relaxed);
  s.dead_lettered = c.dead_lettered.load(std::memory_order_relaxed);
  const auto& retired = c.peers.retired;
  s.messages_committed = retired[1].messages.load(std::memory_order_relaxed);
  s.bytes_committed = retired[1].bytes.load(std::memory_order_relaxed);
  s.producer_waits = retired[1].waits.load(std::memory_order_relaxed);
  s.messages_consumed = retired[2].messages.load(std::memory_order_relaxed);
  s.bytes_consumed = retired[2].bytes.load(std::memory_order_relaxed);
  s.consumer_waits = retired[2].waits.load(std::memory_order_relaxed);
  const auto peers = mpmc_peers(seg, &c);
  for (unsigned i = 0; i < detail::kMaxPeers; ++i) {
    const auto& e = c.peers.entries[i];
    const uint32_t role = e.role.load(std::memory_order_acquire);
    if (role == 0) continue;
    PeerInfo p{e.pid.load(std::memory_order_relaxed), role == 1,
               e.messages.load(std::memory_order_relaxed), e.bytes.load(std::memory_order_relaxed),
               e.waits.load(std::memory_order_relaxed)};
    (p.producer ? s.messages_committed : s.messages_consumed) += p.messages;
    (p.producer ? s.bytes_committed : s.bytes_consumed) += p.bytes;
    (p.producer ? s.producer_waits : s.consumer_waits) += p.waits;
    if (peers.alive(i) || p.pid == static_cast<uint32_t>(::getpid())) s.peers.push_back(p);
  }
  return s;
}

[[gnu::cold]] std::error_code impossible_cell(const Segment& seg, const char* index, uint64_t pos, uint64_t l,
                                              uint64_t state) {
  const CellState st = CellState::unpack(state);
  return detail::fail(errc::corrupted, seg.location().describe() + ": " + index + " is at position " +
                                           std::to_string(pos) + " (lap " + std::to_string(l) +
                                           ") but its cell holds lap " + std::to_string(st.lap) + ", phase " +
                                           std::to_string(st.phase) + ": the index or the cell was damaged");
}

}  // namespace ringdrop::detail

namespace ringdrop {

using detail::CellState;
using detail::kCellHeader;
using detail::MpmcControl;
using detail::open_mpmc_segment;
using detail::read_mpmc_stats;

Result<SharedRingStats> inspect_mpmc(const Location& where) {
  auto seg = open_mpmc_segment(where, OpenMode::open, MpmcOptions{});
  if (!seg) return seg.error();
  return read_mpmc_stats(*seg, *reinterpret_cast<MpmcControl*>(seg->control()));
}

Result<std::vector<std::vector<std::byte>>> peek_mpmc(const Location& where, size_t max, uint64_t* held) {
  auto seg = open_mpmc_segment(where, OpenMode::open, MpmcOptions{});
  if (!seg) return seg.error();
  const uint64_t cell_size = seg->info().params[detail::kCellSizeParam];
  const uint64_t cells = seg->info().capacity / cell_size;
  // Every cell, not only head..tail: orphans (awaiting redelivery) and cells
  // a consumer holds sit behind head. Each waiting one is keyed by its
  // position (lap * cells + index), so the oldest come first.
  std::vector<std::pair<uint64_t, std::vector<std::byte>>> found;
  uint64_t holding = 0;
  for (uint64_t i = 0; i < cells; ++i) {
    auto& c = detail::cell_at(seg->data(), cell_size, i);
    // acquire: pairs with the producer's READY store (or the reaper's ORPHAN
    // store); the payload is visible.
    const uint64_t before = c.state.load(std::memory_order_acquire);
    const CellState st = CellState::unpack(before);
    if (st.phase == detail::kReading) ++holding;
    if (st.phase != detail::kReady && st.phase != detail::kOrphan) continue;  // not waiting
    const uint32_t size = c.size;
    if (size > cell_size - kCellHeader) continue;  // damage: the ring's consumers will say so
    std::vector<std::byte> copy(detail::cell_payload(c), detail::cell_payload(c) + size);
    // A seqlock check: the state unchanged after the copy (the copy's loads
    // ordered before it) means no consumer took the cell, and so no
    // producer refilled it, while it was copied.
    if (detail::seqlock_recheck(c.state) != before) continue;
    found.emplace_back(st.lap * cells + i, std::move(copy));
  }
  if (seg->damaged()) return seg->damage();  // truncated under us: the copies may be zero pages
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::vector<std::byte>> out;
  for (auto& [pos, bytes] : found) {
    if (out.size() == max) break;
    out.push_back(std::move(bytes));
  }
  if (held) *held = holding;
  return out;
}

}  // namespace ringdrop

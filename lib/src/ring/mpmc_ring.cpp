// mpmc_ring.cpp — the MPMC ring. Cell states: mpmc_layout.hpp; peers:
// peer_table.hpp.
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
#include "ringdrop/mpmc_ring.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "core/platform.hpp"
#include "ring/copying.hpp"
#include "ring/dead_letter_sink.hpp"
#include "ring/too_large.hpp"
#include "ring/would_block.hpp"
#include "ring/mpmc_layout.hpp"

namespace ringdrop {

using detail::CellHeader;
using detail::CellState;
using detail::kCellHeader;
using detail::kWriterBits;
using detail::MpmcControl;
using detail::PeerRole;

namespace {

detail::PeerTableRef peers_of(const Segment& seg, MpmcControl* ctl) noexcept {
  return {&ctl->peers, seg.native_handle(), detail::offset_in(seg, &ctl->peers)};
}

Result<Segment> open_mpmc_segment(const Location& where, OpenMode how, const MpmcOptions& o) {
  if (auto ec = detail::check_max_deliveries(o.max_deliveries, where)) return ec;
  return detail::open_cell_segment(where, how, RingKind::mpmc, o, o.cell_size,
                                  static_cast<uint32_t>(o.on_consumer_death), o.max_deliveries);
}

// The count in a cell's header (cell_layout.hpp): written by the consumer
// that owns the cell, read by the next one to take it. relaxed: the cell's
// state word (its CAS) orders it, and across a crash the kernel does.
std::atomic_ref<uint32_t> deliveries_of(CellHeader& c) noexcept { return std::atomic_ref<uint32_t>(c.deliveries); }

SharedRingStats read_stats(const Segment& seg, MpmcControl& c) {
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
  const auto peers = peers_of(seg, &c);
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

// Whether the cell's lap is `l` + `d` (modulo 2^40; d may be -1).
bool at_lap(uint64_t cell, uint64_t l, int64_t d) noexcept {
  return cell == ((l + static_cast<uint64_t>(d)) & detail::kLapMask);
}

[[gnu::cold]] std::error_code impossible_cell(const Segment& seg, const char* index, uint64_t pos, uint64_t l,
                                              uint64_t state) {
  const CellState st = CellState::unpack(state);
  return detail::fail(errc::corrupted, seg.location().describe() + ": " + index + " is at position " +
                                           std::to_string(pos) + " (lap " + std::to_string(l) +
                                           ") but its cell holds lap " + std::to_string(st.lap) + ", phase " +
                                           std::to_string(st.phase) + ": the index or the cell was damaged");
}

// A record whose size word is larger than a cell can hold was damaged: it
// cannot be delivered. Its cell (held by the caller) is freed and the
// record counted lost, so the ring goes on; the caller reports corrupted.
[[gnu::cold]] std::error_code drop_damaged(const Segment& seg, MpmcControl& ctl, CellHeader& c, uint64_t lap,
                                           uint32_t size) {
  // seq_cst: frees the cell as release() does (W2 of the sleep/wake handshake).
  c.state.store(CellState{detail::kFree, 0, 0, lap + 1}.pack(), std::memory_order_seq_cst);
  ctl.lost.fetch_add(1, std::memory_order_relaxed);
  detail::notify(ctl.space_wait);
  return detail::fail(errc::corrupted, seg.location().describe() + ": a record says it holds " +
                                           std::to_string(size) + " bytes, more than a cell takes (" +
                                           std::to_string(seg.info().params[detail::kCellSizeParam] - kCellHeader) +
                                           "): it was damaged, and is dropped and counted lost");
}

}  // namespace

Result<SharedRingStats> inspect_mpmc(const Location& where) {
  auto seg = open_mpmc_segment(where, OpenMode::open, MpmcOptions{});
  if (!seg) return seg.error();
  return read_stats(*seg, *reinterpret_cast<MpmcControl*>(seg->control()));
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

// ================================================================ endpoint

MpmcEndpoint::MpmcEndpoint(Segment segment, const MpmcOptions& options) noexcept
    : segment_(std::move(segment)),
      ctl_(reinterpret_cast<MpmcControl*>(segment_.control())),
      data_(segment_.data()),
      cell_size_(segment_.info().params[detail::kCellSizeParam]),
      cells_(segment_.info().capacity / cell_size_),
      cell_shift_(static_cast<unsigned>(std::countr_zero(cells_))),
      redeliver_(segment_.info().params[detail::kPolicyParam] == 0),
      wait_(options.wait) {}

MpmcEndpoint::MpmcEndpoint(MpmcEndpoint&& o) noexcept
    : segment_(std::move(o.segment_)),
      ctl_(std::exchange(o.ctl_, nullptr)),
      data_(o.data_),
      cell_size_(o.cell_size_),
      cells_(o.cells_),
      cell_shift_(o.cell_shift_),
      redeliver_(o.redeliver_),
      wait_(o.wait_),
      index_(o.index_),
      generation_(o.generation_),
      owner_(o.owner_) {}

MpmcEndpoint& MpmcEndpoint::operator=(MpmcEndpoint&& o) noexcept {
  if (this != &o) {
    leave();
    segment_ = std::move(o.segment_);
    ctl_ = std::exchange(o.ctl_, nullptr);
    data_ = o.data_;
    cell_size_ = o.cell_size_;
    cells_ = o.cells_;
    cell_shift_ = o.cell_shift_;
    redeliver_ = o.redeliver_;
    wait_ = o.wait_;
    index_ = o.index_;
    generation_ = o.generation_;
    owner_ = o.owner_;
  }
  return *this;
}

MpmcEndpoint::~MpmcEndpoint() { leave(); }

std::byte* MpmcEndpoint::cell(uint64_t position) const noexcept {
  return data_ + (position & (cells_ - 1)) * cell_size_;
}

uint64_t MpmcEndpoint::lap(uint64_t position) const noexcept {
  return (position >> cell_shift_) & detail::kLapMask;
}

uint64_t MpmcEndpoint::me() const noexcept { return uint64_t{1} << index_; }

// Repairs the cells a departed peer held: a half-written record is
// abandoned, a record it was reading goes back (or is counted lost).
void MpmcEndpoint::recover(unsigned index, uint64_t generation) noexcept {
  for (uint64_t i = 0; i < cells_; ++i) {
    auto& c = detail::cell_at(data_, cell_size_, i);
    uint64_t s = c.state.load(std::memory_order_acquire);
    CellState st = CellState::unpack(s);
    if (st.peer != index || st.generation != (generation & 0x3fff)) continue;
    if (st.phase == detail::kWriting) {
      if (c.state.compare_exchange_strong(s, CellState{detail::kFree, 0, 0, st.lap + 1}.pack())) {
        ctl_->abandoned.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (st.phase == detail::kReading && redeliver_) {
      // Counted before it exists, so the count is never short of the
      // orphans there are (take_orphan() corrects a count that is over).
      ctl_->orphans.fetch_add(1, std::memory_order_relaxed);
      if (!c.state.compare_exchange_strong(s, CellState{detail::kOrphan, 0, 0, st.lap}.pack())) {
        ctl_->orphans.fetch_sub(1, std::memory_order_relaxed);
      }
    } else if (st.phase == detail::kReading) {
      if (c.state.compare_exchange_strong(s, CellState{detail::kFree, 0, 0, st.lap + 1}.pack())) {
        ctl_->lost.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  detail::forget_sleeper(ctl_->data_wait, uint64_t{1} << index);
  detail::forget_sleeper(ctl_->space_wait, uint64_t{1} << index);
  // Cells changed state: let waiters look again.
  detail::notify(ctl_->data_wait);
  detail::notify(ctl_->space_wait);
}

std::error_code MpmcEndpoint::join(bool producer) {
  auto peers = peers_of(segment_, ctl_);
  auto index = peers.join(producer ? PeerRole::producer : PeerRole::consumer,
                          [this](unsigned i, const detail::PeerEntry& e) {
                            recover(i, e.generation.load(std::memory_order_relaxed));
                          },
                          segment_.location().describe());
  if (!index) {
    ctl_ = nullptr;
    return index.error();
  }
  index_ = *index;
  generation_ = ctl_->peers.entries[index_].generation.load(std::memory_order_relaxed) & 0x3fff;
  owner_ = ::getpid();
  detail::forget_sleeper(ctl_->data_wait, me());
  detail::forget_sleeper(ctl_->space_wait, me());
  return {};
}

void MpmcEndpoint::leave() noexcept {
  if (ctl_ == nullptr) return;
  if (owner_ == ::getpid()) {  // in a forked child, the entry is the parent's
    peers_of(segment_, ctl_).leave(index_);
    // Wake everyone: a waiter may be waiting for the last peer to go.
    detail::wake_all(ctl_->data_wait);
    detail::wake_all(ctl_->space_wait);
  }
  ctl_ = nullptr;
}

void MpmcEndpoint::reap() noexcept {
  peers_of(segment_, ctl_).reap(index_, [this](unsigned i, const detail::PeerEntry& e) {
    recover(i, e.generation.load(std::memory_order_relaxed));
  });
}

bool MpmcEndpoint::peers_gone(bool producers) noexcept {
  reap();
  const auto role = producers ? PeerRole::producer : PeerRole::consumer;
  const bool ever = ctl_->peers.retired[static_cast<uint32_t>(role)].joined.load(
                        std::memory_order_relaxed) > 0;
  return ever && !peers_of(segment_, ctl_).any_live(role, index_);
}

SharedRingStats MpmcEndpoint::stats() const { return read_stats(segment_, *ctl_); }

// ================================================================ producer

Result<MpmcProducer> MpmcProducer::open(const Location& where, OpenMode how,
                                        const MpmcOptions& options) {
  auto seg = open_mpmc_segment(where, how, options);
  if (!seg) return seg.error();
  MpmcProducer p(std::move(*seg), options);
  if (auto ec = p.join(true)) return ec;
  p.staged_.reserve(64);
  return p;
}

void MpmcProducer::close() noexcept {
  if (ctl_ == nullptr || owner_ != ::getpid()) return;
  publish();
  if (has_reservation_) {  // abandon it ourselves: nobody reaps a clean leaver
    auto& c = *reinterpret_cast<CellHeader*>(cell(reserved_));
    c.state.store(CellState{detail::kFree, 0, 0, lap(reserved_) + 1}.pack(), std::memory_order_seq_cst);
    ctl_->abandoned.fetch_add(1, std::memory_order_relaxed);
    has_reservation_ = false;
  }
}

MpmcProducer& MpmcProducer::operator=(MpmcProducer&& o) noexcept {
  if (this != &o) {
    close();
    MpmcEndpoint::operator=(std::move(o));
    reserved_ = o.reserved_;
    reserved_size_ = o.reserved_size_;
    has_reservation_ = std::exchange(o.has_reservation_, false);
    staged_ = std::move(o.staged_);
    o.staged_.clear();
  }
  return *this;
}

MpmcProducer::~MpmcProducer() { close(); }

Result<std::span<std::byte>> MpmcProducer::try_reserve(size_t size) {
  if (size > max_message_size()) return detail::too_large(segment_, size, max_message_size());
  if (has_reservation_) {  // reserving again: the open reservation's cell serves
    reserved_size_ = size;
    return std::span<std::byte>(detail::cell_payload(*reinterpret_cast<CellHeader*>(cell(reserved_))), size);
  }
  auto& entry = ctl_->peers.entries[index_];
  for (;;) {
    // acquire: tail only says where to try (the cell's CAS decides), but every
    // cell below it must then be seen claimed, or damage could not be told
    // from a stale read. Free on x86; pairs with the release CASes below.
    const uint64_t pos = ctl_->tail.load(std::memory_order_acquire);
    auto& c = *reinterpret_cast<CellHeader*>(cell(pos));
    // acquire: the consumer that freed this cell finished reading it.
    uint64_t s = c.state.load(std::memory_order_acquire);
    const CellState st = CellState::unpack(s);
    const uint64_t l = lap(pos);
    if (st.lap == l && st.phase == detail::kFree) {
      const uint64_t mine = CellState{detail::kWriting, index_, generation_, l}.pack();
      if (!c.state.compare_exchange_weak(s, mine, std::memory_order_acquire, std::memory_order_relaxed)) continue;
      uint64_t expected = pos;
      // release: whoever reads the new tail (acquire) sees this cell claimed.
      ctl_->tail.compare_exchange_strong(expected, pos + 1, std::memory_order_release, std::memory_order_relaxed);
      if ((pos & 63) == 0) note_fill(pos);
      // The cell after next, for our next claims' CAS: its line is most
      // likely in the consumer that freed it. Measured in a minimal
      // two-process driver: MPMC 1->1 +25% (one cell ahead +20%, four +20%,
      // eight +15%); ringdrop-pingpong's rows did not move beyond noise.
      detail::prefetch_for_write(cell(pos + 2));
      reserved_ = pos;
      reserved_size_ = size;
      has_reservation_ = true;
      return std::span<std::byte>(detail::cell_payload(c), size);
    }
    if (st.lap == ((l - 1) & detail::kLapMask) && st.phase != detail::kFree) {  // last lap's message: full
      if (st.phase == detail::kOrphan && ctl_->orphans.load(std::memory_order_relaxed) == 0) {
        // The count says none, but here is one (a scan zeroed the count
        // while a recovery was between counting and orphaning): count it,
        // or no consumer would ever look for it.
        ctl_->orphans.fetch_add(1, std::memory_order_relaxed);
        detail::notify(ctl_->data_wait);
      }
      publish();  // our staged cells must reach consumers before we wait
      note_fill(pos - 1);
      entry.waits.store(entry.waits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return detail::would_block_or_damaged(segment_);
    }
    // Any lap but this one (taken) or the next (done) means we read tail
    // before it moved on, or tail or the cell was damaged: a cell never
    // filled though tail passed it (behind), or filled laps after tail's
    // lap (ahead). Helping on would never end. Damage if tail is still
    // where it was: tail is loaded with acquire and moved on with release,
    // so a cell's lap never runs ahead of a fresh load's, nor behind it.
    if (!at_lap(st.lap, l, 0) && !at_lap(st.lap, l, 1)) {
      if (ctl_->tail.load(std::memory_order_acquire) != pos) continue;
      return impossible_cell(segment_, "tail", pos, l, s);
    }
    // This lap's cell is taken, or already done (a claimer died before moving
    // tail, and its cell was repaired): help tail on, try the next.
    uint64_t expected = pos;
    // release: whoever reads the new tail (acquire) sees the cell taken.
    ctl_->tail.compare_exchange_strong(expected, pos + 1, std::memory_order_release, std::memory_order_relaxed);
  }
}

// Statistics: the fill at claim `pos`. head is the consumers' hot line, so
// this looks at it only for one claim in 64 (and when the ring is full).
void MpmcProducer::note_fill(uint64_t pos) noexcept {
  const uint64_t fill = pos + 1 - ctl_->head.load(std::memory_order_relaxed);
  uint64_t hw = ctl_->high_water.load(std::memory_order_relaxed);
  while (fill > hw && fill <= cells_ &&
         !ctl_->high_water.compare_exchange_weak(hw, fill, std::memory_order_relaxed)) {
  }
}

Result<std::span<std::byte>> MpmcProducer::reserve(size_t size, Deadline deadline) {
  for (;;) {
    // What we wait to see change is read *before* trying: a release that
    // lands between the try and the wait must still end the wait.
    const uint64_t pos = ctl_->tail.load(std::memory_order_seq_cst);
    auto& c = *reinterpret_cast<CellHeader*>(cell(pos));
    const uint64_t seen = c.state.load(std::memory_order_seq_cst);
    auto span = try_reserve(size);
    if (span || span.error() != errc::would_block) return span;
    // A wake whose promise the try did not bear out must not outlive the
    // deadline either.
    if (Clock::now() >= deadline) return detail::no_room(segment_);
    auto ec = detail::wait_until(
        wait_, ctl_->space_wait, me(), deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] {
          return c.state.load(std::memory_order_seq_cst) != seen ||
                 ctl_->tail.load(std::memory_order_seq_cst) != pos || segment_.damaged();
        },
        [&] { return peers_gone(false); });
    if (ec) return detail::no_room(segment_, ec);
  }
}

Result<std::span<std::byte>> MpmcProducer::reserve(size_t size, std::chrono::nanoseconds timeout) {
  auto span = try_reserve(size);  // read the clock only if we must wait
  if (span || span.error() != errc::would_block) return span;
  return reserve(size, deadline_after(timeout));
}

std::error_code MpmcProducer::stage(size_t used) {
  if (!has_reservation_ || used > reserved_size_) return errc::invalid_argument;
  auto& c = *reinterpret_cast<CellHeader*>(cell(reserved_));
  c.size = static_cast<uint32_t>(used);
#ifndef RINGDROP_BENCH_UNCOUNTED  // bench/ only: the baseline the count's cost is measured against
  // The first delivery's count, written with the record (cell_layout.hpp):
  // published by the READY store, as the size is.
  deliveries_of(c).store(1, std::memory_order_relaxed);
#endif
  staged_.push_back(reserved_);
  has_reservation_ = false;
  return {};
}

void MpmcProducer::publish() noexcept {
  if (staged_.empty()) return;
  publish_unwoken();
  wake();
}

void MpmcProducer::wake() noexcept {
  if (ctl_ != nullptr) detail::notify(ctl_->data_wait);
}

// The records' stores, W2 of the sleep/wake handshake; wake() (R2, the
// sleepers' check) may come later: whatever the producer does between
// them, a sleeper either sees the record, is seen, or sees the record
// while it settles (wait_line.hpp).
void MpmcProducer::publish_unwoken() noexcept {
  if (staged_.empty()) return;
  uint64_t bytes = 0;
  for (const uint64_t pos : staged_) {
    auto& c = *reinterpret_cast<CellHeader*>(cell(pos));
    bytes += c.size;
    // release: publishes the payload (the taker's CAS acquires it); also W2
    // of the sleep/wake handshake.
    c.state.store(CellState{detail::kReady, index_, generation_, lap(pos)}.pack(),
                  std::memory_order_release);
  }
  auto& entry = ctl_->peers.entries[index_];  // our own line: plain counting
  entry.messages.store(entry.messages.load(std::memory_order_relaxed) + staged_.size(),
                       std::memory_order_relaxed);
  entry.bytes.store(entry.bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  staged_.clear();
}

std::error_code MpmcProducer::commit(size_t used) {
  const std::error_code ec = commit_unwoken(used);
  wake();
  return ec;
}

std::error_code MpmcProducer::commit_unwoken(size_t used) {
  if (auto ec = stage(used)) return ec;
  publish_unwoken();
  // A truncation under us (bus_guard.hpp) turned what we wrote into nothing.
  if (segment_.damaged()) return segment_.damage();
  return {};
}

std::error_code MpmcProducer::try_send(std::span<const std::byte> message) {
  return detail::send_copy(*this, message);
}

std::error_code MpmcProducer::send(std::span<const std::byte> message, Deadline deadline) {
  return detail::send_copy(*this, message, deadline);
}

std::error_code MpmcProducer::send(std::span<const std::byte> message,
                                   std::chrono::nanoseconds timeout) {
  return detail::send_copy(*this, message, timeout);
}

// ================================================================ consumer

Result<MpmcConsumer> MpmcConsumer::open(const Location& where, OpenMode how,
                                        const MpmcOptions& options) {
  auto seg = open_mpmc_segment(where, how, options);
  if (!seg) return seg.error();
  MpmcConsumer c(std::move(*seg), options);
  if (auto ec = c.join(false)) return ec;
  c.held_.reserve(64);
  const uint64_t max = c.segment_.info().params[detail::kMaxDeliveriesParam];
  c.max_deliveries_ = max != 0 ? static_cast<uint32_t>(max) : detail::kDefaultMaxDeliveries;
  c.dead_letters_ = std::make_shared<detail::DeadLetterSink>(where, options.dead_letters, RingKind::mpmc);
  return c;
}

void MpmcConsumer::close() noexcept {
  if (ctl_ == nullptr || owner_ != ::getpid()) return;
  // What we read but did not release follows the ring's policy, as if we
  // had died: delivered again, or counted lost.
  if (!held_.empty()) recover(index_, generation_);
  held_.clear();
}

MpmcConsumer& MpmcConsumer::operator=(MpmcConsumer&& o) noexcept {
  if (this != &o) {
    close();
    MpmcEndpoint::operator=(std::move(o));
    held_ = std::move(o.held_);
    o.held_.clear();
    max_deliveries_ = o.max_deliveries_;
    last_deliveries_ = o.last_deliveries_;
    last_writer_ = o.last_writer_;
    streaming_ = o.streaming_;
    dead_letters_ = std::move(o.dead_letters_);
    on_dead_letter_ = std::move(o.on_dead_letter_);
  }
  return *this;
}

MpmcConsumer::~MpmcConsumer() { close(); }

// Sets aside the orphan we took (READING by us), delivered `deliveries`
// times already, each to a consumer that died: a dead letter, its cell
// freed. If the store cannot take it, it goes back to ORPHAN, as it was, and
// `failed` says why.
bool MpmcConsumer::set_aside(CellHeader& c, uint64_t lap, uint32_t size, uint32_t deliveries,
                             std::error_code& failed) {
  const std::span<const std::byte> bytes(detail::cell_payload(c), size);
  if (auto ec = dead_letters_->put_exhausted(bytes, deliveries, max_deliveries_)) {
    ctl_->orphans.fetch_add(1, std::memory_order_relaxed);  // counted before it exists, as recover() does
    // seq_cst: R1/W2 of the sleep/wake handshake, as recover()'s CAS.
    c.state.store(CellState{detail::kOrphan, 0, 0, lap}.pack(), std::memory_order_seq_cst);
    failed = ec;
    return false;
  }
  if (on_dead_letter_) {
    try {
      on_dead_letter_(bytes, deliveries);
    } catch (...) {  // the message is stored: the ring goes on regardless
    }
  }
  // seq_cst: frees the cell as release() does (W2 of the sleep/wake handshake).
  c.state.store(CellState{detail::kFree, 0, 0, lap + 1}.pack(), std::memory_order_seq_cst);
  ctl_->dead_lettered.fetch_add(1, std::memory_order_relaxed);
  detail::notify(ctl_->space_wait);
  return true;
}

// Takes a record whose consumer died (redeliver policy), if there is one:
// delivered again, or set aside when it has had its deliveries.
bool MpmcConsumer::take_orphan(std::span<const std::byte>& view, std::error_code& damaged) {
  uint64_t counted = ctl_->orphans.load(std::memory_order_relaxed);
  for (uint64_t i = 0; i < cells_; ++i) {
    auto& c = detail::cell_at(data_, cell_size_, i);
    uint64_t s = c.state.load(std::memory_order_acquire);
    const CellState st = CellState::unpack(s);
    if (st.phase != detail::kOrphan) continue;
    const uint64_t mine = CellState{detail::kReading, index_, generation_, st.lap}.pack();
    if (!c.state.compare_exchange_strong(s, mine, std::memory_order_acquire)) continue;
    ctl_->orphans.fetch_sub(1, std::memory_order_relaxed);
    const uint32_t size = c.size;  // read once: another process may write it
    if (size > max_message_size()) {
      damaged = drop_damaged(segment_, *ctl_, c, st.lap, size);
      return true;
    }
    const uint32_t delivered = deliveries_of(c).load(std::memory_order_relaxed);
    if (delivered >= max_deliveries_) {
      if (set_aside(c, st.lap, size, delivered, damaged)) continue;  // look for another
      return true;
    }
    deliveries_of(c).store(delivered + 1, std::memory_order_relaxed);
    last_deliveries_ = delivered + 1;
    ctl_->redelivered.fetch_add(1, std::memory_order_relaxed);
    held_.push_back(st.lap << cell_shift_ | i);  // same lap and cell: all release needs
    view = std::span<const std::byte>(detail::cell_payload(c), size);
    return true;
  }
  // None found: the count was over (a taker or recoverer died between its
  // two steps). Zero it, unless it moved meanwhile.
  ctl_->orphans.compare_exchange_strong(counted, 0, std::memory_order_relaxed);
  return false;
}

// The take of a consumer that is keeping up with its producers: the cell
// at head is most likely READY@l, written by the producer of the last
// record taken, so the CAS goes first, with that as its expected value, and
// the cell's line comes over once, for writing. Looking first (a load, then
// the CAS) costs two transfers of the line: +30% MPMC 1->1 in a minimal
// two-process driver with the host's cores far apart, nothing with them
// close (ringdrop-pingpong's rows did not move). At the producers' heels
// the guess is wrong and the CAS would pull the line from the producer
// writing it, so try_read() looks first there (streaming_ false). On
// failure `s` is the cell's state, as a load would have read it.
bool MpmcConsumer::take_expected(CellHeader& c, uint64_t l, uint64_t mine, uint64_t& s) noexcept {
  s = last_writer_ | CellState{detail::kReady, 0, 0, l}.pack();
  return c.state.compare_exchange_strong(s, mine, std::memory_order_acquire, std::memory_order_acquire);
}

Result<std::span<const std::byte>> MpmcConsumer::try_read() {
  std::span<const std::byte> view;
  auto& entry = ctl_->peers.entries[index_];
  auto count = [&](std::span<const std::byte> v) {  // our own line: plain counting
    entry.messages.store(entry.messages.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    entry.bytes.store(entry.bytes.load(std::memory_order_relaxed) + v.size(), std::memory_order_relaxed);
    return v;
  };
  // relaxed: a hint; the orphan's own state word is what is claimed.
  std::error_code damaged;
  if (ctl_->orphans.load(std::memory_order_relaxed) != 0 && take_orphan(view, damaged)) {
    if (damaged) return damaged;
    return count(view);
  }
  for (;;) {
    // acquire: as for tail in try_reserve (the cell's CAS decides; every cell
    // below head is then seen taken).
    const uint64_t pos = ctl_->head.load(std::memory_order_acquire);
    auto& c = *reinterpret_cast<CellHeader*>(cell(pos));
    const uint64_t l = lap(pos);
    const uint64_t mine = CellState{detail::kReading, index_, generation_, l}.pack();
    // Keeping up: the CAS alone (take_expected); else look first. Either
    // way `s` is the cell's state, read with acquire (pairs with the
    // producer's READY store: the payload is visible).
    uint64_t s = 0;
    const bool won = streaming_ && take_expected(c, l, mine, s);
    if (!streaming_) s = c.state.load(std::memory_order_acquire);
    const CellState st = CellState::unpack(s);
    const bool taken = (st.lap == l && (st.phase == detail::kReading || st.phase == detail::kOrphan)) ||
                       st.lap == ((l + 1) & detail::kLapMask);
    if (won || (st.lap == l && st.phase == detail::kReady)) {
      // acquire: pairs with the producer's READY store; the payload is visible.
      if (!won && !c.state.compare_exchange_weak(s, mine, std::memory_order_acquire, std::memory_order_relaxed)) {
        continue;
      }
      if (!won) last_writer_ = s & kWriterBits;
      streaming_ = true;
      uint64_t expected = pos;
      // release: whoever reads the new head (acquire) sees this cell taken.
      ctl_->head.compare_exchange_strong(expected, pos + 1, std::memory_order_release, std::memory_order_relaxed);
      const uint32_t size = c.size;  // read once: another process may write it
      if (size > max_message_size()) return drop_damaged(segment_, *ctl_, c, l, size);
      last_deliveries_ = 1;  // the producer wrote 1 with the record
      held_.push_back(pos);
      return count(std::span<const std::byte>(detail::cell_payload(c), size));
    }
    if (taken) {  // another consumer has it, or it is done: help head on
      uint64_t expected = pos;
      ctl_->head.compare_exchange_strong(expected, pos + 1, std::memory_order_release, std::memory_order_relaxed);
      continue;
    }
    // Nothing yet is this lap's FREE or WRITING, or last lap's record not
    // yet freed. Any other lap: a stale head, or damage (as for tail above).
    if (!at_lap(st.lap, l, 0) && !at_lap(st.lap, l, -1)) {
      if (ctl_->head.load(std::memory_order_acquire) != pos) continue;
      return impossible_cell(segment_, "head", pos, l, s);
    }
    if (ctl_->head.load(std::memory_order_relaxed) != pos) continue;
    // FREE or WRITING this lap, or last lap's record still held: nothing yet.
    streaming_ = false;  // look before taking again: we are at the producers' heels
    entry.waits.store(entry.waits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return detail::would_block_or_damaged(segment_);
  }
}

Result<std::span<const std::byte>> MpmcConsumer::read(Deadline deadline) {
  for (;;) {
    // What we wait to see change is read *before* trying: a commit that
    // lands between the try and the wait must still end the wait.
    const uint64_t pos = ctl_->head.load(std::memory_order_seq_cst);
    auto& c = *reinterpret_cast<CellHeader*>(cell(pos));
    const uint64_t seen = c.state.load(std::memory_order_seq_cst);
    auto view = try_read();
    if (view || view.error() != errc::would_block) return view;
    // A wake whose promise the try did not bear out must not outlive the
    // deadline either.
    if (Clock::now() >= deadline) return errc::timed_out;
    auto ec = detail::wait_until(
        wait_, ctl_->data_wait, me(), deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] {
          return c.state.load(std::memory_order_seq_cst) != seen ||
                 ctl_->head.load(std::memory_order_seq_cst) != pos ||
                 ctl_->orphans.load(std::memory_order_seq_cst) != 0 || segment_.damaged();
        },
        [&] { return peers_gone(true); });
    if (ec) return ec;
  }
}

Result<std::span<const std::byte>> MpmcConsumer::read(std::chrono::nanoseconds timeout) {
  auto view = try_read();  // read the clock only if we must wait
  if (view || view.error() != errc::would_block) return view;
  return read(deadline_after(timeout));
}

std::error_code MpmcConsumer::release() noexcept { return release_oldest(held_.size()); }

std::error_code MpmcConsumer::release_oldest(size_t count) noexcept {
  count = std::min(count, held_.size());
  if (count == 0) return {};
  for (size_t i = 0; i < count; ++i) {
    auto& c = *reinterpret_cast<CellHeader*>(cell(held_[i]));
    // release: we are done reading (the next claimer's CAS acquires it);
    // also W2 of the sleep/wake handshake.
    c.state.store(CellState{detail::kFree, 0, 0, lap(held_[i]) + 1}.pack(), std::memory_order_release);
  }
  held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(count));
  detail::notify(ctl_->space_wait);
  return {};
}

std::error_code MpmcConsumer::reject(std::string_view reason) {
  if (held_.empty()) return detail::fail(errc::invalid_argument, "reject: no message is held (read one first)");
  const uint64_t pos = held_.back();
  auto& c = *reinterpret_cast<CellHeader*>(cell(pos));
  const uint32_t size = c.size;  // read once: another process may write it
  if (size > max_message_size()) return drop_damaged(segment_, *ctl_, c, lap(pos), size);
  const std::span<const std::byte> bytes(detail::cell_payload(c), size);
  const uint32_t delivered = deliveries_of(c).load(std::memory_order_relaxed);
  if (auto ec = dead_letters_->put(bytes, delivered, "rejected by its consumer: " + std::string(reason))) return ec;
  held_.pop_back();
  // seq_cst: frees the cell as release() does (W2 of the sleep/wake handshake).
  c.state.store(CellState{detail::kFree, 0, 0, lap(pos) + 1}.pack(), std::memory_order_seq_cst);
  ctl_->dead_lettered.fetch_add(1, std::memory_order_relaxed);
  detail::notify(ctl_->space_wait);
  return {};
}

Result<std::vector<std::byte>> MpmcConsumer::try_receive() {
  return detail::receive_copy(*this, try_read());
}

Result<std::vector<std::byte>> MpmcConsumer::receive(Deadline deadline) {
  return detail::receive_copy(*this, read(deadline));
}

Result<std::vector<std::byte>> MpmcConsumer::receive(std::chrono::nanoseconds timeout) {
  return detail::receive_copy(*this, read(timeout));
}

}  // namespace ringdrop

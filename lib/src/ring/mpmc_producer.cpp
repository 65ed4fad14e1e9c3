// mpmc_producer.cpp — the MPMC ring's producer: claim a free cell, write
// it, publish it (a batch at a time). Memory ordering: mpmc_segment.hpp;
// cell states: mpmc_layout.hpp.
#include "ringdrop/mpmc_ring.hpp"

#include <unistd.h>

#include <utility>

#include "core/platform.hpp"
#include "ring/copying.hpp"
#include "ring/mpmc_segment.hpp"
#include "ring/too_large.hpp"
#include "ring/would_block.hpp"

namespace ringdrop {

using detail::CellHeader;
using detail::CellState;
using detail::at_lap;
using detail::deliveries_of;
using detail::impossible_cell;
using detail::open_mpmc_segment;

Result<MpmcProducer> MpmcProducer::open(const Location& where, OpenMode how,
                                        const MpmcOptions& options) {
  auto seg = open_mpmc_segment(where, how, options);
  if (!seg) return seg.error();
  MpmcProducer p(std::move(*seg), options);
  if (auto ec = p.join(true)) return ec;
  detail::detect_prefetchw();  // for the claims' prefetches
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

}  // namespace ringdrop

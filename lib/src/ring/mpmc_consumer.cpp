// mpmc_consumer.cpp — the MPMC ring's consumer: take a ready cell (or an
// orphan a dead consumer left), read it in place, release or reject it, and
// set aside a poison message after max_deliveries. Memory ordering:
// mpmc_segment.hpp; cell states: mpmc_layout.hpp.
#include "ringdrop/mpmc_ring.hpp"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "ring/copying.hpp"
#include "ring/dead_letter_sink.hpp"
#include "ring/mpmc_segment.hpp"
#include "ring/would_block.hpp"

namespace ringdrop {

using detail::CellHeader;
using detail::CellState;
using detail::kCellHeader;
using detail::kWriterBits;
using detail::MpmcControl;
using detail::at_lap;
using detail::deliveries_of;
using detail::impossible_cell;
using detail::open_mpmc_segment;

namespace {

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

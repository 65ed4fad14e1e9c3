// mpmc_endpoint.cpp — what an MPMC producer and consumer have in common:
// joining the ring's peer table, leaving it, and recovering the cells a
// dead or departed peer held. Memory ordering: mpmc_segment.hpp.
#include "ringdrop/mpmc_ring.hpp"

#include <unistd.h>

#include <bit>
#include <utility>

#include "ring/mpmc_segment.hpp"

namespace ringdrop {

using detail::CellState;
using detail::MpmcControl;
using detail::PeerRole;
using detail::mpmc_peers;
using detail::read_mpmc_stats;

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
  auto peers = mpmc_peers(segment_, ctl_);
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
    mpmc_peers(segment_, ctl_).leave(index_);
    // Wake everyone: a waiter may be waiting for the last peer to go.
    detail::wake_all(ctl_->data_wait);
    detail::wake_all(ctl_->space_wait);
  }
  ctl_ = nullptr;
}

void MpmcEndpoint::reap() noexcept {
  mpmc_peers(segment_, ctl_).reap(index_, [this](unsigned i, const detail::PeerEntry& e) {
    recover(i, e.generation.load(std::memory_order_relaxed));
  });
}

bool MpmcEndpoint::peers_gone(bool producers) noexcept {
  reap();
  const auto role = producers ? PeerRole::producer : PeerRole::consumer;
  const bool ever = ctl_->peers.retired[static_cast<uint32_t>(role)].joined.load(
                        std::memory_order_relaxed) > 0;
  return ever && !mpmc_peers(segment_, ctl_).any_live(role, index_);
}

SharedRingStats MpmcEndpoint::stats() const { return read_mpmc_stats(segment_, *ctl_); }

}  // namespace ringdrop

// broadcast_ring.cpp — the broadcast ring. States and policies:
// broadcast_layout.hpp.
//
// Memory ordering, in one place:
//  - The publisher marks a cell "writing k" (seqlock_mark: a relaxed store
//    and a release fence keep the payload writes after it), writes the
//    payload, and stores "complete k" with seq_cst (release would do for
//    the data).
//    A subscriber loads the state with acquire before it reads the payload.
//  - With the block policy the publisher overwrites a cell only after every
//    live subscriber's cursor has passed it: subscribers store their cursor
//    with seq_cst (release would do) after reading, the publisher loads
//    cursors with seq_cst (acquire would do) before writing. No payload is
//    then read and written at once.
//  - With the overwrite policy a payload may be overwritten while read; the
//    subscriber detects it by loading the state again after reading
//    (seqlock_recheck) and discards what it read.
//  - The seq_cst stores (complete, cursor) and the waiters' seq_cst re-checks
//    are the sleep/wake handshake of wait_line.hpp.
#include "ringdrop/broadcast_ring.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "core/platform.hpp"
#include "ring/broadcast_layout.hpp"
#include "ring/copying.hpp"
#include "ring/too_large.hpp"
#include "ring/would_block.hpp"
#include "segment/role.hpp"

namespace ringdrop {

using detail::BroadcastControl;
using detail::CellHeader;
using detail::PeerRole;

namespace {

constexpr uint64_t kDefaultCellSize = 256;
constexpr uint64_t kNobody = std::numeric_limits<uint64_t>::max();
constexpr unsigned kNoSelf = detail::kMaxPeers;  // the publisher is not in the table
constexpr uint64_t kPublisherBit = 1;            // the only waiter on space_wait

BroadcastControl* control_of(const Segment& s) noexcept {
  return reinterpret_cast<BroadcastControl*>(s.control());
}

detail::PeerTableRef peers_of(const Segment& seg) noexcept {
  auto* ctl = control_of(seg);
  return {&ctl->peers, seg.native_handle(), detail::offset_in(seg, &ctl->peers)};
}

detail::RoleSlot publisher_slot(const Segment& seg) noexcept {
  auto* ctl = control_of(seg);
  return {&ctl->publisher, seg.native_handle(), detail::offset_in(seg, &ctl->publisher)};
}

Result<Segment> open_broadcast_segment(const Location& where, OpenMode how,
                                       const BroadcastOptions& o) {
  return detail::open_cell_segment(where, how, RingKind::broadcast, o, o.cell_size,
                                  static_cast<uint32_t>(o.policy));
}

// The slowest live subscriber's cursor (kNobody when there is none), and
// whether the entries are other than `self`. seq_cst loads: R1 of the
// publisher's sleep/wake handshake.
uint64_t slowest_cursor(const BroadcastControl& c, unsigned self = kNoSelf) noexcept {
  uint64_t slowest = kNobody;
  for (unsigned i = 0; i < detail::kMaxPeers; ++i) {
    const auto& e = c.peers.entries[i];
    if (i == self || e.role.load(std::memory_order_seq_cst) != static_cast<uint32_t>(PeerRole::consumer)) continue;
    slowest = std::min(slowest, e.cursor.load(std::memory_order_seq_cst));
  }
  return slowest;
}

SharedRingStats read_stats(const Segment& seg) {
  auto& c = *control_of(seg);
  const SegmentInfo info = seg.info();
  SharedRingStats s;
  s.capacity = info.capacity;
  s.cell_size = info.params[detail::kCellSizeParam];
  s.cells = s.capacity / s.cell_size;
  const uint64_t tail = c.tail.load(std::memory_order_relaxed);
  const uint64_t slowest = slowest_cursor(c);
  s.fill = slowest == kNobody || slowest >= tail ? 0 : std::min(tail - slowest, s.cells);
  s.high_water = c.high_water.load(std::memory_order_relaxed);
  s.messages_committed = tail;
  s.bytes_committed = c.published_bytes.load(std::memory_order_relaxed);
  s.producer_waits = c.publisher_waits.load(std::memory_order_relaxed);
  s.lapped = c.lapped.load(std::memory_order_relaxed);
  s.missed = c.missed.load(std::memory_order_relaxed);
  s.abandoned = c.abandoned.load(std::memory_order_relaxed);
  const auto& retired = c.peers.retired[static_cast<uint32_t>(PeerRole::consumer)];
  s.messages_consumed = retired.messages.load(std::memory_order_relaxed);
  s.bytes_consumed = retired.bytes.load(std::memory_order_relaxed);
  s.consumer_waits = retired.waits.load(std::memory_order_relaxed);
  if (const uint32_t pid = detail::role_pid(publisher_slot(seg)); pid != 0) {
    s.peers.push_back(PeerInfo{pid, true, tail, s.bytes_committed, s.producer_waits});
  }
  const auto peers = peers_of(seg);
  for (unsigned i = 0; i < detail::kMaxPeers; ++i) {
    const auto& e = c.peers.entries[i];
    if (e.role.load(std::memory_order_acquire) == 0) continue;
    PeerInfo p{e.pid.load(std::memory_order_relaxed), false,
               e.messages.load(std::memory_order_relaxed), e.bytes.load(std::memory_order_relaxed),
               e.waits.load(std::memory_order_relaxed)};
    s.messages_consumed += p.messages;
    s.bytes_consumed += p.bytes;
    s.consumer_waits += p.waits;
    if (peers.alive(i) || p.pid == static_cast<uint32_t>(::getpid())) s.peers.push_back(p);
  }
  return s;
}

// A dead subscriber's only shared state is its cursor (gone with its entry)
// and perhaps its sleeping bit.
detail::RecoverFn forget_sleeper_of(BroadcastControl* ctl) {
  return [ctl](unsigned i, const detail::PeerEntry&) {
    detail::forget_sleeper(ctl->data_wait, uint64_t{1} << i);
  };
}

}  // namespace

Result<SharedRingStats> inspect_broadcast(const Location& where) {
  auto seg = open_broadcast_segment(where, OpenMode::open, BroadcastOptions{});
  if (!seg) return seg.error();
  return read_stats(*seg);
}

// =============================================================== publisher

BroadcastPublisher::BroadcastPublisher(Segment segment, const BroadcastOptions& options) noexcept
    : segment_(std::move(segment)),
      ctl_(control_of(segment_)),
      data_(segment_.data()),
      cell_size_(segment_.info().params[detail::kCellSizeParam]),
      cells_(segment_.info().capacity / cell_size_),
      block_(segment_.info().params[detail::kPolicyParam] == 0),
      wait_(options.wait) {}

Result<BroadcastPublisher> BroadcastPublisher::open(const Location& where, OpenMode how,
                                                    const BroadcastOptions& options) {
  auto seg = open_broadcast_segment(where, how, options);
  if (!seg) return seg.error();
  BroadcastPublisher p(std::move(*seg), options);
  if (auto ec = p.attach()) return ec;
  detail::detect_prefetchw();  // for the claims' prefetches
  return p;
}

std::error_code BroadcastPublisher::attach() {
  if (auto ec = detail::claim_role(publisher_slot(segment_), segment_.location().describe() + " publisher")) {
    ctl_ = nullptr;
    return ec;
  }
  owner_ = ::getpid();
  // acquire: a predecessor's last complete message is visible.
  uint64_t tail = ctl_->tail.load(std::memory_order_acquire);
  // A predecessor killed after its batch's complete stores but before its
  // tail store published those messages: subscribers may have read them.
  // Starting at tail would overwrite them (lost for whoever had not read
  // them yet, and the new ones missed by whoever had). Complete cells of
  // the numbers from tail on are such messages: tail moves past them.
  // (A batch is completed last to first, so a predecessor killed midway
  // leaves its first cell "writing": nothing of it was readable, and it is
  // counted abandoned below.) We hold the role: the only writer of tail.
  const uint64_t stored = tail;
  while (tail - stored < cells_ &&
         reinterpret_cast<CellHeader*>(cell(tail))->state.load(std::memory_order_acquire) ==
             detail::complete_state(tail)) {
    ++tail;
  }
  if (tail != stored) ctl_->tail.store(tail, std::memory_order_release);
  published_ = next_ = tail;
  // A predecessor's reserved or staged messages, never published: counted,
  // and rewritten by ours.
  for (uint64_t k = next_; k < next_ + cells_; ++k) {
    auto& c = *reinterpret_cast<CellHeader*>(cell(k));
    if (c.state.load(std::memory_order_acquire) != detail::writing_state(k)) break;
    ctl_->abandoned.fetch_add(1, std::memory_order_relaxed);
  }
  epoch_ = ctl_->epoch.load(std::memory_order_acquire);
  min_cursor_ = slowest_cursor(*ctl_);
  detail::forget_sleeper(ctl_->space_wait, kPublisherBit);
  return {};
}

void BroadcastPublisher::detach() noexcept {
  if (ctl_ == nullptr) return;
  if (owner_ == ::getpid()) {  // in a forked child, the role is the parent's
    publish();
    detail::release_role(publisher_slot(segment_));
    detail::wake_all(ctl_->data_wait);
  }
  ctl_ = nullptr;
}

BroadcastPublisher::BroadcastPublisher(BroadcastPublisher&& o) noexcept
    : segment_(std::move(o.segment_)),
      ctl_(std::exchange(o.ctl_, nullptr)),
      data_(o.data_),
      cell_size_(o.cell_size_),
      cells_(o.cells_),
      block_(o.block_),
      wait_(o.wait_),
      owner_(o.owner_),
      next_(o.next_),
      published_(std::exchange(o.published_, o.next_)),
      staged_bytes_(o.staged_bytes_),
      min_cursor_(o.min_cursor_),
      epoch_(o.epoch_),
      reserved_size_(o.reserved_size_),
      has_reservation_(std::exchange(o.has_reservation_, false)) {}

BroadcastPublisher& BroadcastPublisher::operator=(BroadcastPublisher&& o) noexcept {
  if (this != &o) {
    detach();
    this->~BroadcastPublisher();
    new (this) BroadcastPublisher(std::move(o));
  }
  return *this;
}

BroadcastPublisher::~BroadcastPublisher() { detach(); }

std::byte* BroadcastPublisher::cell(uint64_t message) const noexcept {
  return data_ + (message & (cells_ - 1)) * cell_size_;
}

// Block policy: message next_ may be written once every live subscriber has
// read message next_ - cells. The slowest cursor is cached and looked up
// again only when it says "full", or when a subscriber joined.
bool BroadcastPublisher::has_room(bool refresh) noexcept {
  if (!block_) return true;
  // seq_cst (a plain load on x86): a joiner's cursor is visible once its
  // epoch bump is, and the joiner's second look at tail, after the bump,
  // sees every message published without regard to its cursor.
  const uint64_t epoch = ctl_->epoch.load(std::memory_order_seq_cst);
  if (refresh || epoch != epoch_) {
    epoch_ = epoch;
    min_cursor_ = slowest_cursor(*ctl_);
  }
  return min_cursor_ == kNobody || next_ < min_cursor_ + cells_;
}

Result<std::span<std::byte>> BroadcastPublisher::try_reserve(size_t size) {
  if (size > max_message_size()) return detail::too_large(segment_, size, max_message_size());
  auto& c = *reinterpret_cast<CellHeader*>(cell(next_));
  if (!has_reservation_) {
    if (!has_room(false) && !has_room(true)) {
      publish();  // subscribers must see what we staged before we wait for them
      ctl_->publisher_waits.fetch_add(1, std::memory_order_relaxed);
      return detail::would_block_or_damaged(segment_);
    }
    // The mark goes before our payload writes, so a subscriber that
    // re-checks the state sees the overwrite.
    detail::seqlock_mark(c.state, detail::writing_state(next_));
    // A cell further on, for our later writes: its line is most likely in
    // a subscriber's cache. Measured: broadcast 1->1 +20% (8 cells ahead
    // and 16 alike, 4 less).
    detail::prefetch_for_write(cell(next_ + 8));
    has_reservation_ = true;
  }
  reserved_size_ = size;
  return std::span<std::byte>(detail::cell_payload(c), size);
}

Result<std::span<std::byte>> BroadcastPublisher::reserve(size_t size, Deadline deadline) {
  for (;;) {
    auto span = try_reserve(size);
    if (span || span.error() != errc::would_block) return span;
    if (Clock::now() >= deadline) return detail::no_room(segment_);
    auto ec = detail::wait_until(
        wait_, ctl_->space_wait, kPublisherBit, deadline,
        [&] { return has_room(true) || segment_.damaged(); },
        [&] {  // subscribers that died are dropped, so they never block us
          peers_of(segment_).reap(kNoSelf, forget_sleeper_of(ctl_));
          return false;
        });
    if (ec) return detail::no_room(segment_, ec);
  }
}

Result<std::span<std::byte>> BroadcastPublisher::reserve(size_t size,
                                                          std::chrono::nanoseconds timeout) {
  auto span = try_reserve(size);  // read the clock only if we must wait
  if (span || span.error() != errc::would_block) return span;
  return reserve(size, deadline_after(timeout));
}

std::error_code BroadcastPublisher::stage(size_t used) {
  if (!has_reservation_ || used > reserved_size_) return errc::invalid_argument;
  reinterpret_cast<CellHeader*>(cell(next_))->size = static_cast<uint32_t>(used);
  has_reservation_ = false;
  staged_bytes_ += used;
  ++next_;  // the cell stays "writing" until publish()
  return {};
}

void BroadcastPublisher::publish() noexcept {
  if (published_ == next_) return;
  // Last to first: a subscriber cannot pass the batch's first message before
  // it is complete, and by then every later one is. release: each payload.
  for (uint64_t k = next_ - 1; k > published_; --k) {
    reinterpret_cast<CellHeader*>(cell(k))->state.store(detail::complete_state(k),
                                                        std::memory_order_release);
  }
  // seq_cst: publishes the first payload (release would do) and is W2 of
  // the sleep/wake handshake for subscribers waiting on it.
  reinterpret_cast<CellHeader*>(cell(published_))->state.store(detail::complete_state(published_),
                                                               std::memory_order_seq_cst);
  published_ = next_;
  // release: a subscriber that reads tail (joining, or lapped) finds the
  // messages below it complete. We are the only writer of these counters.
  ctl_->tail.store(next_, std::memory_order_release);
  ctl_->published_bytes.store(ctl_->published_bytes.load(std::memory_order_relaxed) + staged_bytes_,
                              std::memory_order_relaxed);
  staged_bytes_ = 0;
  if (min_cursor_ != kNobody) {
    const uint64_t fill = std::min(next_ - std::min(min_cursor_, next_), cells_);
    if (fill > ctl_->high_water.load(std::memory_order_relaxed)) {
      ctl_->high_water.store(fill, std::memory_order_relaxed);
    }
  }
  detail::notify(ctl_->data_wait);
}

std::error_code BroadcastPublisher::commit(size_t used) {
  if (auto ec = stage(used)) return ec;
  publish();
  // A truncation under us (bus_guard.hpp) turned what we wrote into nothing.
  if (segment_.damaged()) return segment_.damage();
  return {};
}

std::error_code BroadcastPublisher::try_send(std::span<const std::byte> message) {
  return detail::send_copy(*this, message);
}

std::error_code BroadcastPublisher::send(std::span<const std::byte> message, Deadline deadline) {
  return detail::send_copy(*this, message, deadline);
}

std::error_code BroadcastPublisher::send(std::span<const std::byte> message,
                                         std::chrono::nanoseconds timeout) {
  return detail::send_copy(*this, message, timeout);
}

SharedRingStats BroadcastPublisher::stats() const {
  SharedRingStats s = read_stats(segment_);
  // Our own lock is invisible to us: name ourselves.
  if (std::none_of(s.peers.begin(), s.peers.end(), [](const PeerInfo& p) { return p.producer; })) {
    s.peers.insert(s.peers.begin(), PeerInfo{static_cast<uint32_t>(owner_), true,
                                             s.messages_committed, s.bytes_committed,
                                             s.producer_waits});
  }
  return s;
}

// ============================================================== subscriber

BroadcastSubscriber::BroadcastSubscriber(Segment segment, const BroadcastOptions& options) noexcept
    : segment_(std::move(segment)),
      ctl_(control_of(segment_)),
      data_(segment_.data()),
      cell_size_(segment_.info().params[detail::kCellSizeParam]),
      cells_(segment_.info().capacity / cell_size_),
      wait_(options.wait) {}

Result<BroadcastSubscriber> BroadcastSubscriber::open(const Location& where, OpenMode how,
                                                      const BroadcastOptions& options,
                                                      StartAt start) {
  auto seg = open_broadcast_segment(where, how, options);
  if (!seg) return seg.error();
  BroadcastSubscriber s(std::move(*seg), options);
  if (auto ec = s.attach(start)) return ec;
  s.held_.reserve(64);
  return s;
}

std::error_code BroadcastSubscriber::attach(StartAt start) {
  // seq_cst: ordered with the publisher's view of cursors and epoch.
  const uint64_t tail = ctl_->tail.load(std::memory_order_seq_cst);
  const uint64_t oldest_kept = tail > cells_ ? tail - cells_ : 0;
  // Oldest: whatever the cells still hold. A publisher that overwrites some
  // of it before it sees our cursor is caught by the lap check.
  const uint64_t first = start == StartAt::oldest ? oldest_kept : tail;
  auto index = peers_of(segment_).join(PeerRole::consumer, forget_sleeper_of(ctl_),
                                       segment_.location().describe(), first);
  if (!index) {
    ctl_ = nullptr;
    return index.error();
  }
  index_ = *index;
  owner_ = ::getpid();
  next_ = released_ = first;
  detail::forget_sleeper(ctl_->data_wait, uint64_t{1} << index_);
  // seq_cst: after our cursor is in the table, so a publisher that sees the
  // new epoch sees our cursor.
  ctl_->epoch.fetch_add(1, std::memory_order_seq_cst);
  if (start == StartAt::newest) {
    // What was published between our first look at tail and the epoch bump
    // was published before we joined: not ours, and not missed. (Starting
    // at the first look, a publisher that had not yet seen our cursor could
    // lap us before our first read: message_lost for messages we were never
    // promised.) Look again now that the publisher counts our cursor.
    // seq_cst: after the epoch bump, in the order the publisher sees it.
    const uint64_t now = ctl_->tail.load(std::memory_order_seq_cst);
    if (now != first) {
      next_ = released_ = now;
      // seq_cst: as in release(), our cursor moving on frees the publisher.
      ctl_->peers.entries[index_].cursor.store(now, std::memory_order_seq_cst);
      detail::notify(ctl_->space_wait);
    }
  }
  return {};
}

void BroadcastSubscriber::detach() noexcept {
  if (ctl_ == nullptr) return;
  if (owner_ == ::getpid()) {  // in a forked child, the entry is the parent's
    peers_of(segment_).leave(index_);
    detail::wake_all(ctl_->space_wait);  // the publisher may be waiting for us
  }
  ctl_ = nullptr;
}

BroadcastSubscriber::BroadcastSubscriber(BroadcastSubscriber&& o) noexcept
    : segment_(std::move(o.segment_)),
      ctl_(std::exchange(o.ctl_, nullptr)),
      data_(o.data_),
      cell_size_(o.cell_size_),
      cells_(o.cells_),
      wait_(o.wait_),
      owner_(o.owner_),
      index_(o.index_),
      next_(o.next_),
      released_(o.released_),
      last_missed_(o.last_missed_),
      held_(std::move(o.held_)) {
  o.released_ = o.next_;  // the moved-from handle holds nothing to release
}

BroadcastSubscriber& BroadcastSubscriber::operator=(BroadcastSubscriber&& o) noexcept {
  if (this != &o) {
    detach();
    this->~BroadcastSubscriber();
    new (this) BroadcastSubscriber(std::move(o));
  }
  return *this;
}

BroadcastSubscriber::~BroadcastSubscriber() { detach(); }

std::byte* BroadcastSubscriber::cell(uint64_t message) const noexcept {
  return data_ + (message & (cells_ - 1)) * cell_size_;
}

// We were lapped: message next_ is gone. Go on from the oldest message that
// is still there, and say exactly how many we skipped.
std::error_code BroadcastSubscriber::lapped(uint64_t tail) noexcept {
  const uint64_t resume = std::max(next_ + 1, tail > cells_ ? tail - cells_ + 1 : 0);
  last_missed_ = resume - next_;
  next_ = resume;
  ctl_->lapped.fetch_add(1, std::memory_order_relaxed);
  ctl_->missed.fetch_add(last_missed_, std::memory_order_relaxed);
  return errc::message_lost;
}

Result<std::span<const std::byte>> BroadcastSubscriber::try_read() {
  auto& c = *reinterpret_cast<CellHeader*>(cell(next_));
  // acquire: pairs with the publisher's complete store; the payload is visible.
  const uint64_t s = c.state.load(std::memory_order_acquire);
  if (s == detail::complete_state(next_)) {
    held_.emplace_back(next_, s);
    ++next_;
    const uint32_t size = std::min<uint32_t>(c.size, static_cast<uint32_t>(cell_size_ - 16));
    return std::span<const std::byte>(detail::cell_payload(c), size);
  }
  if (s != 0 && detail::state_message(s) > next_) {
    return lapped(ctl_->tail.load(std::memory_order_acquire));
  }
  // Never written, an older message, or ours being written: not there yet.
  auto& entry = ctl_->peers.entries[index_];
  entry.waits.store(entry.waits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return detail::would_block_or_damaged(segment_);
}

Result<std::span<const std::byte>> BroadcastSubscriber::read(Deadline deadline) {
  for (;;) {
    // What we wait to see change is read *before* trying: a commit that
    // lands between the try and the wait must still end the wait.
    auto& c = *reinterpret_cast<CellHeader*>(cell(next_));
    const uint64_t seen = c.state.load(std::memory_order_seq_cst);
    auto view = try_read();
    if (view || view.error() != errc::would_block) return view;
    if (Clock::now() >= deadline) return errc::timed_out;
    auto ec = detail::wait_until(
        wait_, ctl_->data_wait, uint64_t{1} << index_, deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] { return c.state.load(std::memory_order_seq_cst) != seen || segment_.damaged(); },
        [&] {
          // Subscribers reap too: with the overwrite policy the publisher
          // never waits, so it never would.
          peers_of(segment_).reap(index_, forget_sleeper_of(ctl_));
          return detail::role_gone(publisher_slot(segment_));
        });
    if (ec) return ec;
  }
}

Result<std::span<const std::byte>> BroadcastSubscriber::read(std::chrono::nanoseconds timeout) {
  auto view = try_read();  // read the clock only if we must wait
  if (view || view.error() != errc::would_block) return view;
  return read(deadline_after(timeout));
}

std::error_code BroadcastSubscriber::release() noexcept {
  std::error_code result;
  uint64_t bytes = 0, messages = 0;
  for (const auto& [message, state] : held_) {
    auto& c = *reinterpret_cast<CellHeader*>(cell(message));
    if (detail::seqlock_recheck(c.state) != state) {  // overwritten while we held it
      ctl_->lapped.fetch_add(1, std::memory_order_relaxed);
      ctl_->missed.fetch_add(1, std::memory_order_relaxed);
      last_missed_ = 1;
      result = errc::message_lost;
      continue;
    }
    ++messages;
    bytes += c.size;
  }
  held_.clear();
  if (next_ != released_) {
    auto& entry = ctl_->peers.entries[index_];  // our own line: plain counting
    entry.messages.store(entry.messages.load(std::memory_order_relaxed) + messages, std::memory_order_relaxed);
    entry.bytes.store(entry.bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
    // seq_cst: we are done reading (release would do) and this is W2 of the
    // publisher's sleep/wake handshake.
    entry.cursor.store(next_, std::memory_order_seq_cst);
    released_ = next_;
    detail::notify(ctl_->space_wait);
  }
  return result;
}

Result<std::vector<std::byte>> BroadcastSubscriber::try_receive() {
  return detail::receive_copy(*this, try_read());
}

Result<std::vector<std::byte>> BroadcastSubscriber::receive(Deadline deadline) {
  return detail::receive_copy(*this, read(deadline));
}

Result<std::vector<std::byte>> BroadcastSubscriber::receive(std::chrono::nanoseconds timeout) {
  return detail::receive_copy(*this, read(timeout));
}

SharedRingStats BroadcastSubscriber::stats() const { return read_stats(segment_); }

}  // namespace ringdrop

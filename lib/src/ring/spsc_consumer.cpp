// spsc_consumer.cpp — the SPSC ring's consumer: read in place, release,
// the delivery count that sets a poison message aside, and reject.
// Memory ordering: spsc_segment.hpp; the record format: spsc_layout.hpp.
#include "ringdrop/spsc_ring.hpp"

#include <unistd.h>

#include <utility>

#include "ring/copying.hpp"
#include "ring/dead_letter_sink.hpp"
#include "ring/spsc_segment.hpp"
#include "ring/would_block.hpp"

namespace ringdrop {

using detail::header_at;
using detail::kRecordHeader;
using detail::record_bytes;
using detail::check_spsc_indices;
using detail::kSpscOnlyWaiter;
using detail::spsc_control;
using detail::spsc_role_slot;
using detail::open_spsc_segment;
using detail::read_spsc_stats;
using detail::spsc_max_message;

SpscConsumer::SpscConsumer(Segment segment, const RingOptions& options) noexcept
    : segment_(std::move(segment)),
      ctl_(spsc_control(segment_)),
      data_(segment_.data()),
      capacity_(segment_.info().capacity),
      wait_(options.wait) {}

Result<SpscConsumer> SpscConsumer::open(const Location& where, OpenMode how,
                                        const RingOptions& options) {
  auto seg = open_spsc_segment(where, how, options);
  if (!seg) return seg.error();
  SpscConsumer c(std::move(*seg), options);
  if (auto ec = c.attach()) return ec;
  const uint64_t max = c.segment_.info().params[detail::kSpscMaxDeliveriesParam];
  c.max_deliveries_ = max != 0 ? static_cast<uint32_t>(max) : detail::kDefaultMaxDeliveries;
  c.dead_letters_ = std::make_shared<detail::DeadLetterSink>(where, options.dead_letters, RingKind::spsc);
  return c;
}

std::error_code SpscConsumer::attach() {
  const auto role = spsc_role_slot(segment_, ctl_->consumer);
  std::error_code ec = detail::claim_role(role, segment_.location().describe() + " consumer");
  if (!ec) ec = check_spsc_indices(*ctl_, capacity_, segment_.location());
  if (ec) {
    if (ec != errc::role_taken) detail::release_role(role);
    ctl_ = nullptr;
    return ec;
  }
  owner_ = ::getpid();
  // Start at the last released record: what a dead predecessor read but did
  // not release is delivered again.
  read_ = released_ = ctl_->head.load(std::memory_order_acquire);
  messages_ = ctl_->messages_released.load(std::memory_order_relaxed);
  bytes_ = ctl_->bytes_released.load(std::memory_order_relaxed);
  detail::forget_sleeper(ctl_->data_wait, kSpscOnlyWaiter);
  return {};
}

void SpscConsumer::detach() noexcept {
  if (ctl_ == nullptr) return;
  if (owner_ == ::getpid()) {  // in a forked child, the role is the parent's
    detail::release_role(spsc_role_slot(segment_, ctl_->consumer));
    detail::wake_all(ctl_->space_wait);
  }
  ctl_ = nullptr;
}

void SpscConsumer::take(SpscConsumer& o) noexcept {
  ctl_ = std::exchange(o.ctl_, nullptr);
  data_ = o.data_;
  capacity_ = o.capacity_;
  wait_ = o.wait_;
  owner_ = o.owner_;
  read_ = o.read_;
  released_ = o.released_;
  unreleased_ = o.unreleased_;
  unreleased_bytes_ = o.unreleased_bytes_;
  messages_ = o.messages_;
  bytes_ = o.bytes_;
  max_deliveries_ = o.max_deliveries_;
  last_deliveries_ = o.last_deliveries_;
  last_at_ = o.last_at_;
  last_size_ = o.last_size_;
  dead_letters_ = std::move(o.dead_letters_);
  o.read_ = o.released_;  // nothing left to release
}

SpscConsumer::SpscConsumer(SpscConsumer&& o) noexcept : segment_(std::move(o.segment_)) {
  take(o);
}

SpscConsumer& SpscConsumer::operator=(SpscConsumer&& o) noexcept {
  if (this != &o) {
    detach();
    segment_ = std::move(o.segment_);
    take(o);
  }
  return *this;
}

uint64_t SpscConsumer::max_message_size() const noexcept {
  return spsc_max_message(capacity_);
}

SpscConsumer::~SpscConsumer() { detach(); }

// Counts the read of the record at `at` (spsc_layout.hpp, "Poison
// messages") if it lies past the furthest read, the ordinary case: its
// first delivery. Inline and short, as it runs for every record. The fields
// are the consumer's alone (its role lock; a dead predecessor's stores are
// ordered by the kernel's release of that lock): relaxed.
inline bool SpscConsumer::counted_first_read(uint64_t at) noexcept {
#ifdef RINGDROP_BENCH_UNCOUNTED  // bench/ only: the baseline the count's cost is measured against
  (void)at;
  last_deliveries_ = 1;
  return true;
#endif
  if (at <= ctl_->furthest_read.load(std::memory_order_relaxed)) return false;
  ctl_->furthest_reads.store(1, std::memory_order_relaxed);  // the count first
  ctl_->furthest_read.store(at, std::memory_order_relaxed);
  last_deliveries_ = 1;
  return true;
}

Result<std::span<const std::byte>> SpscConsumer::try_read() {
  for (;;) {
    const uint64_t pos = read_ & (capacity_ - 1);
    // acquire: pairs with the store that published this record (or the
    // first record of its batch); its bytes are visible.
    const uint64_t h = header_at(data_, pos).load(std::memory_order_acquire);
    if (h == 0) return detail::would_block_or_damaged(segment_);  // the end marker: nothing more yet
    const uint64_t bytes = record_bytes(detail::header_size(h));
    if (!detail::header_valid(h, pos, capacity_) || read_ + bytes - released_ > capacity_) {
      return detail::fail(errc::corrupted, "impossible record header at offset " +
                                               std::to_string(pos));
    }
    const uint64_t at = read_;
    read_ += bytes;
    if (detail::header_tag(h) == detail::kPadTag) {
      // Nothing the caller holds lies before the padding: free it at once,
      // so a producer waiting for room at offset 0 can go on.
      if (unreleased_ == 0) release();
      continue;
    }
    const uint32_t size = detail::header_size(h);
    const std::span<const std::byte> view(data_ + pos + kRecordHeader, size);
    std::error_code failed;
    if (!counted_first_read(at) && !deliverable_again(at, view, failed)) {
      if (failed) {
        read_ = at;  // not delivered, not set aside: it stays where it was
        return failed;
      }
      if (unreleased_ == 0) release();  // set aside: free it as padding is freed
      continue;
    }
    ++unreleased_;
    unreleased_bytes_ += size;
    last_at_ = at;
    last_size_ = size;
    return view;
  }
}

// A record at or before the furthest read, read again after a consumer
// died: whether to deliver it; if not, it was set aside now or before, or
// `failed` says why it could not be.
bool SpscConsumer::deliverable_again(uint64_t at, std::span<const std::byte> view, std::error_code& failed) {
  if (at < ctl_->furthest_read.load(std::memory_order_relaxed)) {
    last_deliveries_ = 2;  // passed by a consumer that died: at least the second time
    return true;
  }
  const uint64_t reads = ctl_->furthest_reads.load(std::memory_order_relaxed);
  if (reads == detail::kSetAside) return false;
  if (reads >= max_deliveries_) {
    failed = dead_letters_->put_exhausted(view, static_cast<uint32_t>(reads), max_deliveries_);
    if (failed) return false;
    set_aside_furthest();
    return false;
  }
  ctl_->furthest_reads.store(reads + 1, std::memory_order_relaxed);
  last_deliveries_ = static_cast<uint32_t>(reads + 1);
  return true;
}

void SpscConsumer::set_aside_furthest() noexcept {
  ctl_->furthest_reads.store(detail::kSetAside, std::memory_order_relaxed);
  ctl_->dead_lettered.store(ctl_->dead_lettered.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

std::error_code SpscConsumer::reject(std::string_view reason) {
  if (unreleased_ == 0) return detail::fail(errc::invalid_argument, "reject: no message is held (read one first)");
  const std::span<const std::byte> view(data_ + (last_at_ & (capacity_ - 1)) + kRecordHeader, last_size_);
  if (auto ec = dead_letters_->put(view, last_deliveries_, "rejected by its consumer: " + std::string(reason))) {
    return ec;
  }
  if (last_at_ == ctl_->furthest_read.load(std::memory_order_relaxed)) {
    set_aside_furthest();  // not delivered again, even if we die before releasing it
  } else {
    ctl_->dead_lettered.store(ctl_->dead_lettered.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  --unreleased_;
  unreleased_bytes_ -= last_size_;
  if (unreleased_ == 0) release();
  return {};
}

Result<std::span<const std::byte>> SpscConsumer::read(Deadline deadline) {
  for (;;) {
    auto view = try_read();
    if (view || view.error() != errc::would_block) return view;
    ctl_->consumer_waits.store(ctl_->consumer_waits.load(std::memory_order_relaxed) + 1,
                               std::memory_order_relaxed);  // our own line
    auto ec = detail::wait_until(
        wait_, ctl_->data_wait, kSpscOnlyWaiter, deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] {
          return header_at(data_, read_ & (capacity_ - 1)).load(std::memory_order_seq_cst) != 0 ||
                 segment_.damaged();  // a truncation: the next try says corrupted
        },
        [&] { return detail::role_gone(spsc_role_slot(segment_, ctl_->producer)); });
    if (ec) return ec;
  }
}

Result<std::span<const std::byte>> SpscConsumer::read(std::chrono::nanoseconds timeout) {
  auto view = try_read();  // read the clock only if we must wait
  if (view || view.error() != errc::would_block) return view;
  return read(deadline_after(timeout));
}

std::error_code SpscConsumer::release() noexcept {
  if (read_ == released_) return {};
  // release: we have finished reading these bytes (the producer loads head
  // with acquire before it overwrites them); also W2 of the sleep/wake
  // handshake in wait_line.hpp.
  ctl_->head.store(read_, std::memory_order_release);
  messages_ += unreleased_;
  bytes_ += unreleased_bytes_;
  unreleased_ = unreleased_bytes_ = 0;
  ctl_->messages_released.store(messages_, std::memory_order_relaxed);  // statistics only
  ctl_->bytes_released.store(bytes_, std::memory_order_relaxed);
  released_ = read_;
  detail::notify(ctl_->space_wait);
  return {};
}

Result<std::vector<std::byte>> SpscConsumer::try_receive() {
  return detail::receive_copy(*this, try_read());
}

Result<std::vector<std::byte>> SpscConsumer::receive(Deadline deadline) {
  return detail::receive_copy(*this, read(deadline));
}

Result<std::vector<std::byte>> SpscConsumer::receive(std::chrono::nanoseconds timeout) {
  return detail::receive_copy(*this, read(timeout));
}

SpscStats SpscConsumer::stats() const noexcept {
  SpscStats s = read_spsc_stats(segment_, *ctl_);
  s.consumer_pid = static_cast<uint32_t>(owner_);  // our own lock is invisible to us
  return s;
}

}  // namespace ringdrop

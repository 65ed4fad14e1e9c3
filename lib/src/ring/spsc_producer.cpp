// spsc_producer.cpp — the SPSC ring's producer: reserve, stage, publish,
// and the clean-ahead that keeps the end marker's store off a small
// record's path. Memory ordering: spsc_segment.hpp; the record format:
// spsc_layout.hpp.
#include "ringdrop/spsc_ring.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "ring/copying.hpp"
#include "ring/spsc_segment.hpp"
#include "ring/too_large.hpp"
#include "ring/would_block.hpp"

namespace ringdrop {

using detail::header_at;
using detail::kCleanAhead;
using detail::kEndMarker;
using detail::kLine;
using detail::kRecordHeader;
using detail::record_bytes;
using detail::check_spsc_indices;
using detail::find_published_end;
using detail::kSpscOnlyWaiter;
using detail::spsc_control;
using detail::spsc_role_slot;
using detail::open_spsc_segment;
using detail::read_spsc_stats;
using detail::spsc_max_message;

SpscProducer::SpscProducer(Segment segment, const RingOptions& options) noexcept
    : segment_(std::move(segment)),
      ctl_(spsc_control(segment_)),
      data_(segment_.data()),
      capacity_(segment_.info().capacity),
      wait_(options.wait) {}

Result<SpscProducer> SpscProducer::open(const Location& where, OpenMode how,
                                        const RingOptions& options) {
  auto seg = open_spsc_segment(where, how, options);
  if (!seg) return seg.error();
  SpscProducer p(std::move(*seg), options);
  if (auto ec = p.attach()) return ec;
  return p;
}

std::error_code SpscProducer::attach() {
  const auto role = spsc_role_slot(segment_, ctl_->producer);
  std::error_code ec = detail::claim_role(role, segment_.location().describe() + " producer");
  if (ec) {
    ctl_ = nullptr;  // not ours: the destructor must not detach
    return ec;
  }
  owner_ = ::getpid();
  // A dead predecessor's staged but unpublished records lie past the end
  // marker and are simply overwritten.
  ec = check_spsc_indices(*ctl_, capacity_, segment_.location());
  auto end = ec ? Result<uint64_t>(ec) : find_published_end(*ctl_, data_, capacity_, segment_.location());
  if (!end) {
    detail::release_role(role);
    ctl_ = nullptr;
    return end.error();
  }
  published_ = write_ = clean_from_ = clean_to_ = *end;
  ctl_->tail.store(write_, std::memory_order_release);  // repair a tail a predecessor left behind
  head_cache_ = ctl_->head.load(std::memory_order_acquire);
  messages_ = ctl_->messages_published.load(std::memory_order_relaxed);
  bytes_ = ctl_->bytes_published.load(std::memory_order_relaxed);
  // A predecessor may have died asleep; the flag is ours now.
  detail::forget_sleeper(ctl_->space_wait, kSpscOnlyWaiter);
  return {};
}

void SpscProducer::detach() noexcept {
  if (ctl_ == nullptr) return;
  if (owner_ == ::getpid()) {  // in a forked child, the role is the parent's
    publish();
    detail::release_role(spsc_role_slot(segment_, ctl_->producer));
    detail::wake_all(ctl_->data_wait);
  }
  ctl_ = nullptr;
}

void SpscProducer::take(SpscProducer& o) noexcept {
  ctl_ = std::exchange(o.ctl_, nullptr);
  data_ = o.data_;
  capacity_ = o.capacity_;
  wait_ = o.wait_;
  owner_ = o.owner_;
  write_ = o.write_;
  published_ = o.published_;
  head_cache_ = o.head_cache_;
  held_header_ = o.held_header_;
  clean_from_ = o.clean_from_;
  clean_to_ = o.clean_to_;
  reserved_size_ = o.reserved_size_;
  reserved_ = std::exchange(o.reserved_, false);
  messages_ = o.messages_;
  bytes_ = o.bytes_;
  o.write_ = o.published_;  // nothing left to publish
}

SpscProducer::SpscProducer(SpscProducer&& o) noexcept : segment_(std::move(o.segment_)) {
  take(o);
}

SpscProducer& SpscProducer::operator=(SpscProducer&& o) noexcept {
  if (this != &o) {
    detach();
    segment_ = std::move(o.segment_);
    take(o);
  }
  return *this;
}

SpscProducer::~SpscProducer() { detach(); }

uint64_t SpscProducer::max_message_size() const noexcept { return spsc_max_message(capacity_); }

// Room for `bytes` more after what is staged, plus the end marker.
bool SpscProducer::has_room(uint64_t bytes) noexcept {
  if (write_ + bytes + kEndMarker - head_cache_ <= capacity_) return true;
  // acquire: the consumer read these bytes before it released them; we are
  // about to overwrite them.
  head_cache_ = ctl_->head.load(std::memory_order_acquire);
  // Statistics: the fill, as seen now that we had to look (our own line).
  if (write_ - head_cache_ > ctl_->high_water.load(std::memory_order_relaxed)) {
    ctl_->high_water.store(write_ - head_cache_, std::memory_order_relaxed);
  }
  return write_ + bytes + kEndMarker - head_cache_ <= capacity_;
}

// Stages a record header at write_. The first record of a batch is held
// back until publish(); the consumer cannot reach the others before it.
void SpscProducer::put_header(uint32_t size, uint32_t tag) noexcept {
  const uint64_t h = detail::make_header(size, tag);
  if (write_ == published_) {
    held_header_ = h;
  } else {
    // relaxed: made visible by the release of the batch's first header.
    header_at(data_, write_ & (capacity_ - 1)).store(h, std::memory_order_relaxed);
  }
  write_ += record_bytes(size);
}

Result<std::span<std::byte>> SpscProducer::try_reserve(size_t size) {
  reserved_ = false;
  if (size > max_message_size()) return detail::too_large(segment_, size, max_message_size());
  const uint64_t need = record_bytes(size);
  const uint64_t pos = write_ & (capacity_ - 1);
  if (capacity_ - pos < need) {
    // The record would cross the end: pad to the end and start at 0.
    const uint64_t pad = capacity_ - pos;
    if (!has_room(pad)) {
      publish();
      return detail::would_block_or_damaged(segment_);
    }
    put_header(static_cast<uint32_t>(pad - kRecordHeader), detail::kPadTag);
  }
  if (!has_room(need)) {
    if (head_cache_ > published_) {
      return detail::fail(errc::corrupted, "consumer index is ahead of the producer's");
    }
    publish();  // the padding above, and any batch, must reach the consumer
    return detail::would_block_or_damaged(segment_);
  }
  reserved_ = true;
  reserved_size_ = size;
  // The caller may write anywhere in the record, and abandon it.
  clean_from_ = std::max(clean_from_, write_ + need);
  return std::span<std::byte>(data_ + (write_ & (capacity_ - 1)) + kRecordHeader, size);
}

Result<std::span<std::byte>> SpscProducer::reserve(size_t size, Deadline deadline) {
  for (;;) {
    auto span = try_reserve(size);
    if (span || span.error() != errc::would_block) return span;
    ctl_->producer_waits.store(ctl_->producer_waits.load(std::memory_order_relaxed) + 1,
                               std::memory_order_relaxed);  // our own line
    const uint64_t seen = head_cache_;
    auto ec = detail::wait_until(
        wait_, ctl_->space_wait, kSpscOnlyWaiter, deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] { return ctl_->head.load(std::memory_order_seq_cst) != seen || segment_.damaged(); },
        [&] { return detail::role_gone(spsc_role_slot(segment_, ctl_->consumer)); });
    if (ec) return detail::no_room(segment_, ec);
  }
}

Result<std::span<std::byte>> SpscProducer::reserve(size_t size, std::chrono::nanoseconds timeout) {
  auto span = try_reserve(size);  // read the clock only if we must wait
  if (span || span.error() != errc::would_block) return span;
  return reserve(size, deadline_after(timeout));
}

std::error_code SpscProducer::stage(size_t used) {
  if (!reserved_ || used > reserved_size_) return errc::invalid_argument;
  put_header(static_cast<uint32_t>(used), detail::kDataTag);
  reserved_ = false;
  ++messages_;
  bytes_ += used;
  return {};
}

void SpscProducer::publish() noexcept {
  if (write_ == published_) return;
  if (write_ < clean_from_ || write_ + kEndMarker > clean_to_) {
    // relaxed: ordered before the consumer's view by the store below.
    header_at(data_, write_ & (capacity_ - 1)).store(0, std::memory_order_relaxed);
  }
  // release: the batch's bytes are visible to whoever acquires this header;
  // also W2 of the sleep/wake handshake in wait_line.hpp.
  header_at(data_, published_ & (capacity_ - 1)).store(held_header_, std::memory_order_release);
  published_ = write_;
  // release: a new producer that reads tail (acquire) sees the records
  // below it. Statistics and a recovery hint only; the consumer never reads it.
  ctl_->tail.store(write_, std::memory_order_release);
  ctl_->messages_published.store(messages_, std::memory_order_relaxed);  // statistics only
  ctl_->bytes_published.store(bytes_, std::memory_order_relaxed);
  detail::notify(ctl_->data_wait);
  clean_ahead();
}

// Zeroes free space past the end marker now, after the batch is out and
// off the consumer's path, so that the end marker of a later publish is
// already zero and a small record costs the consumer its own cache line
// alone (spsc_layout.hpp, rule 1). The consumer reads no word past the end
// marker before a later publish, whose release orders these stores before
// it; and none of them lies before head + capacity, so no unreleased byte
// is touched. A large record outruns the zeroed span: its publish stores
// its one end-marker word, as without this.
void SpscProducer::clean_ahead() noexcept {
  if (reserved_) return;  // publish() with a reservation open: its bytes lie there
  const uint64_t to = std::min((write_ + kCleanAhead) & ~uint64_t{kLine - 1}, head_cache_ + capacity_);
  // Enough zeroed already: half the span ahead, or all the ring has free.
  if (write_ >= clean_from_ && clean_to_ >= std::min(write_ + kCleanAhead / 2, to)) return;
  const uint64_t from = write_ + kEndMarker;  // the end marker is zero: stored or known
  clean_from_ = write_;
  clean_to_ = std::max(to, from);
  if (to <= from) return;
  const uint64_t pos = from & (capacity_ - 1);
  const uint64_t first = std::min(to - from, capacity_ - pos);
  std::memset(data_ + pos, 0, first);
  std::memset(data_, 0, to - from - first);  // the part past the end of the area, if any
}

std::error_code SpscProducer::commit(size_t used) {
  if (auto ec = stage(used)) return ec;
  publish();
  // A truncation under us (bus_guard.hpp) turned what we wrote into nothing.
  if (segment_.damaged()) return segment_.damage();
  return {};
}

std::error_code SpscProducer::try_send(std::span<const std::byte> message) {
  return detail::send_copy(*this, message);
}

std::error_code SpscProducer::send(std::span<const std::byte> message, Deadline deadline) {
  return detail::send_copy(*this, message, deadline);
}

std::error_code SpscProducer::send(std::span<const std::byte> message,
                                   std::chrono::nanoseconds timeout) {
  return detail::send_copy(*this, message, timeout);
}

SpscStats SpscProducer::stats() const noexcept {
  SpscStats s = read_spsc_stats(segment_, *ctl_);
  s.producer_pid = static_cast<uint32_t>(owner_);  // our own lock is invisible to us
  return s;
}

}  // namespace ringdrop

// spsc_ring.cpp — the SPSC ring. Layout and record format: spsc_layout.hpp.
//
// Memory-ordering argument, in one place:
//  - The producer writes a record's bytes with plain stores, then stores
//    `tail` with release. The consumer loads `tail` with acquire before it
//    reads any record below it. So every byte of a published record is
//    visible to the consumer (release/acquire on tail).
//  - The consumer finishes reading records, then stores `head` with
//    release. The producer loads `head` with acquire before it overwrites
//    the space below it. So no byte is overwritten while still being read.
//  - Each index has exactly one writer, so plain stores suffice (no RMW).
//    Each side keeps a cached copy of the other's index and reloads it only
//    when the cached value says "empty" or "full": the shared line bounces
//    between cores only when it must.
//  - The index stores are seq_cst rather than release, and the waiters'
//    re-checks seq_cst loads, because they double as the sleep/wake
//    handshake of wait_line.hpp (on x86: xchg instead of mov on publish).
#include "ringdrop/spsc_ring.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "role.hpp"
#include "spsc_layout.hpp"

namespace ringdrop {

using detail::kRecordHeader;
using detail::record_bytes;
using detail::RecordHeader;
using detail::SpscControl;

namespace {

Result<Segment> open_spsc_segment(const Location& where, OpenMode how, const RingOptions& o) {
  SegmentSpec spec;
  spec.kind = RingKind::spsc;
  spec.capacity = o.capacity;
  spec.mode = o.mode;
  spec.init_timeout = o.init_timeout;
  return Segment::open(where, how, spec);
}

SpscControl* control_of(const Segment& s) noexcept {
  return reinterpret_cast<SpscControl*>(s.control());
}

// Both indices are written by one side each, so a mismatch means someone
// scribbled on the segment.
std::error_code check_indices(const SpscControl& c, uint64_t capacity, const Location& where) {
  const uint64_t tail = c.tail.load(std::memory_order_acquire);
  const uint64_t head = c.head.load(std::memory_order_acquire);
  if (head > tail || tail - head > capacity || (tail | head) % 8 != 0) {
    return detail::fail(errc::corrupted, where.describe() + ": ring indices are impossible (head " +
                                             std::to_string(head) + ", tail " +
                                             std::to_string(tail) + ")");
  }
  return {};
}

SpscStats read_stats(const SpscControl& c, uint64_t capacity) noexcept {
  SpscStats s;
  s.capacity = capacity;
  const uint64_t head = c.head.load(std::memory_order_relaxed);
  const uint64_t tail = c.tail.load(std::memory_order_relaxed);
  s.bytes_in_flight = tail >= head ? tail - head : 0;
  s.messages_published = c.messages_published.load(std::memory_order_relaxed);
  s.messages_released = c.messages_released.load(std::memory_order_relaxed);
  s.consumer_sleeps = c.data_wait.sleeps.load(std::memory_order_relaxed);
  s.producer_sleeps = c.space_wait.sleeps.load(std::memory_order_relaxed);
  s.producer_pid = detail::role_pid(c.producer);
  s.consumer_pid = detail::role_pid(c.consumer);
  return s;
}

}  // namespace

Result<SpscStats> inspect_spsc(const Location& where) {
  auto seg = open_spsc_segment(where, OpenMode::open, RingOptions{});
  if (!seg) return seg.error();
  return read_stats(*control_of(*seg), seg->info().capacity);
}

// ================================================================ producer

SpscProducer::SpscProducer(Segment segment, const RingOptions& options) noexcept
    : segment_(std::move(segment)),
      ctl_(control_of(segment_)),
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
  if (auto ec = check_indices(*ctl_, capacity_, segment_.location())) return ec;
  if (auto ec = detail::claim_role(ctl_->producer, "producer")) {
    ctl_ = nullptr;  // not ours: the destructor must not detach
    return ec;
  }
  // We are the only writer of tail now; a dead predecessor's staged but
  // unpublished records are simply overwritten.
  published_ = write_ = ctl_->tail.load(std::memory_order_acquire);
  head_cache_ = ctl_->head.load(std::memory_order_acquire);
  messages_ = ctl_->messages_published.load(std::memory_order_relaxed);
  // A predecessor may have died asleep; the flag is ours now.
  ctl_->space_wait.sleeping.store(0, std::memory_order_relaxed);
  return {};
}

void SpscProducer::detach() noexcept {
  if (ctl_ == nullptr) return;
  publish();
  detail::release_role(ctl_->producer);
  ctl_ = nullptr;
}

SpscProducer::SpscProducer(SpscProducer&& o) noexcept
    : segment_(std::move(o.segment_)),
      ctl_(std::exchange(o.ctl_, nullptr)),
      data_(o.data_),
      capacity_(o.capacity_),
      wait_(o.wait_),
      write_(o.write_),
      published_(o.published_),
      head_cache_(o.head_cache_),
      reserved_size_(o.reserved_size_),
      reserved_(o.reserved_),
      messages_(o.messages_) {}

SpscProducer& SpscProducer::operator=(SpscProducer&& o) noexcept {
  if (this != &o) {
    detach();
    this->~SpscProducer();
    new (this) SpscProducer(std::move(o));
  }
  return *this;
}

SpscProducer::~SpscProducer() { detach(); }

uint64_t SpscProducer::max_message_size() const noexcept {
  return std::min<uint64_t>(capacity_ - kRecordHeader, UINT32_MAX & ~uint64_t{7});
}

bool SpscProducer::has_room(uint64_t bytes) noexcept {
  if (write_ + bytes - head_cache_ <= capacity_) return true;
  // acquire: the consumer read these bytes before it released them; we are
  // about to overwrite them.
  head_cache_ = ctl_->head.load(std::memory_order_acquire);
  return write_ + bytes - head_cache_ <= capacity_;
}

void SpscProducer::write_header(uint64_t index, uint32_t size, uint32_t tag) noexcept {
  const RecordHeader h{size, tag};
  std::memcpy(data_ + (index & (capacity_ - 1)), &h, sizeof h);
}

Result<std::span<std::byte>> SpscProducer::try_reserve(size_t size) {
  reserved_ = false;
  if (size > max_message_size()) return errc::message_too_large;
  const uint64_t need = record_bytes(size);
  uint64_t pos = write_ & (capacity_ - 1);
  if (capacity_ - pos < need) {
    // The record would cross the end: pad to the end and start at 0.
    const uint64_t pad = capacity_ - pos;
    if (!has_room(pad)) {
      publish();
      return errc::would_block;
    }
    write_header(write_, static_cast<uint32_t>(pad - kRecordHeader), detail::kPadTag);
    write_ += pad;
    pos = 0;
  }
  if (!has_room(need)) {
    if (head_cache_ > published_) {
      return detail::fail(errc::corrupted, "consumer index is ahead of the producer's");
    }
    publish();  // the padding above, and any batch, must reach the consumer
    return errc::would_block;
  }
  reserved_ = true;
  reserved_size_ = size;
  return std::span<std::byte>(data_ + pos + kRecordHeader, size);
}

Result<std::span<std::byte>> SpscProducer::reserve(size_t size, Deadline deadline) {
  for (;;) {
    auto span = try_reserve(size);
    if (span || span.error() != errc::would_block) return span;
    const uint64_t seen = head_cache_;
    auto ec = detail::wait_until(
        wait_, ctl_->space_wait, deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] { return ctl_->head.load(std::memory_order_seq_cst) != seen; },
        [&] { return detail::role_gone(ctl_->consumer); });
    if (ec) return ec;
  }
}

Result<std::span<std::byte>> SpscProducer::reserve(size_t size, std::chrono::nanoseconds timeout) {
  return reserve(size, deadline_after(timeout));
}

std::error_code SpscProducer::stage(size_t used) {
  if (!reserved_ || used > reserved_size_) return errc::invalid_argument;
  write_header(write_, static_cast<uint32_t>(used), detail::kDataTag);
  write_ += record_bytes(used);
  reserved_ = false;
  ++messages_;
  return {};
}

void SpscProducer::publish() noexcept {
  if (write_ == published_) return;
  // seq_cst (a release store would do for the data: the staged records'
  // bytes are visible to a consumer that loads tail with acquire): this is
  // also W2 of the sleep/wake handshake in wait_line.hpp.
  ctl_->tail.store(write_, std::memory_order_seq_cst);
  ctl_->messages_published.store(messages_, std::memory_order_relaxed);  // statistics only
  published_ = write_;
  detail::notify(ctl_->data_wait);
}

std::error_code SpscProducer::commit(size_t used) {
  if (auto ec = stage(used)) return ec;
  publish();
  return {};
}

std::error_code SpscProducer::try_send(std::span<const std::byte> message) {
  auto span = try_reserve(message.size());
  if (!span) return span.error();
  std::memcpy(span->data(), message.data(), message.size());
  return commit(message.size());
}

std::error_code SpscProducer::send(std::span<const std::byte> message, Deadline deadline) {
  auto span = reserve(message.size(), deadline);
  if (!span) return span.error();
  std::memcpy(span->data(), message.data(), message.size());
  return commit(message.size());
}

std::error_code SpscProducer::send(std::span<const std::byte> message,
                                   std::chrono::nanoseconds timeout) {
  return send(message, deadline_after(timeout));
}

SpscStats SpscProducer::stats() const noexcept { return read_stats(*ctl_, capacity_); }

// ================================================================ consumer

SpscConsumer::SpscConsumer(Segment segment, const RingOptions& options) noexcept
    : segment_(std::move(segment)),
      ctl_(control_of(segment_)),
      data_(segment_.data()),
      capacity_(segment_.info().capacity),
      wait_(options.wait) {}

Result<SpscConsumer> SpscConsumer::open(const Location& where, OpenMode how,
                                        const RingOptions& options) {
  auto seg = open_spsc_segment(where, how, options);
  if (!seg) return seg.error();
  SpscConsumer c(std::move(*seg), options);
  if (auto ec = c.attach()) return ec;
  return c;
}

std::error_code SpscConsumer::attach() {
  if (auto ec = check_indices(*ctl_, capacity_, segment_.location())) return ec;
  if (auto ec = detail::claim_role(ctl_->consumer, "consumer")) {
    ctl_ = nullptr;
    return ec;
  }
  // Start at the last released record: what a dead predecessor read but did
  // not release is delivered again.
  read_ = released_ = tail_cache_ = ctl_->head.load(std::memory_order_acquire);
  messages_ = ctl_->messages_released.load(std::memory_order_relaxed);
  ctl_->data_wait.sleeping.store(0, std::memory_order_relaxed);
  return {};
}

void SpscConsumer::detach() noexcept {
  if (ctl_ == nullptr) return;
  detail::release_role(ctl_->consumer);
  ctl_ = nullptr;
}

SpscConsumer::SpscConsumer(SpscConsumer&& o) noexcept
    : segment_(std::move(o.segment_)),
      ctl_(std::exchange(o.ctl_, nullptr)),
      data_(o.data_),
      capacity_(o.capacity_),
      wait_(o.wait_),
      read_(o.read_),
      released_(o.released_),
      tail_cache_(o.tail_cache_),
      unreleased_(o.unreleased_),
      messages_(o.messages_) {}

SpscConsumer& SpscConsumer::operator=(SpscConsumer&& o) noexcept {
  if (this != &o) {
    detach();
    this->~SpscConsumer();
    new (this) SpscConsumer(std::move(o));
  }
  return *this;
}

SpscConsumer::~SpscConsumer() { detach(); }

Result<std::span<const std::byte>> SpscConsumer::try_read() {
  for (;;) {
    if (read_ == tail_cache_) {
      // acquire: pairs with the producer's release in publish(); the
      // records below tail are fully written.
      tail_cache_ = ctl_->tail.load(std::memory_order_acquire);
      if (read_ == tail_cache_) return errc::would_block;
      if (tail_cache_ < read_ || tail_cache_ - released_ > capacity_) {
        return detail::fail(errc::corrupted, "producer index is impossible");
      }
    }
    const uint64_t pos = read_ & (capacity_ - 1);
    RecordHeader h;
    std::memcpy(&h, data_ + pos, sizeof h);
    const uint64_t bytes = record_bytes(h.size);
    const bool pad = h.tag == detail::kPadTag;
    if ((!pad && h.tag != detail::kDataTag) || bytes > tail_cache_ - read_ ||
        (pad ? pos + bytes != capacity_ : pos + bytes > capacity_)) {
      return detail::fail(errc::corrupted, "impossible record header at offset " +
                                               std::to_string(pos));
    }
    read_ += bytes;
    if (pad) {
      // Nothing the caller holds lies before the padding: free it at once,
      // so a producer waiting for room at offset 0 can go on.
      if (unreleased_ == 0) release();
      continue;
    }
    ++unreleased_;
    return std::span<const std::byte>(data_ + pos + kRecordHeader, h.size);
  }
}

Result<std::span<const std::byte>> SpscConsumer::read(Deadline deadline) {
  for (;;) {
    auto view = try_read();
    if (view || view.error() != errc::would_block) return view;
    auto ec = detail::wait_until(
        wait_, ctl_->data_wait, deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] { return ctl_->tail.load(std::memory_order_seq_cst) != read_; },
        [&] { return detail::role_gone(ctl_->producer); });
    if (ec) return ec;
  }
}

Result<std::span<const std::byte>> SpscConsumer::read(std::chrono::nanoseconds timeout) {
  return read(deadline_after(timeout));
}

void SpscConsumer::release() noexcept {
  if (read_ == released_) return;
  // seq_cst (release would do for the data: we have finished reading these
  // bytes, and the producer loads head with acquire before it overwrites
  // them): this is also W2 of the sleep/wake handshake in wait_line.hpp.
  ctl_->head.store(read_, std::memory_order_seq_cst);
  messages_ += unreleased_;
  unreleased_ = 0;
  ctl_->messages_released.store(messages_, std::memory_order_relaxed);  // statistics only
  released_ = read_;
  detail::notify(ctl_->space_wait);
}

namespace {
Result<std::vector<std::byte>> copy_out(SpscConsumer& c, Result<std::span<const std::byte>> view) {
  if (!view) return view.error();
  std::vector<std::byte> out(view->begin(), view->end());
  c.release();
  return out;
}
}  // namespace

Result<std::vector<std::byte>> SpscConsumer::try_receive() { return copy_out(*this, try_read()); }

Result<std::vector<std::byte>> SpscConsumer::receive(Deadline deadline) {
  return copy_out(*this, read(deadline));
}

Result<std::vector<std::byte>> SpscConsumer::receive(std::chrono::nanoseconds timeout) {
  return copy_out(*this, read(timeout));
}

SpscStats SpscConsumer::stats() const noexcept { return read_stats(*ctl_, capacity_); }

}  // namespace ringdrop

// spsc_ring.cpp — the SPSC ring. Layout and record format: spsc_layout.hpp.
//
// Memory-ordering argument, in one place:
//  - The producer writes a record's payload with plain stores, the end
//    marker and any later headers of the batch with relaxed atomic stores,
//    and then the batch's first header with a release store. The consumer
//    loads a header with acquire before it reads the record, and reaches the
//    later records of a batch only through the first. So every byte of a
//    published record, and the zero end marker after it, is visible to the
//    consumer.
//  - The consumer finishes reading records, then stores `head` (release).
//    The producer loads `head` with acquire before it overwrites the space
//    below it. So no byte is overwritten while still being read.
//  - `head` has one writer, so a plain store suffices (no RMW). The producer
//    keeps a cached copy and reloads it only when the copy says "full".
//  - The release stores (first header, head) are also W2 of the sleep/wake
//    handshake of wait_line.hpp, which needs no fence from the waker: a mov
//    per publish and per release on x86, not an xchg.
#include "ringdrop/spsc_ring.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/platform.hpp"
#include "ring/copying.hpp"
#include "ring/dead_letter_sink.hpp"
#include "ring/too_large.hpp"
#include "ring/would_block.hpp"
#include "segment/role.hpp"
#include "ring/spsc_layout.hpp"

namespace ringdrop {

using detail::header_at;
using detail::kCleanAhead;
using detail::kEndMarker;
using detail::kLine;
using detail::kRecordHeader;
using detail::record_bytes;
using detail::SpscControl;

namespace {

// Each wait line of an SPSC ring has one waiter, the holder of the role.
constexpr uint64_t kOnlyWaiter = 1;

Result<Segment> open_spsc_segment(const Location& where, OpenMode how, const RingOptions& o) {
  if (auto ec = detail::check_max_deliveries(o.max_deliveries, where)) return ec;
  SegmentSpec spec;
  spec.kind = RingKind::spsc;
  spec.capacity = o.capacity;
  spec.mode = o.mode;
  spec.init_timeout = o.init_timeout;
  spec.params[detail::kSpscMaxDeliveriesParam] = o.max_deliveries;
  auto seg = Segment::open(where, how, spec);
  if (seg && seg->info().params[detail::kSpscMaxDeliveriesParam] > detail::kMostMaxDeliveries) {
    return detail::fail(errc::corrupted, where.describe() + ": impossible max_deliveries in its header");
  }
  return seg;
}

SpscControl* control_of(const Segment& s) noexcept {
  return reinterpret_cast<SpscControl*>(s.control());
}

std::error_code corrupted(const Location& where, const std::string& what) {
  return detail::fail(errc::corrupted, where.describe() + ": " + what);
}

// head and tail are record boundaries, and tail is at most a ring ahead of
// head. (tail may trail head: producers killed between their header and
// tail stores leave it behind; the walk in find_published_end covers that.)
std::error_code check_indices(const SpscControl& c, uint64_t capacity, const Location& where) {
  const uint64_t tail = c.tail.load(std::memory_order_acquire);
  const uint64_t head = c.head.load(std::memory_order_acquire);
  if ((tail > head && tail - head > capacity) || (tail | head) % 8 != 0) {
    return corrupted(where, "ring indices are impossible (head " + std::to_string(head) +
                                ", tail " + std::to_string(tail) + ")");
  }
  return {};
}

// Where the published records end: follow headers from max(head, tail),
// both record boundaries at or before the end, to the zero end marker.
Result<uint64_t> find_published_end(const SpscControl& c, std::byte* data, uint64_t capacity,
                                    const Location& where) {
  const uint64_t head = c.head.load(std::memory_order_acquire);
  // acquire: pairs with the release of tail in publish(); everything the
  // dead producer published up to tail is visible.
  uint64_t at = std::max(head, c.tail.load(std::memory_order_acquire));
  while (at - head <= capacity) {
    const uint64_t pos = at & (capacity - 1);
    const uint64_t h = header_at(data, pos).load(std::memory_order_acquire);
    if (h == 0) return at;
    if (!detail::header_valid(h, pos, capacity)) {
      return corrupted(where, "impossible record header at offset " + std::to_string(pos));
    }
    at += record_bytes(detail::header_size(h));
  }
  return corrupted(where, "no end marker after the published records");
}

detail::RoleSlot role_slot(const Segment& seg, std::atomic<uint64_t>& slot) noexcept {
  return detail::RoleSlot{&slot, seg.native_handle(), detail::offset_in(seg, &slot)};
}

SpscStats read_stats(const Segment& seg, SpscControl& c) noexcept {
  const uint64_t capacity = seg.info().capacity;
  SpscStats s;
  s.capacity = capacity;
  const uint64_t head = c.head.load(std::memory_order_relaxed);
  const uint64_t tail = c.tail.load(std::memory_order_relaxed);
  s.bytes_in_flight = tail >= head ? tail - head : 0;
  s.high_water = c.high_water.load(std::memory_order_relaxed);
  s.messages_published = c.messages_published.load(std::memory_order_relaxed);
  s.messages_released = c.messages_released.load(std::memory_order_relaxed);
  s.bytes_published = c.bytes_published.load(std::memory_order_relaxed);
  s.bytes_released = c.bytes_released.load(std::memory_order_relaxed);
  s.producer_waits = c.producer_waits.load(std::memory_order_relaxed);
  s.consumer_waits = c.consumer_waits.load(std::memory_order_relaxed);
  s.consumer_sleeps = c.data_wait.sleeps.load(std::memory_order_relaxed);
  s.producer_sleeps = c.space_wait.sleeps.load(std::memory_order_relaxed);
  s.dead_lettered = c.dead_lettered.load(std::memory_order_relaxed);
  s.producer_pid = detail::role_pid(role_slot(seg, c.producer));
  s.consumer_pid = detail::role_pid(role_slot(seg, c.consumer));
  return s;
}

}  // namespace

Result<SpscStats> inspect_spsc(const Location& where) {
  auto seg = open_spsc_segment(where, OpenMode::open, RingOptions{});
  if (!seg) return seg.error();
  return read_stats(*seg, *control_of(*seg));
}

Result<std::vector<std::vector<std::byte>>> peek_spsc(const Location& where, size_t max) {
  auto seg = open_spsc_segment(where, OpenMode::open, RingOptions{});
  if (!seg) return seg.error();
  SpscControl& c = *control_of(*seg);
  std::byte* data = seg->data();
  const uint64_t capacity = seg->info().capacity;
  std::vector<std::vector<std::byte>> out;
  // A seqlock look: copy a record, then check that the consumer had not
  // released it (head still at or before it). Until it is released the
  // producer cannot write there, so a copy checked that way is whole; past
  // the first record the consumer took meanwhile, the look stops.
  // acquire: pairs with the consumer's release of head (what it released is
  // done with) — the start of the look.
  uint64_t at = c.head.load(std::memory_order_acquire);
  if (at % 8 != 0) return corrupted(where, "head " + std::to_string(at) + " is not a record boundary");
  const uint64_t start = at;
  while (out.size() < max && at - start < capacity) {
    const uint64_t pos = at & (capacity - 1);
    // acquire: pairs with the store that published the record (as try_read).
    const uint64_t h = header_at(data, pos).load(std::memory_order_acquire);
    if (h == 0 || !detail::header_valid(h, pos, capacity)) break;  // the end, or a lap in progress
    const uint32_t size = detail::header_size(h);
    std::vector<std::byte> copy;
    if (detail::header_tag(h) != detail::kPadTag) copy.assign(data + pos + kRecordHeader, data + pos + kRecordHeader + size);
    // head again, the copy's loads ordered before it.
    if (detail::seqlock_recheck(c.head) > at) break;  // released meanwhile: the copy may be torn
    if (detail::header_tag(h) != detail::kPadTag) out.push_back(std::move(copy));
    at += record_bytes(size);
  }
  if (seg->damaged()) return seg->damage();  // truncated under us: the copies may be zero pages
  return out;
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
  const auto role = role_slot(segment_, ctl_->producer);
  std::error_code ec = detail::claim_role(role, segment_.location().describe() + " producer");
  if (ec) {
    ctl_ = nullptr;  // not ours: the destructor must not detach
    return ec;
  }
  owner_ = ::getpid();
  // A dead predecessor's staged but unpublished records lie past the end
  // marker and are simply overwritten.
  ec = check_indices(*ctl_, capacity_, segment_.location());
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
  detail::forget_sleeper(ctl_->space_wait, kOnlyWaiter);
  return {};
}

void SpscProducer::detach() noexcept {
  if (ctl_ == nullptr) return;
  if (owner_ == ::getpid()) {  // in a forked child, the role is the parent's
    publish();
    detail::release_role(role_slot(segment_, ctl_->producer));
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

namespace {
// Half the capacity, less a record header. A record never wraps: one that
// does not fit before the end of the data area needs padding to the end and
// then itself at offset 0, and both must fit between the consumer's position
// and its position a ring later (less the end marker). Wherever an empty
// ring's consumer stands, that holds for records of up to half the capacity,
// and for no larger one; so the largest message fits an empty ring at once,
// without waiting for the consumer to pass the padding. (Agrona's ring
// buffers bound their messages the same way, at an eighth.)
uint64_t max_message_for(uint64_t capacity) noexcept {
  return std::min<uint64_t>(capacity / 2 - kRecordHeader, UINT32_MAX & ~uint64_t{7});
}
}  // namespace

uint64_t SpscProducer::max_message_size() const noexcept { return max_message_for(capacity_); }

uint64_t SpscConsumer::max_message_size() const noexcept {
  return max_message_for(capacity_);
}

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
        wait_, ctl_->space_wait, kOnlyWaiter, deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] { return ctl_->head.load(std::memory_order_seq_cst) != seen || segment_.damaged(); },
        [&] { return detail::role_gone(role_slot(segment_, ctl_->consumer)); });
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
  SpscStats s = read_stats(segment_, *ctl_);
  s.producer_pid = static_cast<uint32_t>(owner_);  // our own lock is invisible to us
  return s;
}

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
  const uint64_t max = c.segment_.info().params[detail::kSpscMaxDeliveriesParam];
  c.max_deliveries_ = max != 0 ? static_cast<uint32_t>(max) : detail::kDefaultMaxDeliveries;
  c.dead_letters_ = std::make_shared<detail::DeadLetterSink>(where, options.dead_letters, RingKind::spsc);
  return c;
}

std::error_code SpscConsumer::attach() {
  const auto role = role_slot(segment_, ctl_->consumer);
  std::error_code ec = detail::claim_role(role, segment_.location().describe() + " consumer");
  if (!ec) ec = check_indices(*ctl_, capacity_, segment_.location());
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
  detail::forget_sleeper(ctl_->data_wait, kOnlyWaiter);
  return {};
}

void SpscConsumer::detach() noexcept {
  if (ctl_ == nullptr) return;
  if (owner_ == ::getpid()) {  // in a forked child, the role is the parent's
    detail::release_role(role_slot(segment_, ctl_->consumer));
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
        wait_, ctl_->data_wait, kOnlyWaiter, deadline,
        // seq_cst: R1 of the sleep/wake handshake (wait_line.hpp).
        [&] {
          return header_at(data_, read_ & (capacity_ - 1)).load(std::memory_order_seq_cst) != 0 ||
                 segment_.damaged();  // a truncation: the next try says corrupted
        },
        [&] { return detail::role_gone(role_slot(segment_, ctl_->producer)); });
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
  SpscStats s = read_stats(segment_, *ctl_);
  s.consumer_pid = static_cast<uint32_t>(owner_);  // our own lock is invisible to us
  return s;
}

}  // namespace ringdrop

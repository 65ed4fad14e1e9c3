// spsc_segment.cpp — an SPSC ring's segment, apart from its two ends:
// opening and checking it, its statistics, and inspect_spsc/peek_spsc, which
// look at a ring without taking a role. The producer: spsc_producer.cpp; the
// consumer: spsc_consumer.cpp; what they share: spsc_segment.hpp.
#include "ring/spsc_segment.hpp"

#include <algorithm>
#include <utility>

#include "core/platform.hpp"
#include "ring/dead_letter_sink.hpp"

namespace ringdrop::detail {

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

std::error_code spsc_corrupted(const Location& where, const std::string& what) {
  return detail::fail(errc::corrupted, where.describe() + ": " + what);
}

std::error_code check_spsc_indices(const SpscControl& c, uint64_t capacity, const Location& where) {
  const uint64_t tail = c.tail.load(std::memory_order_acquire);
  const uint64_t head = c.head.load(std::memory_order_acquire);
  if ((tail > head && tail - head > capacity) || (tail | head) % 8 != 0) {
    return spsc_corrupted(where, "ring indices are impossible (head " + std::to_string(head) +
                                ", tail " + std::to_string(tail) + ")");
  }
  return {};
}

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
      return spsc_corrupted(where, "impossible record header at offset " + std::to_string(pos));
    }
    at += record_bytes(detail::header_size(h));
  }
  return spsc_corrupted(where, "no end marker after the published records");
}

SpscStats read_spsc_stats(const Segment& seg, SpscControl& c) noexcept {
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
  s.producer_pid = detail::role_pid(spsc_role_slot(seg, c.producer));
  s.consumer_pid = detail::role_pid(spsc_role_slot(seg, c.consumer));
  return s;
}

}  // namespace ringdrop::detail

namespace ringdrop {

using detail::header_at;
using detail::kRecordHeader;
using detail::record_bytes;
using detail::open_spsc_segment;
using detail::read_spsc_stats;
using detail::spsc_control;
using detail::spsc_corrupted;
using detail::SpscControl;

Result<SpscStats> inspect_spsc(const Location& where) {
  auto seg = open_spsc_segment(where, OpenMode::open, RingOptions{});
  if (!seg) return seg.error();
  return read_spsc_stats(*seg, *spsc_control(*seg));
}

Result<std::vector<std::vector<std::byte>>> peek_spsc(const Location& where, size_t max) {
  auto seg = open_spsc_segment(where, OpenMode::open, RingOptions{});
  if (!seg) return seg.error();
  SpscControl& c = *spsc_control(*seg);
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
  if (at % 8 != 0) return spsc_corrupted(where, "head " + std::to_string(at) + " is not a record boundary");
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

}  // namespace ringdrop

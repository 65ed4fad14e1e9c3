#include "ring_view.hpp"

#include <filesystem>

#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/ring_dead_letters.hpp"
#include "ringdrop/rpc_client.hpp"
#include "ringdrop/spsc_ring.hpp"

namespace ringdrop::ops {

namespace {

double ratio(uint64_t part, uint64_t whole) { return whole == 0 ? 0.0 : static_cast<double>(part) / whole; }

void take(RingView& v, const SpscStats& s) {
  v.fill = s.bytes_in_flight;
  v.fill_ratio = ratio(s.bytes_in_flight, v.capacity);
  v.high_water = s.high_water;
  v.committed = s.messages_published;
  v.consumed = s.messages_released;
  v.bytes_committed = s.bytes_published;
  v.bytes_consumed = s.bytes_released;
  v.producer_waits = s.producer_waits;
  v.consumer_waits = s.consumer_waits;
  v.dead_lettered = s.dead_lettered;
  if (s.producer_pid != 0) v.peers.push_back({s.producer_pid, "producer", s.messages_published, s.bytes_published, s.producer_waits});
  if (s.consumer_pid != 0) v.peers.push_back({s.consumer_pid, "consumer", s.messages_released, s.bytes_released, s.consumer_waits});
}

void take(RingView& v, const SharedRingStats& s) {
  const bool broadcast = v.kind == RingKind::broadcast;
  v.cell_size = s.cell_size;
  v.cells = s.cells;
  v.fill = s.fill;
  v.fill_ratio = ratio(s.fill, s.cells);
  v.high_water = s.high_water;
  v.committed = s.messages_committed;
  v.consumed = s.messages_consumed;
  v.bytes_committed = s.bytes_committed;
  v.bytes_consumed = s.bytes_consumed;
  v.producer_waits = s.producer_waits;
  v.consumer_waits = s.consumer_waits;
  v.abandoned = s.abandoned;
  v.redelivered = s.redelivered;
  v.lost = s.lost;
  v.dead_lettered = s.dead_lettered;
  v.lapped = s.lapped;
  v.missed = s.missed;
  for (const PeerInfo& p : s.peers) {
    const char* role = p.producer ? (broadcast ? "publisher" : "producer") : (broadcast ? "subscriber" : "consumer");
    v.peers.push_back({p.pid, role, p.messages, p.bytes, p.waits});
  }
}

// Dead letters waiting in the ring's default directory; 0 when it was never
// made (no dead letter yet) or cannot be read as a channel.
uint64_t count_dead_letters(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return 0;
  DropOptions o;
  o.create = false;
  auto ch = DropChannel::open(dir, o);
  if (!ch) return 0;
  auto counts = ch->counts();
  return counts ? counts->failed : 0;
}

}  // namespace

bool RingView::orphaned_reply_ring() const {
  return kind == RingKind::mpmc && is_abandoned_reply_ring(where);  // looked at again, now
}

Result<RingView> inspect_ring(const Location& where) {
  auto seg = Segment::inspect(where);
  if (!seg) return seg.error();
  const SegmentInfo info = seg->info();
  RingView v;
  v.where = where;
  v.kind = info.kind;
  v.capacity = info.capacity;
  v.created = info.created;
  v.creator_pid = info.creator_pid;
  switch (info.kind) {
    case RingKind::spsc: {
      auto s = inspect_spsc(where);
      if (!s) return s.error();
      take(v, *s);
      auto seen = peek_spsc(where, 1);
      v.pending = !seen || !seen->empty();  // a ring that cannot be looked into: assume so
      break;
    }
    case RingKind::mpmc: {
      auto s = inspect_mpmc(where);
      if (!s) return s.error();
      take(v, *s);
      uint64_t held = 0;
      auto seen = peek_mpmc(where, 1, &held);
      v.pending = !seen || !seen->empty() || held > 0;
      break;
    }
    case RingKind::broadcast: {
      auto s = inspect_broadcast(where);
      if (!s) return s.error();
      take(v, *s);
      break;
    }
  }
  v.dead_letter_dir = dead_letter_dir(where);
  v.dead_letters = count_dead_letters(v.dead_letter_dir);
  return v;
}

}  // namespace ringdrop::ops

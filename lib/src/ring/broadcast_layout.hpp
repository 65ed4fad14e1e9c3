// broadcast_layout.hpp — the broadcast ring: one publisher, up to 64
// subscribers, every subscriber sees every message in order.
//
// Message k lives in cell k % cells (cell_layout.hpp). A cell's state word
// names the message in it:
//
//   0               never written
//   (k + 1) << 1    message k, complete
//   (k + 1) << 1|1  message k, being written
//
// so a subscriber waiting for message m reads the cell's state and knows at
// once whether m is there (== complete(m)), not yet there (an older message,
// or m being written), or gone (a newer message: it was lapped).
//
// Each subscriber is a peer-table entry (peer_table.hpp) whose `cursor` is
// the next message it will read. With the `block` policy the publisher does
// not write message k while a live subscriber's cursor is at or below
// k - cells; dead subscribers are reaped at the publisher's liveness checks,
// so they never block it for long. With `overwrite` the publisher never
// waits, and subscribers read seqlock-style: state before, payload, state
// after (seqlock_recheck); a change means the message was overwritten while
// read, reported as lost.
//
// A subscriber joining "from the oldest message" starts at tail - cells
// (the oldest message the cells can still hold). The publisher learns
// of new subscribers through `epoch` and takes them into account from its
// next message; messages it overwrote in between are reported to the joiner
// as missed, like a lap.
#pragma once

#include <atomic>
#include <cstdint>

#include "ring/cell_layout.hpp"
#include "segment/peer_table.hpp"
#include "segment/segment_layout.hpp"
#include "segment/wait_line.hpp"

namespace ringdrop::detail {

constexpr uint64_t complete_state(uint64_t k) noexcept { return (k + 1) << 1; }
constexpr uint64_t writing_state(uint64_t k) noexcept { return (k + 1) << 1 | 1; }
/// The message number a non-zero state names.
constexpr uint64_t state_message(uint64_t s) noexcept { return (s >> 1) - 1; }

struct BroadcastControl {
  alignas(kLine) std::atomic<uint64_t> tail;  // next message number to publish
  std::atomic<uint64_t> published_bytes;
  alignas(kLine) WaitLine data_wait;          // subscribers wait here, bit = peer index
  alignas(kLine) WaitLine space_wait;         // the publisher waits here (block policy)
  alignas(kLine) std::atomic<uint64_t> epoch; // bumped when a subscriber joins
  std::atomic<uint64_t> lapped;               // times a subscriber was lapped
  std::atomic<uint64_t> missed;               // messages lapped subscribers missed
  std::atomic<uint64_t> abandoned;            // messages a dead publisher left half-written
  std::atomic<uint64_t> high_water;
  std::atomic<uint64_t> publisher_waits;
  alignas(kLine) std::atomic<uint64_t> publisher;  // role slot (role.hpp)
  alignas(kLine) PeerTable peers;
};
static_assert(kControlOffset + sizeof(BroadcastControl) <= data_offset_for(RingKind::broadcast));

}  // namespace ringdrop::detail

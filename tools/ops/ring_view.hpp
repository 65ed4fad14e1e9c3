// ring_view.hpp — one ring as tools show it, whatever its kind.
//
// The data model of `ringdrop ls`, `stat` and `gc` and of the console: a
// ring's header (kind, size, creator, age), its counters and its live peers,
// read without attaching to it (Segment::inspect, inspect_spsc/mpmc/
// broadcast), and how many dead letters wait in its default dead-letter
// directory (ring_dead_letters.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop::ops {

struct PeerView {
  uint32_t pid = 0;
  std::string role;  ///< "producer", "consumer", "publisher" or "subscriber"
  uint64_t messages = 0, bytes = 0, waits = 0;
};

struct RingView {
  Location where = Location::shm("?");
  RingKind kind = RingKind::spsc;
  uint64_t capacity = 0;  ///< data bytes
  uint64_t cell_size = 0, cells = 0;  ///< MPMC and broadcast; 0 for SPSC
  /// What waits in the ring: SPSC bytes in flight, MPMC cells not consumed,
  /// broadcast cells the slowest subscriber has not read.
  uint64_t fill = 0;
  double fill_ratio = 0;  ///< fill over capacity (bytes) or cells
  uint64_t high_water = 0;
  uint64_t committed = 0, consumed = 0, bytes_committed = 0, bytes_consumed = 0;
  uint64_t producer_waits = 0, consumer_waits = 0;
  uint64_t abandoned = 0, redelivered = 0, lost = 0, dead_lettered = 0, lapped = 0, missed = 0;
  std::vector<PeerView> peers;  ///< live processes attached now
  std::chrono::system_clock::time_point created;
  uint32_t creator_pid = 0;
  std::string dead_letter_dir;  ///< its default one (dead_letter_dir())
  uint64_t dead_letters = 0;    ///< waiting there (0 when the directory does not exist)

  /// No live process is attached: left by programs that ended or crashed.
  bool stale() const noexcept { return peers.empty(); }
  /// A client's private reply ring whose client is gone
  /// (is_abandoned_reply_ring, rpc_client.hpp, asked now): servers that
  /// answered it may still be attached, as producers; what waits in it has
  /// no reader left.
  bool orphaned_reply_ring() const;
  /// A message waits in it, or is held by a consumer (whose death hands it
  /// on): looked for in the ring itself (peek_spsc, peek_mpmc), since the
  /// counters can lag (a producer killed before its tail store; orphans
  /// behind head). Broadcast: it keeps any message at all.
  bool pending = false;

  /// Something waits in it that a consumer may still come for: on a
  /// broadcast ring, any message it keeps (a subscriber that joins at the
  /// oldest reads them, whoever else has).
  bool holds_messages() const noexcept { return fill > 0 || pending || (kind == RingKind::broadcast && committed > 0); }
  const char* kind_name() const noexcept { return to_string(kind); }
};

/// Reads the ring at `where`, of any kind. Errors: those of
/// Segment::inspect (not_found, foreign_segment, corrupted...).
Result<RingView> inspect_ring(const Location& where);

}  // namespace ringdrop::ops

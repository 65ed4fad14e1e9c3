// ringdrop/shared_ring_stats.hpp — counters of the shared rings (MPMC and
// broadcast), read from any process without disturbing the ring.
#pragma once

#include <cstdint>
#include <vector>

namespace ringdrop {

struct PeerInfo {
  uint32_t pid = 0;
  bool producer = false;   ///< else a consumer / subscriber
  uint64_t messages = 0;   ///< committed, or consumed
  uint64_t bytes = 0;
  uint64_t waits = 0;      ///< times it found the ring full (producer) or empty
};

struct SharedRingStats {
  uint64_t capacity = 0;         ///< data bytes
  uint64_t cell_size = 0;        ///< bytes per cell; the largest message is cell_size - 16
  uint64_t cells = 0;
  uint64_t fill = 0;             ///< cells claimed or committed, not yet consumed (MPMC),
                                 ///< or published, not yet read by the slowest subscriber
  uint64_t high_water = 0;       ///< the largest fill seen (MPMC: sampled every 64 claims and when full)
  uint64_t messages_committed = 0, bytes_committed = 0;
  uint64_t messages_consumed = 0, bytes_consumed = 0;  ///< by all consumers / subscribers
  uint64_t producer_waits = 0, consumer_waits = 0;
  uint64_t abandoned = 0;        ///< records whose producer died between reserve and commit
  uint64_t redelivered = 0;      ///< records taken again after their consumer died (MPMC)
  uint64_t lost = 0;             ///< records whose consumer died (MPMC, drop policy)
  uint64_t dead_lettered = 0;    ///< set aside as dead letters: max_deliveries reached, or rejected (MPMC)
  uint64_t lapped = 0;           ///< times a subscriber was lapped (broadcast, overwrite)
  uint64_t missed = 0;           ///< messages lapped subscribers missed (broadcast)
  std::vector<PeerInfo> peers;   ///< attached, live processes
};

}  // namespace ringdrop

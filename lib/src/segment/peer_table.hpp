// peer_table.hpp — the processes attached to a shared ring (MPMC, broadcast):
// up to 64, each in its own entry, each alive exactly while it holds the
// entry's lock.
//
// As for the SPSC roles (role.hpp), an attached process keeps an
// open-file-description lock on its entry's first byte, which the kernel
// drops when the process dies. The lock is also what makes recovery safe:
//
//   join     try to lock entries in turn; the first one locked is ours. If
//            its `role` is still set, its holder died without leaving: we
//            first recover what it held (the ring's callback), then take it.
//   reap     a waiter, at each liveness check, tries to lock every entry
//            whose role is set; one it can lock belongs to a dead process:
//            it recovers it and frees it (role = none), then unlocks.
//   leave    role = none, then unlock.
//
// Only one process can hold an entry's lock, so a dead peer is recovered
// exactly once; a recoverer that itself dies midway leaves the entry set and
// locked by nobody, and the next one recovers again (the ring's recovery
// steps are CAS transitions, so repeating them is harmless).
//
// Each entry sits on its own cache line with the peer's own counters, so
// statistics cost no shared writes; a departing peer's counts are added to
// the table's retired totals.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "ringdrop/result.hpp"
#include "segment/segment_layout.hpp"

namespace ringdrop::detail {

inline constexpr unsigned kMaxPeers = 64;

enum class PeerRole : uint32_t { none = 0, producer = 1, consumer = 2 };

struct alignas(kLine) PeerEntry {
  std::atomic<uint32_t> role;        // PeerRole; none: free
  std::atomic<uint32_t> pid;         // for statistics and messages
  std::atomic<uint32_t> generation;  // bumped at every join
  uint32_t reserved;
  std::atomic<uint64_t> cursor;      // broadcast subscribers: next message number
  std::atomic<uint64_t> messages;    // committed (producer) or consumed (consumer)
  std::atomic<uint64_t> bytes;
  std::atomic<uint64_t> waits;       // times it found the ring full (producer) or empty
};

struct PeerTotals {
  std::atomic<uint64_t> messages;
  std::atomic<uint64_t> bytes;
  std::atomic<uint64_t> waits;
  std::atomic<uint64_t> joined;  // peers that ever joined in this role
};

struct PeerTable {
  PeerEntry entries[kMaxPeers];
  alignas(kLine) PeerTotals retired[3];  // indexed by PeerRole
};

/// Called with the dead peer's entry locked: undo what it held.
using RecoverFn = std::function<void(unsigned index, const PeerEntry& entry)>;

/// One handle's view of a table: its own descriptor carries its locks.
struct PeerTableRef {
  PeerTable* table;
  int fd;
  uint64_t offset;  // of the table in the segment

  /// Joins as `role`, with `cursor` as the entry's first cursor;
  /// errc::role_taken when all 64 entries are held.
  Result<unsigned> join(PeerRole role, const RecoverFn& recover, const std::string& what,
                        uint64_t cursor = 0) const;
  /// Leaves entry `index` (ours).
  void leave(unsigned index) const noexcept;
  /// Recovers and frees every entry whose holder died; skips `self`.
  unsigned reap(unsigned self, const RecoverFn& recover) const noexcept;
  /// Whether a live process other than `self` holds `role`.
  bool any_live(PeerRole role, unsigned self) const noexcept;
  /// Whether a live process holds entry `index` (not usable for one's own).
  bool alive(unsigned index) const noexcept;

 private:
  uint64_t lock_offset(unsigned index) const noexcept;
  bool try_lock(unsigned index) const noexcept;
  void unlock(unsigned index) const noexcept;
  void retire(PeerEntry& e) const noexcept;
};

}  // namespace ringdrop::detail

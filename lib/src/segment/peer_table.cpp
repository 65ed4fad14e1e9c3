#include "segment/peer_table.hpp"

#include <unistd.h>

#include "core/byte_lock.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {

uint64_t PeerTableRef::lock_offset(unsigned index) const noexcept {
  return offset + index * sizeof(PeerEntry);
}

bool PeerTableRef::try_lock(unsigned index) const noexcept {
  return try_lock_byte(fd, lock_offset(index)) == 0;
}

void PeerTableRef::unlock(unsigned index) const noexcept { unlock_byte(fd, lock_offset(index)); }

bool PeerTableRef::alive(unsigned index) const noexcept {
  return byte_locked_by_other(fd, lock_offset(index));
}

void PeerTableRef::retire(PeerEntry& e) const noexcept {
  const auto role = e.role.load(std::memory_order_relaxed);
  if (role == 0 || role > 2) return;
  PeerTotals& t = table->retired[role];
  t.messages.fetch_add(e.messages.load(std::memory_order_relaxed), std::memory_order_relaxed);
  t.bytes.fetch_add(e.bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
  t.waits.fetch_add(e.waits.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

Result<unsigned> PeerTableRef::join(PeerRole role, const RecoverFn& recover,
                                    const std::string& what, uint64_t cursor) const {
  for (unsigned i = 0; i < kMaxPeers; ++i) {
    if (!try_lock(i)) continue;  // a live holder (or a recoverer) has it
    PeerEntry& e = table->entries[i];
    // acquire: a predecessor's last writes (cursor, counters) are visible.
    if (e.role.load(std::memory_order_acquire) != 0) {
      recover(i, e);  // its holder died without leaving
      retire(e);
    }
    e.generation.fetch_add(1, std::memory_order_relaxed);
    e.pid.store(static_cast<uint32_t>(::getpid()), std::memory_order_relaxed);
    e.cursor.store(cursor, std::memory_order_relaxed);
    e.messages.store(0, std::memory_order_relaxed);
    e.bytes.store(0, std::memory_order_relaxed);
    e.waits.store(0, std::memory_order_relaxed);
    table->retired[static_cast<uint32_t>(role)].joined.fetch_add(1, std::memory_order_relaxed);
    // release: the fields above are set before anyone sees the entry in use.
    e.role.store(static_cast<uint32_t>(role), std::memory_order_release);
    return i;
  }
  return fail(errc::role_taken, what + ": all " + std::to_string(kMaxPeers) +
                                    " peer slots are held by live processes");
}

void PeerTableRef::leave(unsigned index) const noexcept {
  PeerEntry& e = table->entries[index];
  retire(e);
  // release: our last writes happen-before a successor's join (acquire).
  e.role.store(0, std::memory_order_release);
  unlock(index);
}

unsigned PeerTableRef::reap(unsigned self, const RecoverFn& recover) const noexcept {
  unsigned reaped = 0;
  for (unsigned i = 0; i < kMaxPeers; ++i) {
    PeerEntry& e = table->entries[i];
    if (i == self || e.role.load(std::memory_order_acquire) == 0 || !try_lock(i)) continue;
    // Locked: nobody holds it. Still set? Then its holder died.
    if (e.role.load(std::memory_order_acquire) != 0) {
      recover(i, e);
      retire(e);
      e.role.store(0, std::memory_order_release);
      ++reaped;
    }
    unlock(i);
  }
  return reaped;
}

bool PeerTableRef::any_live(PeerRole role, unsigned self) const noexcept {
  for (unsigned i = 0; i < kMaxPeers; ++i) {
    if (i == self) continue;
    if (table->entries[i].role.load(std::memory_order_acquire) == static_cast<uint32_t>(role) &&
        alive(i)) {
      return true;
    }
  }
  return false;
}

}  // namespace ringdrop::detail

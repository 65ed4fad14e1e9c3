// role.hpp — who holds a role in a ring (producer, consumer, ...), and
// whether that process is still alive.
//
// Liveness is a lock the kernel keeps for us. A role is a 64-bit slot in the
// segment, and its holder keeps an open-file-description lock (F_OFD_SETLK)
// on the first byte of that slot, through its own descriptor of the
// segment. The kernel drops the lock when the holder's descriptor is closed:
// when it detaches, exits, or is killed with -9 — at once, before the
// process is even reaped. So:
//
//   holding a role   = holding its byte lock (one F_OFD_SETLK, no waiting)
//   "is it alive?"   = is the byte locked? (one F_OFD_GETLK)
//
// This judges no pid: it is right across pid namespaces, with /proc hidden,
// when pids are reused, and after a reboot (a file-backed ring keeps its
// bytes, never its locks). The slot holds the holder's pid only to name it
// in statistics and errors (0: the role was never held; the waiting peer is
// then not "gone", it has not arrived).
//
// A child forked from a holder shares its open file description, and so the
// lock: the role stays held while either lives, unless the child execs (the
// descriptor is close-on-exec).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <system_error>

namespace ringdrop::detail {

struct RoleSlot {
  std::atomic<uint64_t>* slot;  // in the segment
  int fd;                       // this handle's descriptor of the segment
  uint64_t lock_offset;         // the slot's offset in the segment
};

/// Takes the role for this handle. errc::role_taken if a live holder (this
/// process's other handles included) has it; `role` names the role in the
/// error detail, e.g. "shm:orders producer".
std::error_code claim_role(const RoleSlot& r, const std::string& role);

/// Gives the role up (the lock goes; the slot keeps the last pid).
void release_role(const RoleSlot& r) noexcept;

/// The role was held once and nobody holds it now: its holder left or died.
bool role_gone(const RoleSlot& r) noexcept;

/// pid of the live holder, or 0.
uint32_t role_pid(const RoleSlot& r) noexcept;

}  // namespace ringdrop::detail

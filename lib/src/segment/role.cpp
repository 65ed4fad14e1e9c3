#include "segment/role.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/byte_lock.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {

std::error_code claim_role(const RoleSlot& r, const std::string& role) {
  if (const int err = try_lock_byte(r.fd, r.lock_offset); err != 0) {
    if (err == EAGAIN || err == EACCES) {
      return fail(errc::role_taken, role + " role is held by live pid " +
                                        std::to_string(r.slot->load(std::memory_order_relaxed)));
    }
    return fail(from_errno(err), "lock " + role + " role: " + std::strerror(err));
  }
  // release: pairs with the acquire in role_gone(); a peer that sees our pid
  // sees a role that is held. Display only: the lock is the truth.
  r.slot->store(static_cast<uint64_t>(::getpid()), std::memory_order_release);
  return {};
}

void release_role(const RoleSlot& r) noexcept { unlock_byte(r.fd, r.lock_offset); }

bool role_gone(const RoleSlot& r) noexcept {
  // acquire: see claim_role(). A slot never written means "not arrived yet".
  if (r.slot->load(std::memory_order_acquire) == 0) return false;
  return !byte_locked_by_other(r.fd, r.lock_offset);
}

uint32_t role_pid(const RoleSlot& r) noexcept {
  if (!byte_locked_by_other(r.fd, r.lock_offset)) return 0;
  return static_cast<uint32_t>(r.slot->load(std::memory_order_relaxed));
}

}  // namespace ringdrop::detail

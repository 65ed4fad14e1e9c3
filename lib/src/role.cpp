#include "role.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

struct flock byte_lock(const RoleSlot& r, short type) noexcept {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(r.lock_offset);
  fl.l_len = 1;
  fl.l_pid = 0;  // required by F_OFD_*
  return fl;
}

// Whether another open file description holds the role's byte.
bool locked_by_other(const RoleSlot& r) noexcept {
  struct flock fl = byte_lock(r, F_WRLCK);
  if (::fcntl(r.fd, F_OFD_GETLK, &fl) != 0) return true;  // cannot tell: assume alive
  return fl.l_type != F_UNLCK;
}

}  // namespace

std::error_code claim_role(const RoleSlot& r, const std::string& role) {
  struct flock fl = byte_lock(r, F_WRLCK);
  if (::fcntl(r.fd, F_OFD_SETLK, &fl) != 0) {
    if (errno == EAGAIN || errno == EACCES) {
      return fail(errc::role_taken, role + " role is held by live pid " +
                                        std::to_string(r.slot->load(std::memory_order_relaxed)));
    }
    return fail(from_errno(errno), "lock " + role + " role: " + std::strerror(errno));
  }
  // release: pairs with the acquire in role_gone(); a peer that sees our pid
  // sees a role that is held. Display only: the lock is the truth.
  r.slot->store(static_cast<uint64_t>(::getpid()), std::memory_order_release);
  return {};
}

void release_role(const RoleSlot& r) noexcept {
  struct flock fl = byte_lock(r, F_UNLCK);
  ::fcntl(r.fd, F_OFD_SETLK, &fl);
}

bool role_gone(const RoleSlot& r) noexcept {
  // acquire: see claim_role(). A slot never written means "not arrived yet".
  if (r.slot->load(std::memory_order_acquire) == 0) return false;
  return !locked_by_other(r);
}

uint32_t role_pid(const RoleSlot& r) noexcept {
  if (!locked_by_other(r)) return 0;
  return static_cast<uint32_t>(r.slot->load(std::memory_order_relaxed));
}

}  // namespace ringdrop::detail

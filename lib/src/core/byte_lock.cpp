#include "core/byte_lock.hpp"

#include <fcntl.h>

#include <cerrno>

namespace ringdrop::detail {
namespace {

struct flock one_byte(uint64_t offset, short type) noexcept {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(offset);
  fl.l_len = 1;
  fl.l_pid = 0;  // required by F_OFD_*
  return fl;
}

}  // namespace

int try_lock_byte(int fd, uint64_t offset) noexcept {
  struct flock fl = one_byte(offset, F_WRLCK);
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

void unlock_byte(int fd, uint64_t offset) noexcept {
  struct flock fl = one_byte(offset, F_UNLCK);
  ::fcntl(fd, F_OFD_SETLK, &fl);
}

bool byte_locked_by_other(int fd, uint64_t offset) noexcept {
  struct flock fl = one_byte(offset, F_WRLCK);
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) return true;
  return fl.l_type != F_UNLCK;
}

}  // namespace ringdrop::detail

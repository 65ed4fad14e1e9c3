// byte_lock.hpp — one-byte open-file-description locks (F_OFD_SETLK) on a
// segment's descriptor: how ringdrop knows that a peer is alive. The kernel
// drops such a lock when the last descriptor of its open file description is
// closed: on exit, on kill -9, before the process is even reaped. Used by
// the SPSC and broadcast roles (role.hpp) and the peer table (peer_table.hpp).
#pragma once

#include <cstdint>

namespace ringdrop::detail {

/// Takes the write lock on byte `offset` without waiting: 0, or the errno
/// (EAGAIN or EACCES when another open file description holds it).
int try_lock_byte(int fd, uint64_t offset) noexcept;

void unlock_byte(int fd, uint64_t offset) noexcept;

/// Whether another open file description holds byte `offset` (our own lock
/// is invisible to us). When the kernel cannot tell, assume it does.
bool byte_locked_by_other(int fd, uint64_t offset) noexcept;

}  // namespace ringdrop::detail

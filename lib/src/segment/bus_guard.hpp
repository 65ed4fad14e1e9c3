// bus_guard.hpp — a segment truncated by another process must not kill us.
//
// A mapping of a shared-memory object or file stays in place when another
// process truncates the object: touching a page past the new end raises
// SIGBUS, whose default action ends the process. A ring cannot check the
// object's size before every access (a syscall per message), so instead
// ringdrop keeps a table of its mappings and, the first time a segment is
// mapped, installs a SIGBUS handler (chaining to whatever handler was there
// before, for faults outside ringdrop's mappings):
//
//   - a fault inside a registered mapping replaces the whole mapping, in
//     place, with private zero pages (mmap MAP_FIXED, which the kernel does
//     atomically), marks the mapping damaged, and returns: the faulting
//     access is retried and now reads zeros or writes into memory nobody
//     else sees;
//   - the ring calls look at the mark on their cold paths (nothing to read,
//     and commit) and report errc::corrupted; close works as ever.
//
// Limits: what a process wrote into the zero pages is lost (the segment's
// contents were lost to the truncation anyway); a message a consumer was
// reading in place when the truncation struck reads as zeros; at most
// kMaxGuarded mappings are protected at once (more are mapped unprotected);
// an application that installs its own SIGBUS handler after ringdrop's
// replaces it (chain to the previous handler to keep the protection).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ringdrop::detail {

inline constexpr int kMaxGuarded = 1024;

/// Registers the mapping [base, base + size): a slot, or -1 when the table
/// is full (the mapping then has no protection). Installs the handler once.
int bus_guard_add(void* base, size_t size) noexcept;
/// Forgets a slot before its mapping is unmapped. -1: nothing.
void bus_guard_remove(int slot) noexcept;
/// The flag a SIGBUS in the mapping of `slot` sets (for -1, one never set):
/// valid for the process's life, so a handle can keep it and test it inline.
const std::atomic<uint32_t>* bus_guard_flag(int slot) noexcept;

}  // namespace ringdrop::detail

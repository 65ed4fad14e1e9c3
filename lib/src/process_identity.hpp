// process_identity.hpp — who a peer is, in a way that survives pid reuse.
//
// A pid alone is not an identity: after a crash the kernel may hand the same
// pid to an unrelated process, and a ring would then wait for a peer that no
// longer exists. ringdrop pairs the pid with the process's start time (clock
// ticks since boot, field 22 of /proc/<pid>/stat), which a reused pid cannot
// share. Both are packed into one 64-bit word so that claiming a role in the
// segment is a single compare-and-swap:
//
//     bits 0..21   pid          (PID_MAX_LIMIT on 64-bit Linux is 2^22)
//     bits 22..62  start time   (41 bits of ticks: ~697 years at 100 Hz)
//     bit  63      never set by an identity; free for markers
//
// Zero is never a valid identity (no process has pid 0).
//
// Limitation: pids are those of the caller's pid namespace; peers in
// different pid namespaces cannot judge each other's liveness.
#pragma once

#include <cstdint>

namespace ringdrop::detail {

inline constexpr unsigned kPidBits = 22;
inline constexpr uint64_t kPidMask = (uint64_t{1} << kPidBits) - 1;
inline constexpr uint64_t kStartMask = (uint64_t{1} << (63 - kPidBits)) - 1;

/// The packed identity of the calling process (cached; fork-aware).
uint64_t self_identity() noexcept;

/// Whether the process named by `identity` still runs. A zombie (killed but
/// not yet reaped) counts as dead: it will never write again.
bool identity_alive(uint64_t identity) noexcept;

inline uint32_t identity_pid(uint64_t identity) noexcept {
  return static_cast<uint32_t>(identity & kPidMask);
}

}  // namespace ringdrop::detail

// role.hpp — who holds a role in a ring (producer, consumer, ...).
//
// A role slot is one 64-bit word in the segment:
//   0            never held: the peer has not arrived yet (waiting is fine)
//   identity     held by that process (process_identity.hpp)
//   kDetached    its last holder left cleanly
// No lock protects it, so a holder killed with -9 wedges nothing: the next
// claimant sees a dead identity and takes the slot over with one CAS.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <system_error>

namespace ringdrop::detail {

inline constexpr uint64_t kDetached = uint64_t{1} << 63;

/// Claims `slot` for the calling process. errc::role_taken if a live process
/// (this one included) holds it; `role` names it in the error detail, e.g.
/// "shm:orders producer".
std::error_code claim_role(std::atomic<uint64_t>& slot, const std::string& role);

/// Gives the slot up (holder -> kDetached) if the calling process holds it.
void release_role(std::atomic<uint64_t>& slot) noexcept;

/// The holder left: detached, or its process is dead. Never-held is not gone.
bool role_gone(const std::atomic<uint64_t>& slot) noexcept;

/// pid of the holder, or 0 when nobody holds the slot.
uint32_t role_pid(const std::atomic<uint64_t>& slot) noexcept;

}  // namespace ringdrop::detail

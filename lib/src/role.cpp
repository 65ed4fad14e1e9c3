#include "role.hpp"

#include "process_identity.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {

namespace {
bool held(uint64_t holder) noexcept { return holder != 0 && holder != kDetached; }
}  // namespace

std::error_code claim_role(std::atomic<uint64_t>& slot, const std::string& role) {
  const uint64_t self = self_identity();
  // acquire: if we take over from a dead holder, we then read ring state it
  // wrote; acq_rel on success also publishes our claim.
  uint64_t holder = slot.load(std::memory_order_acquire);
  for (;;) {
    if (held(holder) && identity_alive(holder)) {
      return fail(errc::role_taken, role + " role is held by live pid " +
                                        std::to_string(identity_pid(holder)));
    }
    if (slot.compare_exchange_weak(holder, self, std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
      return {};
    }
  }
}

void release_role(std::atomic<uint64_t>& slot) noexcept {
  uint64_t self = self_identity();
  // release: everything we published happens-before a successor's claim.
  slot.compare_exchange_strong(self, kDetached, std::memory_order_release,
                               std::memory_order_relaxed);
}

bool role_gone(const std::atomic<uint64_t>& slot) noexcept {
  // acquire: a holder that detached released its last writes with the slot.
  const uint64_t holder = slot.load(std::memory_order_acquire);
  if (holder == 0) return false;
  return holder == kDetached || !identity_alive(holder);
}

uint32_t role_pid(const std::atomic<uint64_t>& slot) noexcept {
  const uint64_t holder = slot.load(std::memory_order_relaxed);
  return held(holder) ? identity_pid(holder) : 0;
}

}  // namespace ringdrop::detail

// ring_dead_letter_store.hpp — a ring's dead-letter store as the bridge's
// routes use it: opened (and made) at the first dead letter, as a ring's own
// consumers do, so a ring that never has one never touches the disk; each
// dead letter signed with this bridge's process.
#pragma once

#include <unistd.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ringdrop/ring_dead_letters.hpp"

namespace ringdrop::bridge {

/// Who set a dead letter aside (its `who` in the store, docs/cli.md's dlq).
inline std::string bridge_who() { return "ringdrop-bridge pid " + std::to_string(::getpid()); }

class RingDeadLetterStore {
 public:
  RingDeadLetterStore(Location ring, RingKind kind) : ring_(std::move(ring)), kind_(kind) {}

  /// Stores `bytes` (delivered `deliveries` times) with `reason`. Errors:
  /// the store's (io_error, no space...).
  std::error_code put(std::span<const std::byte> bytes, uint32_t deliveries, std::string_view reason) {
    if (!store_) {
      auto s = RingDeadLetters::create(ring_);
      if (!s) return s.error();
      store_.emplace(std::move(*s));
    }
    auto id = store_->put(bytes, deliveries, reason, bridge_who(), kind_);
    return id ? std::error_code{} : id.error();
  }

 private:
  Location ring_;
  RingKind kind_;
  std::optional<RingDeadLetters> store_;
};

}  // namespace ringdrop::bridge

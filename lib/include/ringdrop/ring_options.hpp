// ringdrop/ring_options.hpp — what every ring kind's options share, and
// bytes_of() for the copying send().
//
// Each kind extends RingOptions with its own fields (MpmcOptions and
// BroadcastOptions add the cell size and a policy); SPSC takes it as is.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ringdrop/wait.hpp"

namespace ringdrop {

struct RingOptions {
  /// Data bytes (see SegmentSpec::capacity): 0 is 1 MiB when creating and
  /// "whatever it has" when opening.
  uint64_t capacity = 0;
  /// Permission bits when creating.
  mode_t mode = 0600;
  /// How this handle waits when the ring is empty (consumer) or full (producer).
  WaitStrategy wait{};
  /// How long opening waits for a concurrent creator to finish.
  std::chrono::milliseconds init_timeout{500};
  /// Poison messages (ring_dead_letters.hpp), MPMC and SPSC: deliveries of
  /// one message before it is set aside as a dead letter instead of being
  /// delivered again, 1 to 1000. Chosen at creation (checked, then ignored,
  /// when opening). A broadcast ring ignores it: a subscriber that dies
  /// holding a message does not hand it to anyone.
  uint32_t max_deliveries = 5;
  /// Where this consumer puts dead letters: an existing directory, which
  /// becomes a file-drop channel's root; "" for dead_letter_dir(ring), made
  /// when first needed.
  std::string dead_letters;
};

/// A string's bytes, for the copying send().
inline std::span<const std::byte> bytes_of(std::string_view s) noexcept {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace ringdrop

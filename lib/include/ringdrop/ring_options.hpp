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
};

/// A string's bytes, for the copying send().
inline std::span<const std::byte> bytes_of(std::string_view s) noexcept {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace ringdrop

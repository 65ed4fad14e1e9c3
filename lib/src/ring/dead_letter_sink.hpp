// dead_letter_sink.hpp — a ring's side of its dead letters: the store (a
// file-drop channel, see ringdrop/ring_dead_letters.hpp), opened at the
// first dead letter, and what a dead letter carries.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "ringdrop/drop_channel.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop::detail {

/// The deliveries a ring allows when its creator chose none (as the drop
/// channel's max_attempts), and the most anyone may choose.
inline constexpr uint32_t kDefaultMaxDeliveries = 5;
inline constexpr uint32_t kMostMaxDeliveries = 1000;

/// invalid_argument unless 1 <= n <= kMostMaxDeliveries.
std::error_code check_max_deliveries(uint32_t n, const Location& ring);

/// Opens the dead-letter store of `ring` at `dir` ("" for the default),
/// making its tree when `create`. A directory named by `dir` must exist
/// (not_found); the default is made (for shm rings with its per-user parent,
/// 0700). A symbolic link is unsafe_file, anything else not a directory
/// invalid_argument.
Result<DropChannel> open_dead_letter_store(const Location& ring, const std::string& dir, bool create);

class DeadLetterSink {
 public:
  DeadLetterSink(Location ring, std::string dir, RingKind kind) noexcept
      : ring_(std::move(ring)), dir_(std::move(dir)), kind_(kind) {}

  /// Stores `message`, delivered `deliveries` times, with `reason`. Errors
  /// name the store and why; the caller keeps the message where it was.
  std::error_code put(std::span<const std::byte> message, uint32_t deliveries, std::string_view reason);
  /// put() for a message whose consumers all died holding it: delivered
  /// `deliveries` times, `max_deliveries` allowed. The reason says so.
  std::error_code put_exhausted(std::span<const std::byte> message, uint32_t deliveries,
                                uint32_t max_deliveries);

 private:
  Location ring_;
  std::string dir_;
  RingKind kind_;
  std::optional<DropChannel> store_;
};

}  // namespace ringdrop::detail

// dead_letter_store.hpp — the dead letters of a drop channel or of a ring,
// behind one interface: list, read, requeue, purge.
//
// A channel's requeue is one rename (failed/ back to new/): a crash loses
// and doubles nothing. A ring's sends the bytes back into the ring and then
// removes the dead letter (RingDeadLetters::requeue): a crash between the
// two leaves it in both places, at-least-once, as the ring itself is.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringdrop/drop_channel.hpp"
#include "ringdrop/ring_dead_letters.hpp"

namespace ringdrop::ops {

class DeadLetterStore {
 public:
  /// A drop channel's failed/ (the channel must exist; nothing is created).
  static Result<DeadLetterStore> of_channel(const std::string& root);
  /// A ring's default store; empty (no dead letters) when it was never made
  /// and the ring exists. Errors: not_found (neither the ring nor a store of
  /// it), Segment::inspect's (foreign_segment...), RingDeadLetters::open's.
  static Result<DeadLetterStore> of_ring(const Location& ring);

  const std::string& label() const noexcept { return label_; }  ///< "shm:orders" or the channel root
  bool is_ring() const noexcept { return is_ring_; }

  /// Oldest first. An id given to the calls below that cannot be one
  /// (empty, '/', "..") is invalid_argument.
  Result<std::vector<DeadLetter>> list() const;
  Result<DeadLetter> find(std::string_view id) const;
  /// Its bytes, unchanged (a typed message keeps its envelope).
  Result<std::vector<std::byte>> body(std::string_view id) const;
  /// Back where it came from: the channel's new/, or into the ring (waiting
  /// up to `timeout` for room).
  std::error_code requeue(std::string_view id, std::chrono::nanoseconds timeout);
  std::error_code purge(std::string_view id);
  /// Moves dead letter `id` into drop channel `dest` as a new message, with
  /// its headers (and requeued-from: <store>/<id>); returns its new id. On
  /// one file system it is one rename of the dead letter's file (a crash
  /// loses and doubles nothing; its reason and headers are removed after).
  /// Across file systems it is copied in and then purged: a crash between
  /// leaves it in both places.
  Result<std::string> move_to(std::string_view id, DropChannel& dest);

 private:
  DeadLetterStore() = default;
  std::error_code check_id(std::string_view id) const;
  std::string label_;
  std::string root_;  // the channel's root (a ring's: its store's)
  bool is_ring_ = false;
  std::optional<DropChannel> channel_;     // a channel, or a ring's store
  std::optional<RingDeadLetters> ring_;
};

}  // namespace ringdrop::ops

// ringdrop/owned_message.hpp — a typed message the caller owns: a validated
// copy taken out of a ring slot, so that it outlives the slot (a reply
// waiting for its async caller, a message handed to another thread).
#pragma once

#include <capnp/common.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "ringdrop/export.hpp"
#include "ringdrop/message.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop {

class RINGDROP_API OwnedMessage {
 public:
  /// Copies `bytes` and validates the copy; errc::bad_message if malformed.
  static Result<OwnedMessage> copy_of(std::span<const std::byte> bytes);
  const IncomingMessage& message() const noexcept { return *message_; }

 private:
  OwnedMessage() = default;
  std::unique_ptr<capnp::word[]> words_;  // stable across moves
  std::optional<IncomingMessage> message_;
};

}  // namespace ringdrop

// inbound_target.hpp — where an inbound route delivers: an MPMC ring (as
// one of its producers) or a drop channel (publishing, fsync'd). A message
// is acknowledged to the broker only after deliver() returned: committed to
// the ring, or durably in the channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "bridge_config.hpp"
#include "ringdrop/result.hpp"
#include "wire_message.hpp"

namespace ringdrop::bridge {

class InboundTarget {
 public:
  /// Opens `route.to` (a ring is created if missing, with the route's
  /// cell_size and capacity; a channel's tree likewise).
  static Result<std::unique_ptr<InboundTarget>> open(const InRoute& route);
  virtual ~InboundTarget() = default;

  using Committed = std::function<void()>;
  /// Delivers `bytes` (the ring message: the rebuilt envelope, or a raw
  /// body) of `m` (a drop channel keeps its headers); `committed()` runs
  /// once it is in, before a ring wakes its sleeping consumers
  /// (MpmcProducer::commit_unwoken): the route's dedupe record is then taken
  /// before a consumer can act on the message. Errors: would_block (the
  /// ring is full: try again later), message_too_large, the ring's or
  /// channel's; `committed()` has not run then.
  virtual std::error_code deliver(const WireMessage& m, std::span<const std::byte> bytes,
                                  const Committed& committed) = 0;
  /// Stores `bytes` as a dead letter of the target, with `reason`.
  virtual std::error_code dead_letter(const WireMessage& m, std::span<const std::byte> bytes,
                                      std::string_view reason) = 0;
  /// How many unacknowledged deliveries to let the broker send (basic.qos):
  /// from the target's room, so a full ring holds the rest in the broker.
  virtual uint16_t prefetch() const = 0;
};

}  // namespace ringdrop::bridge

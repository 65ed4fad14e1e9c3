// outbound_source.hpp — where an outbound route takes messages from: an
// MPMC ring (as one of its competing consumers) or a drop channel (as one
// of its consumers). A message taken stays held — in the ring's cell, or
// claimed in the channel — until settle(): if the bridge dies before, the
// ring delivers it again (its `redeliver` policy) or the claim's lease
// runs out and the channel does. That is what makes the route
// at-least-once: settle() comes only after the broker confirmed.
//
// A broadcast ring (a route with "subscribe") is weaker, and cannot be
// made stronger from this side: a subscriber has no durable cursor and
// nothing it reads is held for it. The bridge copies each message out as
// it takes it, so:
//   - messages published while the bridge is not subscribed (not yet
//     started, restarting, killed) are not bridged, unless they are still
//     retained in the ring when it joins again at "oldest";
//   - joining at "oldest" may publish again what was already bridged
//     before a restart; an inbound route's dedupe drops those for typed
//     messages (their id travels with them), raw ones arrive twice;
//   - messages copied out but not confirmed by the broker when the bridge
//     is killed are lost, unless rejoined at "oldest" while still retained;
//   - with SlowSubscriber::overwrite a bridge that falls a whole ring
//     behind is lapped: what it missed is lost, counted and logged (the
//     route goes on); with SlowSubscriber::block the publisher waits for
//     the bridge instead, and nothing is lost while it is subscribed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bridge_config.hpp"
#include "ringdrop/drop_consumer.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop::bridge {

struct Taken {
  std::span<const std::byte> bytes;  ///< valid until settle()
  std::vector<std::byte> owned;      ///< a drop or broadcast message's bytes (`bytes` views them)
  DropHeaders headers;               ///< a drop message's headers
  std::string id;                    ///< a drop message's id ("" from a ring)
  uint32_t deliveries = 1;
  std::optional<DropClaim> claim;
};

class OutboundSource {
 public:
  /// Where a source reports what it handles itself but must not keep
  /// quiet about (a lapped broadcast subscriber's lost messages).
  using Notice = std::function<void(std::string)>;

  /// Opens `route.from`: a channel, an MPMC ring (created if missing, with
  /// the defaults) or, with `route.subscribe`, a broadcast ring (which must
  /// exist: its publisher makes it).
  static Result<std::unique_ptr<OutboundSource>> open(const OutRoute& route, Notice notice = {});
  virtual ~OutboundSource() = default;

  /// The next message, waiting up to `wait`. Errors: timed_out (none
  /// came), the ring's or channel's.
  virtual Result<Taken> take(std::chrono::milliseconds wait) = 0;
  /// Sets a taken message aside as a dead letter with `reason` (it is
  /// still settled with the rest).
  virtual std::error_code dead_letter(Taken& t, std::string_view reason) = 0;
  /// Gives taken messages back as done: the ring's release_oldest(), the
  /// claims' ack(). `taken` are the oldest of those taken and not yet
  /// settled, in the order taken. `taken` is then empty.
  virtual std::error_code settle(std::vector<Taken>& taken) = 0;
  /// Keeps taken messages held while they wait for the broker: a drop
  /// claim's lease is extended when less than half of it is left (a ring
  /// holds without asking).
  virtual void keep(const std::vector<Taken*>& /*taken*/) {}
  /// Whether a message taken and never settled comes again (a ring's cell,
  /// a claim's lease); a broadcast subscription's copies do not.
  virtual bool holds() const { return true; }
};

}  // namespace ringdrop::bridge

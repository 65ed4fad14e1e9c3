// outbound_route.hpp — ringdrop to the broker, at-least-once.
//
// One thread, one connection (rabbitmq-c is not thread-safe). The route
// keeps a sliding window of up to `window` unconfirmed messages:
//
//   take a message from the source (held, not released) while the window
//     has room, and publish it at once: persistent, mandatory, confirmed
//   read frames: basic.ack / basic.nack (with `multiple`), basic.return
//   settle the window's front as far as it is done, in the order taken:
//     dead-letter the returned (unroutable) and nacked ones with the
//     reason, then the ring's release_oldest(), the claims' ack()
//
// So a message leaves its ring or channel only once the broker has it (or
// it is a dead letter with the reason): a crash of the bridge before that
// leaves it held, and the ring (or the channel's lease) delivers it again;
// the inbound side's dedupe removes the duplicate that makes. A connection
// that fails is made again (1 s backoff doubling to 30 s), the exchange
// declared again, and the window's unconfirmed messages published again in
// order. While the broker says connection.blocked (a memory or disk alarm)
// nothing more is published; nothing is lost, the ring just fills.
//
// basic.return carries no delivery tag; it arrives before the ack of the
// same message, so a returned message is found by its message id among the
// window's unconfirmed ones.
#pragma once

#include "bridge_config.hpp"
#include "route_context.hpp"

namespace ringdrop::bridge {

/// Runs `route` until ctx.stop; returns after settling what was in flight
/// (or, if the broker cannot confirm it, leaving it held for redelivery).
void run_outbound(const OutRoute& route, RouteContext ctx);

}  // namespace ringdrop::bridge

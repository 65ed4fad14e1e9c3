// outbound_route.hpp — ringdrop to the broker, at-least-once.
//
// One thread, one connection (rabbitmq-c is not thread-safe). The route
// works in batches of up to `window` messages:
//
//   take up to `window` messages from the source (held, not released)
//   publish each: persistent, mandatory, with publisher confirms on
//   read frames until every one is acked, nacked or returned
//   dead-letter the returned (unroutable) and nacked ones, with the reason
//   settle the batch: the ring's release(), the claims' ack()
//
// So a message leaves its ring or channel only once the broker has it (or
// it is a dead letter with the reason): a crash of the bridge before that
// leaves it held, and the ring (or the channel's lease) delivers it again;
// the inbound side's dedupe removes the duplicate that makes. A connection
// that fails mid-batch is made again (1 s backoff doubling to 30 s), the
// exchange declared again, and the batch's unconfirmed messages published
// again. While the broker says connection.blocked (a memory or disk alarm)
// no new batch starts; nothing is lost, the ring just fills.
//
// basic.return carries no delivery tag; it arrives before the ack of the
// same message, so a returned message is found by its message id among the
// batch's unconfirmed ones.
#pragma once

#include "bridge_config.hpp"
#include "route_context.hpp"

namespace ringdrop::bridge {

/// Runs `route` until ctx.stop; returns after settling what was in flight
/// (or, if the broker cannot confirm it, leaving it held for redelivery).
void run_outbound(const OutRoute& route, RouteContext ctx);

}  // namespace ringdrop::bridge

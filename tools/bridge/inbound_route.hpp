// inbound_route.hpp — the broker to ringdrop, at-least-once, effectively
// once.
//
// One thread, one connection. The route consumes its queue with manual
// acknowledgements and a prefetch sized from the target's room, and takes
// each delivery in order:
//
//   carried out of ringdrop by this bridge (x-ringdrop-origin)?  ack, not delivered (a loop)
//   its message id in the dedupe table (seen within the window)? ack, not delivered (a duplicate)
//   malformed (a typed route, and not a ringdrop message)?        dead letter with the reason, ack
//   otherwise: commit to the ring (or publish to the channel), record the id, ack
//
// Acks go with `multiple` once the deliveries before are done. When the
// ring is full, delivery stops and so do the acks: the prefetch limit makes
// the broker hold the rest — back-pressure, nothing dropped. A connection
// that fails loses nothing: what was not acknowledged the broker delivers
// again, and the dedupe table (dedupe_table.hpp: a file, so it survives the
// bridge's restart) drops what was already committed. A queue deleted under
// the route (basic.cancel) is declared again and consumed again.
#pragma once

#include "bridge_config.hpp"
#include "route_context.hpp"

namespace ringdrop::bridge {

/// Runs `route` until ctx.stop.
void run_inbound(const InRoute& route, RouteContext ctx);

}  // namespace ringdrop::bridge

// bridge.hpp — a bridge: one thread per route (each with its own broker
// connection, since rabbitmq-c is not thread-safe), and the caller's thread
// writing the statistics file every half second until the stop signal.
#pragma once

#include <chrono>
#include <functional>
#include <system_error>

#include "bridge_config.hpp"
#include "route_context.hpp"

namespace ringdrop::bridge {

/// Runs every route of `config` until `stop` is requested (by the caller,
/// or by `tick`, called after each statistics write), then lets each
/// route finish what it has in flight and writes the final statistics
/// ("stopped": true). Errors: invalid_argument (config.check()), the state
/// directory's.
std::error_code run_bridge(const BridgeConfig& config, StopSignal& stop,
                           const std::function<void()>& tick = {});

}  // namespace ringdrop::bridge

// bridge_view.hpp — a ringdrop-bridge as tools show it: its status file,
// `<state_dir>/status.json` (tools/bridge/bridge_status.hpp writes it every
// half second), judged by the reader.
//
// A bridge that is not moving must not look as if it were: the file says
// what each route is doing (connecting, running, blocked by a broker alarm,
// full, reconnecting) since when, and when it last moved a message; and
// read_bridge_status() judges the file itself: a bridge whose process is
// gone is "dead", one that stopped rewriting its file (or whose route's
// loop stopped going round) is "stuck", whatever the file's last words were.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "ringdrop/result.hpp"

namespace ringdrop::ops {

/// Reads `<state_dir>/status.json` and adds "verdict": "running",
/// "stopped" (the bridge stopped cleanly), "dead" (its process is gone
/// without stopping) or "stuck" (the file, or a route's loop, is older than
/// `stale`), and "age_ms". Errors: not_found (no bridge ever ran there),
/// bad_message (not a bridge's status file).
Result<nlohmann::json> read_bridge_status(const std::string& state_dir,
                                          std::chrono::milliseconds stale = std::chrono::milliseconds(5000));

/// A judged status (read_bridge_status()) as text for people: the bridge,
/// its verdict, and a line (two with its last error) per route.
std::string describe_bridge(const nlohmann::json& status);

}  // namespace ringdrop::ops

// bridge_status.hpp — a running bridge's statistics, as other processes
// read them: `<state_dir>/status.json`, rewritten (write, then rename) every
// half second by the bridge, so a reader always finds a whole file.
//
// A bridge that is not moving must not look as if it were. The file says
// what each route is doing (connecting, running, blocked by a broker alarm,
// full, reconnecting) since when, and when it last moved a message; and
// read_status() judges the file itself: a bridge whose process is gone is
// "dead", one that stopped rewriting its file is "stuck", whatever the
// file's last words were.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridge_config.hpp"
#include "ringdrop/result.hpp"
#include "route_stats.hpp"

namespace ringdrop::bridge {

/// One route's statistics as JSON (the shape of status.json's "routes").
nlohmann::json route_json(const std::string& name, std::string_view direction, const std::string& ringdrop_end,
                          const std::string& broker_end, const RouteStats& s);

/// Writes `status` to `<state_dir>/status.json` whole (a temporary file,
/// then rename). Errors: the file system's.
std::error_code write_status(const std::string& state_dir, const nlohmann::json& status);

/// Reads `<state_dir>/status.json` and adds "verdict": "running",
/// "stopped" (the bridge stopped cleanly), "dead" (its process is gone
/// without stopping) or "stuck" (the file is older than `stale`), and
/// "age_ms". Errors: not_found (no bridge ever ran there), bad_message.
Result<nlohmann::json> read_status(const std::string& state_dir,
                                   std::chrono::milliseconds stale = std::chrono::milliseconds(5000));

}  // namespace ringdrop::bridge

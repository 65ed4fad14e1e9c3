// bridge_status.hpp — a running bridge's statistics, as other processes
// read them: `<state_dir>/status.json`, rewritten (write, then rename) every
// half second by the bridge, so a reader always finds a whole file.
//
// What the file says, and how a reader judges it: tools/ops/bridge_view.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridge_config.hpp"
#include "bridge_view.hpp"
#include "ringdrop/result.hpp"
#include "route_stats.hpp"

namespace ringdrop::bridge {

/// One route's statistics as JSON (the shape of status.json's "routes").
nlohmann::json route_json(const std::string& name, std::string_view direction, const std::string& ringdrop_end,
                          const std::string& broker_end, const RouteStats& s);

/// Writes `status` to `<state_dir>/status.json` whole (a temporary file,
/// then rename). Errors: the file system's.
std::error_code write_status(const std::string& state_dir, const nlohmann::json& status);

/// The status file as a reader judges it (tools/ops/bridge_view.hpp):
/// "verdict" running, stopped, dead or stuck. Errors: not_found, bad_message.
inline Result<nlohmann::json> read_status(const std::string& state_dir,
                                          std::chrono::milliseconds stale = std::chrono::milliseconds(5000)) {
  return ops::read_bridge_status(state_dir, stale);
}

}  // namespace ringdrop::bridge

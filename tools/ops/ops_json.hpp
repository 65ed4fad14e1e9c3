// ops_json.hpp — the model as JSON: one stable shape per object, shared by
// `ringdrop --json` and the console (docs/cli.md lists the fields).
// Times are ISO-8601 UTC strings with milliseconds; sizes are bytes.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "inventory.hpp"
#include "ringdrop/drop_types.hpp"

namespace ringdrop::ops {

using Json = nlohmann::ordered_json;

/// 2026-12-06T17:44:37.123Z
std::string iso_time(std::chrono::system_clock::time_point t);

Json to_json(const RingView& r);
Json to_json(const ChannelView& c);
Json to_json(const ServiceEntry& s);
/// A dead letter: id, attempts, failed_at, reason (the reason file), summary
/// (its one line, reason_summary()), path, headers (not the body).
Json to_json(const DeadLetter& d);
Json to_json(const Inventory& inv);

}  // namespace ringdrop::ops

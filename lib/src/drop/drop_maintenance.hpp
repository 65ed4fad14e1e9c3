// drop_maintenance.hpp — the time-driven state changes of a drop channel,
// run by every consumer inside its scans (there is no daemon). Each is a
// rename that only one process can win, so any number of consumers can run
// them at once. An entry that cannot be moved is counted and skipped; only
// a directory that cannot be listed is an error.
#pragma once

#include <cstdint>
#include <system_error>

#include "drop/drop_counters.hpp"

namespace ringdrop::detail {

/// retry/ -> new/ for entries whose not-before time has passed. Lowers
/// `next_ms` (wall-clock ms) to the next one due.
std::error_code promote_retries(DropConsumerState& s, int64_t now_ms, int64_t& next_ms);

/// work/ -> new/ for claims whose lease has expired (their consumer crashed
/// or hung), or -> failed/ when that was the last attempt. Lowers `next_ms`
/// to the next lease end.
std::error_code reclaim_expired(DropConsumerState& s, int64_t now_ms, int64_t& next_ms);

/// Removes what outlived its retention: tmp/ files of writers that died,
/// processed keys, dead letters, headers whose message is gone.
void sweep_retention(DropConsumerState& s);

}  // namespace ringdrop::detail

// report.hpp — the campaign's report, from every kind's figures: a table
// for people, or one JSON object (--json).
#pragma once

#include <cstdint>
#include <vector>

#include "run.hpp"

namespace campaign {

/// What the whole run was asked for, and how long it took.
struct RunSummary {
  uint64_t seed = 0;             ///< the run's seed (each kind's is derived from it)
  uint64_t kills_requested = 0;  ///< --kills
  double seconds_bound = 0;      ///< --seconds
  double elapsed = 0;            ///< seconds the whole run took
};

/// The table: per kind kills, committed, delivered, duplicated and lost
/// (with what the policy allows), in doubt, the longest stall, whether the
/// ring still works; then each kind's ring counters, failures and notes, and
/// for a failed kind the command that repeats its kill schedule.
void print_table(const RunSummary& run, const std::vector<Figures>& all);
/// The same figures as one JSON object on one line.
void print_json(const RunSummary& run, const std::vector<Figures>& all);

}  // namespace campaign

// drop_counters.hpp — a consumer's statistics, shared with its claims (which
// may be settled on other threads).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "drop/drop_tree.hpp"
#include "ringdrop/drop_types.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {

struct DropCounters {
  // relaxed everywhere: statistics order nothing and are read as a snapshot.
  std::atomic<uint64_t> claimed{0}, acked{0}, nacked{0}, dead_lettered{0}, duplicates_skipped{0},
      leases_reclaimed{0}, retries_promoted{0}, ingested{0}, refused{0}, lost_races{0}, scans{0},
      inotify_overflows{0}, errors{0};

  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  /// Counts the outcome of moving one entry during a scan: a rename another
  /// consumer won (not_found) or an entry that could not be moved (skipped;
  /// its detail stays in last_error_detail()).
  void count_failed_move(std::error_code ec) noexcept {
    if (!ec) return;
    add(ec == std::error_code(errc::not_found) ? lost_races : errors);
  }
  DropConsumerStats snapshot() const noexcept {
    const auto r = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    return {r(claimed),          r(acked),    r(nacked),   r(dead_lettered),
            r(duplicates_skipped), r(leases_reclaimed), r(retries_promoted), r(ingested),
            r(refused),          r(lost_races), r(scans),  r(inotify_overflows), r(errors)};
  }
};

/// What a consumer and its claims share.
struct DropConsumerState {
  std::shared_ptr<const DropTree> tree;
  std::string consumer_id;
  DropCounters counters;
};

}  // namespace ringdrop::detail

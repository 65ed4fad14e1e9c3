// check.cpp — the check of a kind's board (campaign.hpp): its log read back
// as deliveries, the final exchange checked, then the kind's own check
// (check_queue.cpp or check_broadcast.cpp); and what those share.
#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "kind_run.hpp"

namespace campaign {

/// Whether delivery `d` may not have been released before its consumer died.
bool KindRun::held_at_kill(const Delivery& d) const {
  const Proc& p = procs_[d.inc];
  return p.killed && d.ordinal >= rec(d.inc).released.load();
}

void KindRun::check() {
  const uint64_t n = std::min(board_.h().log_next.load(), board_.h().log_capacity);
  if (board_.h().log_full.load()) fail("the board's log filled up: figures are incomplete");
  std::vector<Delivery> log;
  log.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const Entry& e = board_.log()[i];
    const auto type = static_cast<EntryType>(e.type.load(std::memory_order_acquire));
    if (type == EntryType::none) continue;  // its consumer died writing it
    log.push_back({e.incarnation, e.ordinal, e.slot, e.flags, e.seq, e.ring_no, type == EntryType::lost, i});
  }
  check_final(log);
  if (is_broadcast(plan_.kind)) {
    check_broadcast(log);
  } else {
    check_queue(log);
  }
}

void KindRun::check_final(const std::vector<Delivery>& log) {
  std::map<uint32_t, std::vector<uint32_t>> per;  // final consumer -> count per seq
  std::map<uint32_t, uint64_t> told;              // final subscriber -> told missed
  uint64_t elsewhere = 0;
  for (const auto& d : log) {
    if (d.lost && procs_[d.inc].final) told[d.inc] += d.seq;
    if (d.lost || d.slot != kFinalSlot) continue;
    if (!procs_[d.inc].final) {
      ++elsewhere;
      continue;
    }
    auto& v = per[d.inc];
    v.resize(kFinalCount, 0);
    if (d.seq < kFinalCount) ++v[d.seq];
  }
  if (elsewhere) fail("final exchange: " + std::to_string(elsewhere) + " final messages went to a campaign consumer");
  std::vector<uint32_t> total(kFinalCount, 0);
  for (const auto& p : procs_) {
    if (!p.final || p.producer) continue;
    auto& v = per[p.inc];
    v.resize(kFinalCount, 0);
    for (uint64_t s = 0; s < kFinalCount; ++s) total[s] += v[s];
    if (is_broadcast(plan_.kind)) {
      const auto missing = std::count(v.begin(), v.end(), 0u);
      const auto extra = std::count_if(v.begin(), v.end(), [](uint32_t c) { return c > 1; });
      // Overwrite: a subscriber lapped even here was told so, and that is
      // the policy working; block: nothing may be missing.
      const bool told_all = plan_.kind == Kind::bcast_overwrite && static_cast<uint64_t>(missing) <= told[p.inc];
      if (missing && told_all) {
        note("final exchange: subscriber " + std::to_string(p.inc) + " was lapped and told it missed " +
             std::to_string(told[p.inc]) + " (" + std::to_string(missing) + " of " + std::to_string(kFinalCount) + " missing)");
      } else if (missing || extra) {
        fig_.final_ok = false;
        fail("final exchange: subscriber " + std::to_string(p.inc) + " missed " + std::to_string(missing) +
             " (told " + std::to_string(told[p.inc]) + ") and got twice " + std::to_string(extra) + " of " +
             std::to_string(kFinalCount));
      }
    }
  }
  if (!is_broadcast(plan_.kind)) {
    const auto missing = std::count(total.begin(), total.end(), 0u);
    const auto extra = std::count_if(total.begin(), total.end(), [](uint32_t c) { return c > 1; });
    if (missing || extra) {
      fig_.final_ok = false;
      fail("final exchange: " + std::to_string(missing) + " of " + std::to_string(kFinalCount) +
           " messages missing, " + std::to_string(extra) + " delivered twice");
    }
  }
}

/// The seqs slot `slot` may have committed: [0, end).
uint64_t KindRun::slot_end(unsigned slot) const {
  uint64_t end = board_.h().slots[slot].next_seq.load();
  for (const auto& [s, seq] : in_doubt_) {
    if (s == slot) end = std::max(end, seq + 1);
  }
  return end;
}

}  // namespace campaign

// stall.cpp — stalls, sampled all through a kind's kill loop and stop: the
// longest goes into the figures, and one longer than the stall bound fails
// the kind as wedged, with the events around it.
#include <optional>
#include <string>

#include "kind_run.hpp"

namespace campaign {

// A stall: no delivery while a producer and a consumer are attached and
// work is waiting (committed, not delivered; or a producer waiting in
// reserve for room). The clock restarts at every delivery.
void KindRun::sample_stall() {
  const uint64_t deliveries = board_.h().deliveries.load();
  const double t = now();
  bool producer_live = false, consumer_live = false, producer_waiting = false, behind = false;
  uint64_t ring_next = 0;
  for (auto& p : procs_) {
    if (p.pid <= 0 || p.final || rec(p.inc).attached.load() == 0) continue;
    if (!p.attached) {
      p.attached = true;
      event("attached " + who(p));
    }
    if (p.producer) {
      producer_live = true;
      const ProducerSlot& s = board_.h().slots[p.slot];
      if (s.in_reserve.load() != 0) producer_waiting = true;
      ring_next = s.ring_next.load();
    } else {
      consumer_live = true;
    }
  }
  if (is_broadcast(plan_.kind)) {
    for (const auto& p : procs_) {
      if (p.pid > 0 && !p.final && !p.producer && rec(p.inc).attached.load() != 0 &&
          rec(p.inc).next_pos.load() < ring_next) {
        behind = true;
      }
    }
  } else {
    behind = board_.h().commits.load() > deliveries;
  }
  const bool stalling = producer_live && consumer_live && (behind || producer_waiting);
  if (deliveries != last_deliveries_ || !stalling) {
    last_deliveries_ = deliveries;
    stall_start_.reset();
    wedge_reported_ = false;
  }
  if (!stalling) return;
  if (!stall_start_) stall_start_ = t;
  const double len = t - *stall_start_;
  if (len > fig_.longest_stall) {
    fig_.longest_stall = len;
    fig_.stall_at = *stall_start_;
  }
  if (len > plan_.stall_bound && !wedge_reported_) {
    wedge_reported_ = true;
    fail("wedged: no message delivered for " + fmt("%.2f", len) + " s from t=" + fmt("%.3f", *stall_start_) +
         " s with work waiting" + events_around(*stall_start_, t));
  }
}

std::string KindRun::events_around(double from, double to) const {
  std::string s;
  for (const auto& [t, what] : events_) {
    if (t >= from - 0.3 && t <= to) s += "\n      t=" + fmt("%.3f", t) + " " + what;
  }
  return s;
}

}  // namespace campaign

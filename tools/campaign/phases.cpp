// phases.cpp — the phases of one kind's campaign: the kill loop (roles
// SIGKILLed on a seeded schedule and restarted), the stop (producers leave,
// consumers drain), and the final clean exchange that shows the ring still
// works.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "kind_run.hpp"
#include "roles.hpp"

namespace campaign {

namespace {

constexpr double kStopBound = 5;    // seconds for producers to stop
constexpr double kFinalBound = 20;  // seconds for the final exchange

}  // namespace

void KindRun::campaign_phase() {
  for (unsigned i = 0; i < shape_.consumers; ++i) spawn(false, false, i);
  for (unsigned i = 0; i < shape_.producers; ++i) spawn(true, false, i);
  const double end = now() + plan_.seconds;
  const double mean = plan_.kills > 0 ? 0.75 * plan_.seconds / static_cast<double>(plan_.kills) : 1e9;
  auto interval = [&] { return mean * static_cast<double>(rng_.between(20, 180)) / 100.0; };
  double next_kill = now() + interval();
  std::vector<std::pair<double, size_t>> restarts;  // (when, index of the dead Proc)
  while ((plan_.kills == 0 || fig_.kills < plan_.kills) && now() < end) {  // no kills: a plain run
    for (size_t i : poll_exits()) restarts.emplace_back(now() + 0.01, i);
    for (auto it = restarts.begin(); it != restarts.end();) {
      if (it->first <= now()) {
        const Proc dead = procs_[it->second];
        spawn(dead.producer, false, dead.slot);
        it = restarts.erase(it);
      } else {
        ++it;
      }
    }
    sample_stall();
    if (now() >= next_kill) {
      // Any running role, attached or still opening, but not one that
      // has not yet had a moment to run (it would die in exec).
      std::vector<size_t> alive;
      for (size_t i : running(false)) {
        if (now() - procs_[i].started >= 0.002) alive.push_back(i);
      }
      if (!alive.empty()) {
        const size_t victim = alive[rng_.next() % alive.size()];
        Proc& p = procs_[victim];
        kill9(p);
        ++fig_.kills;
        ++(p.producer ? fig_.kills_producer : fig_.kills_consumer);
        // Mostly restarted at once; now and then the dead one stays dead
        // a while, so only the others' liveness checks can clear it away.
        // A broadcast ring's second subscriber comes and goes: while it
        // is away, the other is the only one (the publisher runs free of
        // it whenever that one is dead or joining).
        uint64_t delay_ms = rng_.chance(20) ? rng_.between(100, 600) : rng_.between(0, 20);
        if (is_broadcast(plan_.kind) && !p.producer && p.slot >= 1) delay_ms = rng_.between(50, 800);
        restarts.emplace_back(now() + static_cast<double>(delay_ms) / 1000.0, victim);
      }
      // On a fixed schedule: an orchestrator scheduled late (a busy
      // machine) catches up instead of falling behind.
      next_kill = std::max(next_kill + interval(), now());
    }
    sleep_ms(1);
  }
  if (fig_.kills < plan_.kills) {
    note("time bound reached after " + std::to_string(fig_.kills) + " of " + std::to_string(plan_.kills) + " kills");
  }
  // Consumers killed last are restarted for the drain; producers are not.
  for (auto& [when, i] : restarts) {
    if (!procs_[i].producer) spawn(false, false, procs_[i].slot);
  }
}

void KindRun::stop_phase() {
  event("stop producers");
  board_.h().stop_producers.store(1);
  const double give_up = now() + kStopBound;
  for (;;) {
    poll_exits();
    sample_stall();
    bool any = false;
    for (const auto& p : procs_) any |= p.pid > 0 && p.producer;
    if (!any) break;
    if (now() > give_up) {
      for (auto& p : procs_) {
        if (p.pid > 0 && p.producer) {
          fail("did not stop within " + fmt("%.0f", kStopBound) + " s: " + who(p));
          kill9(p);
        }
      }
      break;
    }
    sleep_ms(1);
  }
  board_.h().producers_done.store(1);
  event("producers done; consumers drain");
  const double drain_bound = plan_.kind == Kind::drop ? 2 * std::chrono::duration<double>(kDropLease).count() + 10 : 10;
  const double drain_end = now() + drain_bound;
  for (;;) {
    poll_exits();
    if (running(false).empty()) break;
    if (now() > drain_end) {
      for (auto& p : procs_) {
        if (p.pid > 0 && !p.final) {
          fail("did not finish draining within " + fmt("%.0f", drain_bound) + " s: " + who(p));
          kill9(p);
        }
      }
      break;
    }
    sleep_ms(2);
  }
  drained_deliveries_ = board_.h().log_next.load();
}

void KindRun::final_phase() {
  event("final exchange");
  std::vector<size_t> finals;
  for (unsigned i = 0; i < shape_.final_consumers; ++i) {
    spawn(false, true, i, kFinalCount);
    finals.push_back(procs_.size() - 1);
  }
  // Subscribers join at the newest message: they must be in before the
  // publisher starts.
  const double attach_end = now() + 10;
  for (;;) {
    poll_exits();
    bool all = true;
    for (size_t i : finals) all &= rec(procs_[i].inc).attached.load() != 0 || procs_[i].pid <= 0;
    if (all || now() > attach_end) break;
    sleep_ms(1);
  }
  spawn(true, true, kFinalSlot, kFinalCount);
  const double end = now() + kFinalBound;
  while (!running(true).empty() && now() < end) {
    poll_exits();
    sleep_ms(2);
  }
  fig_.final_ok = true;
  for (auto& p : procs_) {
    if (!p.final) continue;
    if (p.pid > 0) {
      fig_.final_ok = false;
      fail("final exchange: did not finish within " + fmt("%.0f", kFinalBound) + " s: " + who(p));
      kill9(p);
    } else if (p.exit_code != 0) {
      fig_.final_ok = false;  // poll_exits() said why
    }
  }
}

}  // namespace campaign

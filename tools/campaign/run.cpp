// run.cpp — one kind's campaign: create the ring, run its roles as
// processes, SIGKILL them at random moments and restart them, then stop the
// producers, let the consumers drain, run a final clean exchange, and check
// the board (campaign.hpp) against what each policy allows. This file holds
// run_kind() and that sequence (KindRun::run), with the small utilities every
// part uses; kind_run.hpp says which file holds each part.
#include "run.hpp"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include "kind_run.hpp"

namespace campaign {

volatile int g_interrupted = 0;

namespace {

constexpr uint64_t kLogCapacity = uint64_t{4} << 20;  // entries (128 MiB, sparse)

Shape shape_of(Kind k) {
  switch (k) {
    case Kind::spsc: return {1, 1, 1};
    case Kind::mpmc_redeliver:
    case Kind::mpmc_drop: return {2, 2, 1};
    case Kind::bcast_block:
    case Kind::bcast_overwrite: return {1, 2, 2};
    case Kind::drop: return {2, 2, 1};
  }
  return {1, 1, 1};
}

}  // namespace

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

KindRun::KindRun(const KindPlan& plan)
    : plan_(plan), shape_(shape_of(plan.kind)), rng_(plan.seed), t0_(SteadyClock::now()) {
  fig_.kind = plan.kind;
  fig_.seed = plan.seed;
  fig_.planned_kills = plan.kills;
  fig_.phase = plan.seconds;
  const std::string base = "ringdrop-campaign-" + std::to_string(::getpid()) + "-" + kind_name(plan.kind);
  ring_ = plan.kind == Kind::drop ? "/dev/shm/" + base : base;
  board_path_ = "/dev/shm/" + base + ".board";
}

KindRun::~KindRun() { cleanup(); }

Figures KindRun::run() {
  try {
    create_ring();
    board_ = Board::create(board_path_, kLogCapacity);
    board_.h().orchestrator = static_cast<uint64_t>(::getpid());
    campaign_phase();
    stop_phase();
    final_phase();
    read_ring_stats();
    check();
    if (fig_.longest_stall > 0.25) {
      note("the longest stall, " + fmt("%.0f", fig_.longest_stall * 1000) + " ms from t=" + fmt("%.3f", fig_.stall_at) +
           " s, came after:" + events_around(fig_.stall_at, fig_.stall_at + fig_.longest_stall));
    }
  } catch (const std::exception& e) {
    fail(std::string("campaign error: ") + e.what());
  }
  kill_all();
  fig_.seconds = now();
  fig_.ok = fig_.failures.empty();
  return fig_;
}

// ------------------------------------------------------------ utilities

double KindRun::now() const { return std::chrono::duration<double>(SteadyClock::now() - t0_).count(); }
void KindRun::fail(std::string why) { fig_.failures.push_back(std::move(why)); }
void KindRun::note(std::string what) { fig_.notes.push_back(std::move(what)); }
void KindRun::event(std::string what) {
  events_.emplace_back(now(), std::move(what));
  if (plan_.verbose) std::fprintf(stderr, "[%s %8.3f] %s\n", kind_name(plan_.kind), now(), events_.back().second.c_str());
}
std::string KindRun::who(const Proc& p) const {
  return std::string(p.final ? "final " : "") + (p.producer ? "producer " : "consumer ") +
         std::to_string(p.slot) + " (incarnation " + std::to_string(p.inc) + ", pid " +
         std::to_string(p.pid) + ")";
}
IncarnationRec& KindRun::rec(uint32_t inc) const { return board_.h().incarnations[inc]; }

/// Every wait of the orchestrator goes through here.
void KindRun::sleep_ms(double ms) {
  if (g_interrupted) throw std::runtime_error("interrupted");
  timespec ts{0, static_cast<long>(ms * 1e6)};
  ::nanosleep(&ts, nullptr);
}

Figures run_kind(const KindPlan& plan) {
  KindRun run(plan);
  return run.run();
}

}  // namespace campaign

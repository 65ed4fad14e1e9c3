// run.cpp — one kind's campaign: create the ring, run its roles as
// processes, SIGKILL them at random moments and restart them, then stop the
// producers, let the consumers drain, run a final clean exchange, and check
// the board (campaign.hpp) against what each policy allows.
#include "run.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "ringdrop/ringdrop.hpp"
#include "roles.hpp"

extern char** environ;

namespace campaign {

volatile int g_interrupted = 0;

using namespace ringdrop;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kLogCapacity = uint64_t{4} << 20;  // entries (128 MiB, sparse)
constexpr uint64_t kFinalCount = 200;                  // messages of the final exchange
constexpr double kStopBound = 5;                       // seconds for producers to stop
constexpr double kFinalBound = 20;                     // seconds for the final exchange

struct Shape {
  unsigned producers, consumers, final_consumers;
};

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

struct Proc {
  bool producer = false;
  bool final = false;
  unsigned slot = 0;       // producer slot, or the consumer's place (0..consumers-1)
  uint32_t inc = 0;        // incarnation
  pid_t pid = -1;          // -1 once reaped
  bool killed = false;     // by the campaign
  int exit_code = -1;      // 128+signal when killed
  double started = 0, ended = -1;
  bool attached = false;   // seen attached (its board record)
};

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

class KindRun {
 public:
  explicit KindRun(const KindPlan& plan)
      : plan_(plan), shape_(shape_of(plan.kind)), rng_(plan.seed), t0_(SteadyClock::now()) {
    fig_.kind = plan.kind;
    fig_.seed = plan.seed;
    fig_.planned_kills = plan.kills;
    fig_.phase = plan.seconds;
    const std::string base = "ringdrop-campaign-" + std::to_string(::getpid()) + "-" + kind_name(plan.kind);
    ring_ = plan.kind == Kind::drop ? "/dev/shm/" + base : base;
    board_path_ = "/dev/shm/" + base + ".board";
  }
  ~KindRun() { cleanup(); }

  Figures run() {
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

 private:
  // ------------------------------------------------------------ utilities

  double now() const { return std::chrono::duration<double>(SteadyClock::now() - t0_).count(); }
  void fail(std::string why) { fig_.failures.push_back(std::move(why)); }
  void note(std::string what) { fig_.notes.push_back(std::move(what)); }
  void event(std::string what) {
    events_.emplace_back(now(), std::move(what));
    if (plan_.verbose) std::fprintf(stderr, "[%s %8.3f] %s\n", kind_name(plan_.kind), now(), events_.back().second.c_str());
  }
  std::string who(const Proc& p) const {
    return std::string(p.final ? "final " : "") + (p.producer ? "producer " : "consumer ") +
           std::to_string(p.slot) + " (incarnation " + std::to_string(p.inc) + ", pid " +
           std::to_string(p.pid) + ")";
  }
  IncarnationRec& rec(uint32_t inc) const { return board_.h().incarnations[inc]; }

  /// Every wait of the orchestrator goes through here.
  static void sleep_ms(double ms) {
    if (g_interrupted) throw std::runtime_error("interrupted");
    timespec ts{0, static_cast<long>(ms * 1e6)};
    ::nanosleep(&ts, nullptr);
  }

  // ---------------------------------------------------------------- ring

  void create_ring() {
    const Location where = Location::shm(ring_);
    switch (plan_.kind) {
      case Kind::spsc: {
        (void)Segment::remove(where);
        remove_dead_letters(where);
        RingOptions o;  // max_deliveries: the default, 5 (campaign.hpp, "Poison messages")
        o.capacity = kSpscCapacity;
        SpscProducer::open(where, OpenMode::create, o).value();  // created, and left at once
        break;
      }
      case Kind::mpmc_redeliver:
      case Kind::mpmc_drop: {
        (void)Segment::remove(where);
        MpmcOptions o;
        o.capacity = kMpmcCapacity;
        o.cell_size = kMpmcCell;
        o.on_consumer_death = plan_.kind == Kind::mpmc_drop ? OnConsumerDeath::drop : OnConsumerDeath::redeliver;
        // max_deliveries: the default, 5. A message whose 5 holders were all
        // killed is set aside; check_dead_letters() holds each to that.
        remove_dead_letters(where);
        MpmcProducer::open(where, OpenMode::create, o).value();
        break;
      }
      case Kind::bcast_block:
      case Kind::bcast_overwrite: {
        (void)Segment::remove(where);
        BroadcastOptions o;
        o.capacity = kBroadcastCapacity;
        o.cell_size = kBroadcastCell;
        o.policy = plan_.kind == Kind::bcast_overwrite ? SlowSubscriber::overwrite : SlowSubscriber::block;
        BroadcastPublisher::open(where, OpenMode::create, o).value();
        break;
      }
      case Kind::drop:
        std::filesystem::remove_all(ring_);
        DropChannel::open(ring_, drop_options(true)).value();
        break;
    }
    ring_made_ = true;
  }

  /// A ring's dead-letter store (its default place), from an earlier run.
  static void remove_dead_letters(const Location& where) {
    std::error_code ec;
    std::filesystem::remove_all(dead_letter_dir(where), ec);
  }

  void read_ring_stats() {
    const Location where = Location::shm(ring_);
    if (plan_.kind == Kind::spsc) {
      fig_.ring_dead_lettered = inspect_spsc(where).value().dead_lettered;
    } else if (is_mpmc(plan_.kind)) {
      auto s = inspect_mpmc(where).value();
      fig_.ring_abandoned = s.abandoned;
      fig_.ring_redelivered = s.redelivered;
      fig_.ring_lost = s.lost;
      fig_.ring_dead_lettered = s.dead_lettered;
    } else if (is_broadcast(plan_.kind)) {
      auto s = inspect_broadcast(where).value();
      fig_.ring_abandoned = s.abandoned;
      fig_.ring_lapped = s.lapped;
      fig_.ring_missed = s.missed;
    }
  }

  void cleanup() {
    if (ring_made_) {
      if (plan_.kind == Kind::drop) {
        std::error_code ec;
        std::filesystem::remove_all(ring_, ec);
      } else {
        remove_dead_letters(Location::shm(ring_));
        (void)Segment::remove(Location::shm(ring_));
      }
      ring_made_ = false;
    }
    ::unlink(board_path_.c_str());
  }

  // ----------------------------------------------------------- processes

  Proc& spawn(bool producer, bool final, unsigned slot, uint64_t count = 0) {
    if (next_inc_ >= kMaxIncarnations) throw std::runtime_error("too many processes for the board");
    Proc p;
    p.producer = producer;
    p.final = final;
    p.slot = slot;
    p.inc = next_inc_++;
    p.started = now();
    const std::string role = std::string(final ? "final-" : "") + (producer ? "producer" : "consumer");
    std::vector<std::string> args = {plan_.exe, "--role", role, "--kind", kind_name(plan_.kind),
                                     "--ring", ring_, "--board", board_path_, "--slot",
                                     std::to_string(slot), "--incarnation", std::to_string(p.inc),
                                     "--seed", std::to_string(mix(plan_.seed ^ p.inc)), "--count",
                                     std::to_string(count), "--timeout-ms",
                                     std::to_string(final ? 100 : plan_.op_timeout_ms)};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);  // stdout is the report's
    const int rc = ::posix_spawn(&p.pid, plan_.exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn failed");
    ++fig_.processes;
    procs_.push_back(p);
    event("start " + who(procs_.back()));
    return procs_.back();
  }

  std::vector<size_t> running(bool include_final) const {
    std::vector<size_t> r;
    for (size_t i = 0; i < procs_.size(); ++i) {
      if (procs_[i].pid > 0 && (include_final || !procs_[i].final)) r.push_back(i);
    }
    return r;
  }

  void reaped(Proc& p, int status) {
    p.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    p.ended = now();
    event((p.killed ? "killed " : "exit " + std::to_string(p.exit_code) + " ") + who(p));
    p.pid = -1;
  }

  /// Producer slot state after its process died: a message in doubt?
  void note_in_doubt(Proc& p) {
    if (!p.producer) return;
    const ProducerSlot& s = board_.h().slots[p.slot];
    const uint64_t in_commit = s.in_commit.load(), next = s.next_seq.load();
    if (in_commit != 0 && in_commit - 1 >= next) {
      // The first incarnation to die with this message in hand (a successor
      // killed while starting finds the same record).
      doubt_ring_.try_emplace({p.slot, in_commit - 1}, s.ring_next.load(), p.inc);
      if (plan_.kind == Kind::drop) {
        char id[sizeof s.pending_id];
        std::memcpy(id, s.pending_id, sizeof id);
        id[sizeof id - 1] = 0;
        doubt_ids_[{p.slot, in_commit - 1}] = id;
      }
      if (in_doubt_.insert({p.slot, in_commit - 1}).second) {
        event("  in doubt: slot " + std::to_string(p.slot) + " seq " + std::to_string(in_commit - 1));
      }
    }
  }

  void kill9(Proc& p) {
    p.killed = true;
    ::kill(p.pid, SIGKILL);
    int status = 0;
    ::waitpid(p.pid, &status, 0);
    reaped(p, status);
    note_in_doubt(p);
  }

  void kill_all() {
    for (auto& p : procs_) {
      if (p.pid > 0) {
        fail("still running at the end, killed: " + who(p));
        kill9(p);
      }
    }
  }

  /// Reaps processes that ended on their own. Returns those that did.
  std::vector<size_t> poll_exits() {
    std::vector<size_t> ended;
    for (size_t i = 0; i < procs_.size(); ++i) {
      Proc& p = procs_[i];
      if (p.pid <= 0) continue;
      int status = 0;
      if (::waitpid(p.pid, &status, WNOHANG) == p.pid) {
        const std::string name = who(p);
        reaped(p, status);
        note_in_doubt(p);
        if (p.exit_code != 0) fail(name + " exited with code " + std::to_string(p.exit_code) + " (its stderr says why)");
        ended.push_back(i);
      }
    }
    return ended;
  }

  // ---------------------------------------------------------------- stall

  // A stall: no delivery while a producer and a consumer are attached and
  // work is waiting (committed, not delivered; or a producer waiting in
  // reserve for room). The clock restarts at every delivery.
  void sample_stall() {
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

  std::string events_around(double from, double to) const {
    std::string s;
    for (const auto& [t, what] : events_) {
      if (t >= from - 0.3 && t <= to) s += "\n      t=" + fmt("%.3f", t) + " " + what;
    }
    return s;
  }

  // --------------------------------------------------------------- phases

  void campaign_phase() {
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

  void stop_phase() {
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

  void final_phase() {
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

  // ---------------------------------------------------------------- check

  struct Delivery {
    uint32_t inc, ordinal;
    uint16_t slot, flags;
    uint64_t seq, ring_no;
    bool lost;
    uint64_t index;
  };

  /// Whether delivery `d` may not have been released before its consumer died.
  bool held_at_kill(const Delivery& d) const {
    const Proc& p = procs_[d.inc];
    return p.killed && d.ordinal >= rec(d.inc).released.load();
  }

  void check() {
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

  void check_final(const std::vector<Delivery>& log) {
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
  uint64_t slot_end(unsigned slot) const {
    uint64_t end = board_.h().slots[slot].next_seq.load();
    for (const auto& [s, seq] : in_doubt_) {
      if (s == slot) end = std::max(end, seq + 1);
    }
    return end;
  }

  void check_queue(const std::vector<Delivery>& log) {
    std::vector<std::vector<uint32_t>> count(shape_.producers), held(shape_.producers);
    std::vector<std::vector<uint8_t>> lease_lost(shape_.producers);
    for (unsigned s = 0; s < shape_.producers; ++s) {
      count[s].assign(slot_end(s), 0);
      held[s].assign(slot_end(s), 0);
      lease_lost[s].assign(slot_end(s), 0);
    }
    uint64_t phantom = 0;
    std::string phantom_example;
    for (const auto& d : log) {
      if (d.lost || d.slot == kFinalSlot) continue;
      if (d.slot >= shape_.producers || d.seq >= count[d.slot].size()) {
        if (phantom++ == 0) phantom_example = "slot " + std::to_string(d.slot) + " seq " + std::to_string(d.seq);
        continue;
      }
      ++fig_.delivered;
      ++count[d.slot][d.seq];
      if (held_at_kill(d)) {
        ++held[d.slot][d.seq];
        ++fig_.held_at_kill;
      }
      if (d.flags & kFlagLeaseLost) lease_lost[d.slot][d.seq] = 1;
      if (d.index >= drained_deliveries_ && procs_[d.inc].final) ++fig_.late;
    }
    if (phantom) fail(std::to_string(phantom) + " deliveries of messages never sent, e.g. " + phantom_example);
    const auto set_aside = check_dead_letters(log, count);
    const bool dups_allowed = plan_.kind != Kind::mpmc_drop;
    std::vector<std::string> lost_examples, dup_examples;
    uint64_t in_doubt_unseen = 0;
    for (unsigned s = 0; s < shape_.producers; ++s) {
      for (uint64_t seq = 0; seq < count[s].size(); ++seq) {
        const uint32_t c = count[s][seq];
        if (in_doubt_.count({s, seq})) {
          ++fig_.in_doubt;
          if (c > 0) ++fig_.in_doubt_seen, ++fig_.committed;
          else ++in_doubt_unseen;
        } else {
          ++fig_.committed;
          if (c == 0 && !set_aside.count({s, seq})) {
            ++fig_.lost;
            if (lost_examples.size() < 8) lost_examples.push_back(std::to_string(s) + ":" + std::to_string(seq));
          }
        }
        if (c > 1) {
          fig_.duplicated += c - 1;
          uint64_t excused = dups_allowed ? std::min<uint64_t>(c - 1, held[s][seq] + lease_lost[s][seq]) : 0;
          fig_.dup_allowed += excused;
          if (excused < c - 1 && dup_examples.size() < 8) {
            dup_examples.push_back(std::to_string(s) + ":" + std::to_string(seq) + " x" + std::to_string(c));
          }
        }
      }
    }
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    // What the policy allows to be lost.
    if (plan_.kind == Kind::mpmc_drop) {
      fig_.lost_allowed = std::min(fig_.lost, fig_.ring_lost);
      if (fig_.ring_lost > fig_.lost + fig_.held_at_kill) {
        note("the ring counted " + std::to_string(fig_.ring_lost) + " lost, more than the " +
             std::to_string(fig_.lost) + " never delivered plus the " + std::to_string(fig_.held_at_kill) +
             " held by consumers when they died");
      }
    }
    if (fig_.lost > fig_.lost_allowed) {
      fail(std::to_string(fig_.lost - fig_.lost_allowed) + " committed messages lost beyond the policy (" +
           std::to_string(fig_.lost) + " never delivered, " + std::to_string(fig_.lost_allowed) +
           " allowed), e.g. slot:seq " + list(lost_examples));
    }
    if (fig_.duplicated > fig_.dup_allowed) {
      fail(std::to_string(fig_.duplicated - fig_.dup_allowed) + " duplicate deliveries beyond the policy (" +
           std::to_string(fig_.duplicated) + " in all), e.g. slot:seq " + list(dup_examples));
    }
    if (plan_.kind == Kind::mpmc_redeliver && fig_.duplicated > fig_.ring_redelivered) {
      fail(std::to_string(fig_.duplicated) + " duplicates but the ring redelivered only " +
           std::to_string(fig_.ring_redelivered));
    }
    check_in_doubt(in_doubt_unseen, &count);
    if (fig_.late) note(std::to_string(fig_.late) + " campaign messages were first delivered in the final exchange (after the drain)");
  }

  /// SPSC and MPMC: the messages set aside as poison (campaign.hpp, "Poison
  /// messages"), each held to its limit: read from the ring's store, checked
  /// against the log. Returns them as (slot, seq).
  std::set<std::pair<unsigned, uint64_t>> check_dead_letters(const std::vector<Delivery>& log,
                                                           const std::vector<std::vector<uint32_t>>& count) {
    std::set<std::pair<unsigned, uint64_t>> set_aside;
    if (plan_.kind != Kind::spsc && plan_.kind != Kind::mpmc_redeliver) return set_aside;
    constexpr uint32_t kLimit = 5;  // ringdrop's default max_deliveries
    auto store = RingDeadLetters::open(Location::shm(ring_));
    auto letters = store ? store->list() : Result<std::vector<DeadLetter>>(store.error());
    if (!letters) {
      if (letters.error() != errc::not_found) fail("dead letters: " + letters.error().message());
    } else {
      for (const DeadLetter& d : *letters) {
        auto bytes = store->payload(d.id);
        Wire w;
        if (!bytes || !wire_parse(*bytes, plan_.kind, w)) {
          fail("dead letter " + d.id + ": not a whole campaign message");
          continue;
        }
        set_aside.insert({w.slot, w.seq});
        if (d.attempts != kLimit) {
          fail("dead letter " + std::to_string(w.slot) + ":" + std::to_string(w.seq) + " was set aside after " +
               std::to_string(d.attempts) + " deliveries, not " + std::to_string(kLimit) + ": " + d.reason);
        }
        if (w.slot < count.size() && w.seq < count[w.slot].size() && count[w.slot][w.seq] > kLimit) {
          fail("dead letter " + std::to_string(w.slot) + ":" + std::to_string(w.seq) + " was logged delivered " +
               std::to_string(count[w.slot][w.seq]) + " times: more than its limit");
        }
      }
    }
    fig_.dead_lettered = set_aside.size();
    if (fig_.dead_lettered != fig_.ring_dead_lettered) {
      fail("the ring counted " + std::to_string(fig_.ring_dead_lettered) + " dead letters, its store holds " +
           std::to_string(fig_.dead_lettered));
    }
    // Each message's counts rise, stay within the limit, and a set-aside
    // message was never released: each of its holders died holding it.
    std::map<std::pair<unsigned, uint64_t>, uint32_t> last;
    for (const auto& d : log) {
      if (d.lost || d.slot == kFinalSlot) continue;
      const uint32_t n = flags_count(d.flags);
      fig_.highest_count = std::max<uint64_t>(fig_.highest_count, n);
      const std::pair<unsigned, uint64_t> key{d.slot, d.seq};
      const std::string name = std::to_string(d.slot) + ":" + std::to_string(d.seq);
      if (n == 0 || n > kLimit || n <= last[key]) {
        fail("message " + name + " was delivered with count " + std::to_string(n) + " after " +
             std::to_string(last[key]));
      }
      last[key] = n;
      if (set_aside.count(key) && !held_at_kill(d)) {
        fail("message " + name + " was released by consumer " + std::to_string(d.inc) + " and yet set aside");
      }
    }
    return set_aside;
  }

  /// Drop channel: of the messages in doubt never delivered, those whose
  /// tmp/<id>.tmp is still there were never published (the rename into new/
  /// moves it); the others were published, and then lost.
  uint64_t published_drop_messages(const std::vector<std::vector<uint32_t>>& count, std::string& example) const {
    uint64_t published = 0;
    for (const auto& [key, id] : doubt_ids_) {
      const auto& [slot, seq] = key;
      if (seq >= count[slot].size() || count[slot][seq] != 0) continue;
      std::error_code ec;
      if (!std::filesystem::exists(ring_ + "/tmp/" + id + ".tmp", ec)) {
        if (published++ == 0) example = id + " (slot " + std::to_string(slot) + " seq " + std::to_string(seq) + ")";
      }
    }
    return published;
  }

  void check_in_doubt(uint64_t unseen, const std::vector<std::vector<uint32_t>>* count = nullptr) {
    if (unseen == 0) return;
    if (plan_.kind == Kind::drop) {
      std::string example;
      const uint64_t published = published_drop_messages(*count, example);
      if (published) {
        fig_.lost += published;
        fail(std::to_string(published) + " messages whose producer died inside commit() left tmp/ (so were published) and were never delivered, e.g. " + example);
      }
      return;
    }
    if (is_mpmc(plan_.kind)) {
      // A record whose producer died before publishing it is counted
      // abandoned by the ring (so are reservations of producers killed
      // before commit: this is a bound). More unseen messages in doubt than
      // that were published, and then lost; with the drop policy the ring's
      // `lost` may cover them (a consumer died holding one).
      const uint64_t excess = unseen > fig_.ring_abandoned ? unseen - fig_.ring_abandoned : 0;
      const uint64_t room = plan_.kind == Kind::mpmc_drop && fig_.ring_lost > fig_.lost ? fig_.ring_lost - fig_.lost : 0;
      if (excess > room) {
        fig_.lost += excess - room;
        fail(std::to_string(unseen) + " messages whose producer died inside commit() were never delivered, but the ring counted only " +
             std::to_string(fig_.ring_abandoned) + " abandoned" + (room ? " and " + std::to_string(room) + " more lost" : std::string()) +
             ": " + std::to_string(excess - room) + " were published and lost");
      } else if (excess) {
        fig_.lost_allowed += excess;
        fig_.lost += excess;
      }
    } else {
      note(std::to_string(unseen) + " messages whose producer died inside commit() were never delivered: never published (or lost; this kind has no counter to tell)");
    }
  }

  /// Broadcast: whether message `seq` of the publisher, in doubt, was
  /// published: the ring number the next publisher to attach started at is
  /// past it. Nothing if no publisher attached after.
  std::optional<bool> doubt_published(uint64_t seq) const {
    const auto it = doubt_ring_.find({0u, seq});
    if (it == doubt_ring_.end()) return std::nullopt;
    const auto [ring_no, dead] = it->second;
    for (const auto& p : procs_) {
      if (p.producer && p.inc > dead && rec(p.inc).attached.load() != 0) return rec(p.inc).first_pos.load() > ring_no;
    }
    return std::nullopt;
  }

  void check_broadcast(const std::vector<Delivery>& log) {
    const uint64_t end = slot_end(0);
    // committed[seq]: certainly committed, or in doubt and seen by someone.
    std::vector<uint8_t> seen(end, 0), committed(end, 0);
    std::map<uint64_t, std::pair<uint64_t, uint32_t>> by_ring;  // ring number -> (seq, first incarnation)
    uint64_t reused = 0;
    std::string reused_example;
    for (const auto& d : log) {
      if (d.lost || d.slot != 0) continue;
      if (d.seq >= end) {
        fail("a delivery of a message never sent: seq " + std::to_string(d.seq));
        continue;
      }
      seen[d.seq] = 1;
      auto [it, fresh] = by_ring.try_emplace(d.ring_no, d.seq, d.inc);
      if (!fresh && it->second.first != d.seq) {
        if (reused++ == 0) {
          reused_example = "ring number " + std::to_string(d.ring_no) + " was seq " + std::to_string(it->second.first) +
                           " for subscriber " + std::to_string(it->second.second) + " and seq " +
                           std::to_string(d.seq) + " for subscriber " + std::to_string(d.inc);
        }
      }
    }
    // A message in doubt was published when the ring's tail passed it: the
    // next publisher to attach starts numbering at the tail it found.
    uint64_t in_doubt_unseen = 0;
    for (uint64_t seq = 0; seq < end; ++seq) {
      if (in_doubt_.count({0u, seq})) {
        ++fig_.in_doubt;
        const auto published = doubt_published(seq);
        if (seen[seq]) ++fig_.in_doubt_seen;
        if (published.value_or(seen[seq] != 0)) {
          committed[seq] = 1;
          ++fig_.committed;
        } else if (!seen[seq]) {
          ++in_doubt_unseen;
        }
      } else {
        committed[seq] = 1;
        ++fig_.committed;
      }
    }
    if (reused) {
      fail(std::to_string(reused) + " deliveries of a ring number that carried another message for another subscriber (a publisher's message overwritten by its successor): " + reused_example);
    }
    // prefix[k] = committed seqs below k, to count those between two.
    std::vector<uint64_t> prefix(end + 1, 0);
    for (uint64_t s = 0; s < end; ++s) prefix[s + 1] = prefix[s] + committed[s];
    const uint64_t ring_end = board_.h().slots[0].ring_next.load();

    std::map<uint32_t, std::vector<const Delivery*>> per;  // incarnation -> its entries, in order
    for (const auto& d : log) per[d.inc].push_back(&d);
    const bool block = plan_.kind == Kind::bcast_block;
    std::vector<std::string> examples;
    auto example = [&](std::string s) {
      if (examples.size() < 6) examples.push_back(std::move(s));
    };
    for (const auto& p : procs_) {
      if (p.producer) continue;
      const IncarnationRec& r = rec(p.inc);
      if (r.attached.load() == 0) continue;
      if (r.lost_first.load()) {
        ++fig_.lost_first_read;
        example("subscriber " + std::to_string(p.inc) + " (started t=" + fmt("%.3f", p.started) +
                ") got message_lost on its first read");
      }
      uint64_t expect = r.first_pos.load();  // ring number of the next message it is owed
      std::optional<uint64_t> prev;          // seq of the last message it got
      uint64_t told = 0;                     // messages it was told it missed since then
      uint64_t lost = 0;
      for (const Delivery* d : per[p.inc]) {
        if (d->lost) {
          fig_.told_missed += d->seq;
          told += d->seq;
          if (d->flags & kFlagOnRelease) {
            expect = d->ring_no + 1;  // it read message ring_no, which was overwritten while held
          } else {
            if (d->ring_no != expect + d->seq) {
              fail("subscriber " + std::to_string(p.inc) + " was told it missed " + std::to_string(d->seq) +
                   " messages from ring number " + std::to_string(expect) + " but goes on at " + std::to_string(d->ring_no));
            }
            expect = d->ring_no;
          }
          continue;
        }
        if (p.final) {  // final messages: check_final; here only the numbering
          if (d->ring_no != expect) {
            fail("final subscriber " + std::to_string(p.inc) + " expected ring number " + std::to_string(expect) +
                 " and got " + std::to_string(d->ring_no));
          }
          expect = d->ring_no + 1;
          continue;
        }
        ++fig_.delivered;
        if (d->ring_no != expect) {
          if (d->ring_no > expect && !prev) {
            // Before its first message: owed from its join, never told.
            const uint64_t gap = d->ring_no - expect;
            lost += gap;
            example("subscriber " + std::to_string(p.inc) + " joined at ring number " + std::to_string(expect) +
                    " but its first message is ring number " + std::to_string(d->ring_no));
          } else if (d->ring_no < expect) {
            fail("subscriber " + std::to_string(p.inc) + " went back from ring number " + std::to_string(expect) +
                 " to " + std::to_string(d->ring_no));
          }
        }
        expect = d->ring_no + 1;
        if (prev) {
          if (d->seq <= *prev) {
            ++fig_.duplicated;
            example("subscriber " + std::to_string(p.inc) + " got seq " + std::to_string(d->seq) + " after seq " + std::to_string(*prev));
          } else {
            const uint64_t missing = prefix[d->seq] - prefix[*prev + 1];
            if (missing > told) {
              lost += missing - told;
              example("subscriber " + std::to_string(p.inc) + " got seq " + std::to_string(d->seq) + " after seq " +
                      std::to_string(*prev) + ", missing " + std::to_string(missing) + ", told " + std::to_string(told));
            }
          }
        }
        prev = d->seq;
        told = 0;
      }
      // One that drained cleanly is owed everything up to the end.
      if (!p.final && !p.killed && p.exit_code == 0 && expect < ring_end) {
        lost += ring_end - expect;
        example("subscriber " + std::to_string(p.inc) + " drained and left at ring number " + std::to_string(expect) +
                " of " + std::to_string(ring_end));
      }
      fig_.lost += lost;
    }
    // Told missed: allowed with the overwrite policy; never with block.
    if (block) {
      fig_.lost += fig_.told_missed;
    } else {
      fig_.lost += fig_.told_missed;
      fig_.lost_allowed = fig_.told_missed;
    }
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += "\n      " + x;
      return s;
    };
    if (fig_.lost > fig_.lost_allowed) {
      fail(std::to_string(fig_.lost - fig_.lost_allowed) + " messages lost beyond the policy" +
           (block && fig_.told_missed ? " (" + std::to_string(fig_.told_missed) + " of them reported as message_lost, which the block policy never allows)" : std::string()) +
           list(examples));
    } else if (!examples.empty()) {
      note("subscriber events:" + list(examples));
    }
    if (fig_.duplicated) fail(std::to_string(fig_.duplicated) + " duplicate deliveries to a subscriber");
    if (in_doubt_unseen) {
      note(std::to_string(in_doubt_unseen) + " messages whose publisher died inside commit() were never published (the next publisher found the tail before them)");
    }
  }

  // -------------------------------------------------------------- members

  KindPlan plan_;
  Shape shape_;
  Rng rng_;
  SteadyClock::time_point t0_;
  Figures fig_;
  std::string ring_, board_path_;
  bool ring_made_ = false;
  Board board_;
  std::vector<Proc> procs_;  // indexed by incarnation
  uint32_t next_inc_ = 0;
  std::set<std::pair<unsigned, uint64_t>> in_doubt_;  // (slot, seq)
  std::map<std::pair<unsigned, uint64_t>, std::string> doubt_ids_;  // drop: in doubt -> message id
  // In doubt -> (broadcast: its ring number, the publisher incarnation that died)
  std::map<std::pair<unsigned, uint64_t>, std::pair<uint64_t, uint32_t>> doubt_ring_;
  std::vector<std::pair<double, std::string>> events_;
  uint64_t last_deliveries_ = 0;
  std::optional<double> stall_start_;
  bool wedge_reported_ = false;
  uint64_t drained_deliveries_ = 0;  // log entries before the final exchange
};

}  // namespace

Figures run_kind(const KindPlan& plan) {
  KindRun run(plan);
  return run.run();
}

}  // namespace campaign

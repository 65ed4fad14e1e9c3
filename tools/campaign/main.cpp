// ringdrop-campaign — a kill -9 campaign against every ring kind and the
// file-drop channel.
//
//   ringdrop-campaign [--kills N] [--seconds S] [--kind K[,K...]] [--seed X]
//                     [--json] [--stall-bound S] [--op-timeout-ms T] [--verbose]
//
// For each kind (spsc, mpmc-redeliver, mpmc-drop, broadcast-block,
// broadcast-overwrite, drop) it runs producers and consumers as processes
// (this program again, in a role: roles.hpp), SIGKILLs one of them at random
// moments (seeded: the seed is printed, and --seed repeats the schedule) and
// restarts it, N kills in all shared among the kinds, within S seconds in
// all. Then it stops the producers, lets the consumers drain, runs a final
// clean producer/consumer exchange, and checks what was committed against
// what was delivered (campaign.hpp says how each is recorded so that a kill
// loses no record). Per kind it reports kills, messages committed,
// delivered, duplicated and lost (each with what the policy allows), the
// messages in doubt (producer killed inside commit()), the longest stall
// (no delivery while producers were attached and work was waiting) and
// whether the ring still works.
//
// What each policy allows:
//   spsc, mpmc-redeliver, drop: duplicates of messages their consumer held
//     (read, not released / claimed, not acked) when it was killed; no loss.
//     spsc and mpmc-redeliver keep the default max_deliveries (5): a message
//     set aside as poison is neither delivered nor lost, and must have been
//     delivered 5 times, each to a consumer killed holding it, with counts
//     that rose (campaign.hpp, "Poison messages"). The report gives the dead
//     letters and the highest delivery count any consumer was given.
//   mpmc-drop: losses up to the ring's `lost` count; no duplicates.
//   broadcast-block: nothing: each subscriber incarnation gets every message
//     from its join (the newest) on, in order, once.
//   broadcast-overwrite: losses a subscriber was told of (message_lost,
//     last_missed), exactly; no duplicates.
// It fails (exit 1) on anything beyond, on a wedged ring (no delivery for
// --stall-bound seconds, default 5, with work waiting; or the final exchange
// failing), and on any role process that reports an error. Exit 2: usage.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "campaign.hpp"
#include "roles.hpp"
#include "run.hpp"

using namespace campaign;

namespace {

struct Options {
  uint64_t kills = 300;
  double seconds = 120;
  std::vector<Kind> kinds;
  uint64_t seed = 0;
  bool seed_given = false, json = false, verbose = false;
  double stall_bound = 5;
  uint64_t op_timeout_ms = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "ringdrop-campaign: %s\n"
               "usage: ringdrop-campaign [--kills N] [--seconds S] [--kind K[,K...]] [--seed X]\n"
               "                         [--json] [--stall-bound S] [--op-timeout-ms T] [--verbose]\n"
               "kinds: spsc mpmc-redeliver mpmc-drop broadcast-block broadcast-overwrite drop (default: all)\n",
               why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    try {
      if (flag == "--kills") o.kills = std::stoull(value());
      else if (flag == "--seconds") o.seconds = std::stod(value());
      else if (flag == "--seed") o.seed = std::stoull(value(), nullptr, 0), o.seed_given = true;
      else if (flag == "--stall-bound") o.stall_bound = std::stod(value());
      else if (flag == "--op-timeout-ms") o.op_timeout_ms = std::stoull(value());
      else if (flag == "--json") o.json = true;
      else if (flag == "--verbose") o.verbose = true;
      else if (flag == "--kind") {
        std::stringstream list(value());
        std::string name;
        while (std::getline(list, name, ',')) {
          if (name == "all") {
            o.kinds.assign(std::begin(kAllKinds), std::end(kAllKinds));
            continue;
          }
          Kind k;
          if (!kind_named(name, k)) usage("unknown kind " + name);
          if (std::find(o.kinds.begin(), o.kinds.end(), k) == o.kinds.end()) o.kinds.push_back(k);
        }
      } else if (flag == "--help" || flag == "-h") {
        usage("a kill -9 campaign against every ring kind and the drop channel");
      } else {
        usage("unknown option " + flag);
      }
    } catch (const std::logic_error&) {
      usage("bad value for " + flag);
    }
  }
  if (o.kinds.empty()) o.kinds.assign(std::begin(kAllKinds), std::end(kAllKinds));
  if (o.seconds <= 0) usage("--seconds must be positive");
  if (!o.seed_given) o.seed = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}() ^
                              static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return o;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    std::perror("readlink /proc/self/exe");
    std::exit(2);
  }
  return std::string(buf, static_cast<size_t>(n));
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// Seconds a kind's drain and final exchange take, besides its kill phase.
double overhead_of(Kind k) { return k == Kind::drop ? 5 : 3; }

std::string num(uint64_t v) { return std::to_string(v); }

void print_table(const Options& o, const std::vector<Figures>& all, double elapsed) {
  std::printf("\n%-20s %12s %10s %10s %15s %15s %10s %9s %6s  %s\n", "kind", "kills (p/c)", "committed",
              "delivered", "dup (allowed)", "lost (allowed)", "in doubt", "stall ms", "works", "result");
  uint64_t kills = 0;
  bool ok = true;
  for (const auto& f : all) {
    kills += f.kills;
    ok &= f.ok;
    const std::string k = num(f.kills) + " (" + num(f.kills_producer) + "/" + num(f.kills_consumer) + ")";
    const std::string d = num(f.duplicated) + " (" + num(f.dup_allowed) + ")";
    const std::string l = num(f.lost) + " (" + num(f.lost_allowed) + ")";
    const std::string u = num(f.in_doubt_seen) + "/" + num(f.in_doubt);
    std::printf("%-20s %12s %10llu %10llu %15s %15s %10s %9.0f %6s  %s\n", kind_name(f.kind), k.c_str(),
                static_cast<unsigned long long>(f.committed), static_cast<unsigned long long>(f.delivered),
                d.c_str(), l.c_str(), u.c_str(), f.longest_stall * 1000, f.final_ok ? "yes" : "NO",
                f.ok ? "ok" : "FAILED");
  }
  std::printf("%-20s %12llu   (%.1f s)\n", "total", static_cast<unsigned long long>(kills), elapsed);
  std::printf(
      "kills: SIGKILLs of producers/consumers. committed: certainly committed, plus those in doubt that were\n"
      "delivered. delivered: all deliveries (broadcast: to every subscriber), duplicates included. dup, lost:\n"
      "with what the policy allows. in doubt: seen/all messages whose producer was killed inside commit().\n"
      "stall: the longest time without a delivery while a producer and a consumer were attached and work was\n"
      "waiting. works: the final clean producer/consumer exchange.\n");
  for (const auto& f : all) {
    const bool bcast = is_broadcast(f.kind);
    std::printf("\n%s: seed %llu, %.1f s, %llu processes; ring counters: ", kind_name(f.kind),
                static_cast<unsigned long long>(f.seed), f.seconds, static_cast<unsigned long long>(f.processes));
    if (is_mpmc(f.kind)) {
      std::printf("abandoned %llu, redelivered %llu, lost %llu", static_cast<unsigned long long>(f.ring_abandoned),
                  static_cast<unsigned long long>(f.ring_redelivered), static_cast<unsigned long long>(f.ring_lost));
    }
    if (f.kind == Kind::spsc || f.kind == Kind::mpmc_redeliver) {
      std::printf("%sdead letters %llu (highest delivery count given %llu, limit 5)", f.kind == Kind::spsc ? "" : "; ",
                  static_cast<unsigned long long>(f.dead_lettered), static_cast<unsigned long long>(f.highest_count));
    } else if (bcast) {
      std::printf("abandoned %llu, lapped %llu, missed %llu; told missed %llu, message_lost on a first read %llu",
                  static_cast<unsigned long long>(f.ring_abandoned), static_cast<unsigned long long>(f.ring_lapped),
                  static_cast<unsigned long long>(f.ring_missed), static_cast<unsigned long long>(f.told_missed),
                  static_cast<unsigned long long>(f.lost_first_read));
    } else if (!is_mpmc(f.kind)) {
      std::printf("(none used)");
    }
    if (!bcast) std::printf("; deliveries held by a consumer when it was killed %llu", static_cast<unsigned long long>(f.held_at_kill));
    std::printf("\n");
    for (const auto& why : f.failures) std::printf("  FAILED: %s\n", why.c_str());
    for (const auto& n : f.notes) std::printf("  note: %s\n", n.c_str());
    if (!f.ok) {
      // The same kill schedule for this kind alone: the same seed, its share
      // of the kills and of the time.
      std::printf("  repeat: ringdrop-campaign --kind %s --seed %llu --kills %llu --seconds %g\n", kind_name(f.kind),
                  static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(f.planned_kills),
                  f.phase + overhead_of(f.kind));
    }
  }
  std::printf("\n%s\n", ok ? "campaign passed" : "campaign FAILED");
}

void print_json(const Options& o, const std::vector<Figures>& all, double elapsed) {
  bool ok = true;
  uint64_t kills = 0;
  for (const auto& f : all) ok &= f.ok, kills += f.kills;
  std::printf("{\"seed\":%llu,\"kills_requested\":%llu,\"seconds_bound\":%g,\"kills\":%llu,\"elapsed_s\":%.3f,\"ok\":%s,\"kinds\":[",
              static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(o.kills), o.seconds,
              static_cast<unsigned long long>(kills), elapsed, ok ? "true" : "false");
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& f = all[i];
    auto list = [](const std::vector<std::string>& v) {
      std::string s = "[";
      for (size_t j = 0; j < v.size(); ++j) s += (j ? "," : "") + json_string(v[j]);
      return s + "]";
    };
    std::printf(
        "%s{\"kind\":\"%s\",\"seed\":%llu,\"kills\":%llu,\"kills_producer\":%llu,\"kills_consumer\":%llu,"
        "\"processes\":%llu,\"committed\":%llu,\"delivered\":%llu,\"duplicated\":%llu,\"duplicated_allowed\":%llu,"
        "\"lost\":%llu,\"lost_allowed\":%llu,\"in_doubt\":%llu,\"in_doubt_seen\":%llu,\"told_missed\":%llu,"
        "\"lost_first_read\":%llu,\"held_at_kill\":%llu,\"late\":%llu,\"ring_abandoned\":%llu,"
        "\"ring_redelivered\":%llu,\"ring_lost\":%llu,\"ring_lapped\":%llu,\"ring_missed\":%llu,"
        "\"dead_lettered\":%llu,\"highest_delivery_count\":%llu,"
        "\"longest_stall_ms\":%.1f,\"stall_at_s\":%.3f,\"seconds\":%.3f,\"works\":%s,\"ok\":%s,"
        "\"failures\":%s,\"notes\":%s}",
        i ? "," : "", kind_name(f.kind), static_cast<unsigned long long>(f.seed),
        static_cast<unsigned long long>(f.kills), static_cast<unsigned long long>(f.kills_producer),
        static_cast<unsigned long long>(f.kills_consumer), static_cast<unsigned long long>(f.processes),
        static_cast<unsigned long long>(f.committed), static_cast<unsigned long long>(f.delivered),
        static_cast<unsigned long long>(f.duplicated), static_cast<unsigned long long>(f.dup_allowed),
        static_cast<unsigned long long>(f.lost), static_cast<unsigned long long>(f.lost_allowed),
        static_cast<unsigned long long>(f.in_doubt), static_cast<unsigned long long>(f.in_doubt_seen),
        static_cast<unsigned long long>(f.told_missed), static_cast<unsigned long long>(f.lost_first_read),
        static_cast<unsigned long long>(f.held_at_kill), static_cast<unsigned long long>(f.late),
        static_cast<unsigned long long>(f.ring_abandoned), static_cast<unsigned long long>(f.ring_redelivered),
        static_cast<unsigned long long>(f.ring_lost), static_cast<unsigned long long>(f.ring_lapped),
        static_cast<unsigned long long>(f.ring_missed), static_cast<unsigned long long>(f.dead_lettered),
        static_cast<unsigned long long>(f.highest_count), f.longest_stall * 1000, f.stall_at, f.seconds,
        f.final_ok ? "true" : "false", f.ok ? "true" : "false", list(f.failures).c_str(), list(f.notes).c_str());
  }
  std::printf("]}\n");
}

}  // namespace

static void on_interrupt(int) { g_interrupted = 1; }

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--role") == 0) return run_role(argc, argv);
  const Options o = parse(argc, argv);
  // ^C or a timeout: stop, kill the roles, remove rings and boards. A closed
  // stdout (| head) must not kill us before that either.
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  std::signal(SIGPIPE, SIG_IGN);
  const std::string exe = self_exe();
  const auto t0 = std::chrono::steady_clock::now();

  // The time bound is shared: each kind's kill phase gets its part, less
  // what its drain and final exchange take.
  const auto n = static_cast<double>(o.kinds.size());
  double overhead = 0;
  for (Kind k : o.kinds) overhead += overhead_of(k);
  const double phase = std::max(1.0, (o.seconds - overhead) / n);

  std::fprintf(o.json ? stderr : stdout,
               "ringdrop-campaign: seed %llu (repeat with --seed %llu), %llu kills over %zu kinds, bound %.0f s\n",
               static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(o.seed),
               static_cast<unsigned long long>(o.kills), o.kinds.size(), o.seconds);
  std::fflush(stdout);

  std::vector<Figures> all;
  for (size_t i = 0; i < o.kinds.size(); ++i) {
    KindPlan plan;
    plan.kind = o.kinds[i];
    plan.seed = mix(mix(o.seed) + static_cast<uint64_t>(plan.kind));
    plan.kills = o.kills / o.kinds.size() + (i < o.kills % o.kinds.size() ? 1 : 0);
    plan.seconds = phase;
    plan.stall_bound = o.stall_bound + (plan.kind == Kind::drop ? 2 * std::chrono::duration<double>(kDropLease).count() : 0);
    plan.exe = exe;
    plan.verbose = o.verbose;
    plan.op_timeout_ms = o.op_timeout_ms;
    if (g_interrupted) break;
    all.push_back(run_kind(plan));
    const Figures& f = all.back();
    std::fprintf(stderr, "ringdrop-campaign: %-20s %llu kills, %llu committed, %.1f s: %s\n", kind_name(f.kind),
                 static_cast<unsigned long long>(f.kills), static_cast<unsigned long long>(f.committed), f.seconds,
                 f.ok ? "ok" : "FAILED");
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.json) print_json(o, all, elapsed);
  else print_table(o, all, elapsed);
  return std::all_of(all.begin(), all.end(), [](const Figures& f) { return f.ok; }) ? 0 : 1;
}

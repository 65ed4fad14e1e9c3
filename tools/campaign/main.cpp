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
#include "report.hpp"
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
  const RunSummary summary{o.seed, o.kills, o.seconds, elapsed};
  if (o.json) print_json(summary, all);
  else print_table(summary, all);
  return std::all_of(all.begin(), all.end(), [](const Figures& f) { return f.ok; }) ? 0 : 1;
}

// The cost of the delivery count (issue 13) on the ordinary path: the same
// four measurements by this binary and by ringdrop-pingpong-uncounted (the
// same code, its SPSC and MPMC rings compiled with RINGDROP_BENCH_UNCOUNTED:
// no count kept), alternated round by round so that both see the same
// machine, then the ratio of their medians.
//
// What the count adds: MPMC, one relaxed store into the taken cell's header
// (a line the consumer has just written with its CAS); SPSC, a load and two
// stores on the consumer's own control line (+640) per record read.
#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <sched.h>
#include <unistd.h>
#include <vector>

#include "benches.hpp"

namespace pingpong {
namespace {

constexpr uint64_t kSize = 64;
constexpr int kRounds = 3;
constexpr size_t kValues = 4;
constexpr const char* kLabels[kValues] = {
    "spsc spin rtt 64 B, p50 (ns)", "mpmc spin rtt 64 B, p50 (ns)",
    "spsc spin 64 B, msgs/s", "mpmc 1->1 64 B, msgs/s"};

std::vector<double> measure_values(const Context& ctx) {
  const Topology one_to_one{1, 1, "1->1"};
  return {static_cast<double>(measure_ring_rtt<SpscRing>(ctx, spin_mode(), kSize).latency.p50),
          static_cast<double>(measure_ring_rtt<MpmcRing>(ctx, spin_mode(), kSize).latency.p50),
          measure_spsc_throughput(ctx, spin_mode(), kSize).msgs_per_s,
          measure_shared_throughput<MpmcRing>(ctx, one_to_one, kSize).msgs_per_s};
}

/// The uncounted binary's values: it prints them on one line.
std::vector<double> uncounted_values(const Context& ctx) {
  const std::string command =
      std::string(RINGDROP_PINGPONG_UNCOUNTED) + " --delivery-count-values" + (ctx.divisor > 1 ? " --quick" : "");
  // The child plans its own CPUs from the affinity it inherits: both of
  // ours, not the one this process is pinned to (two spinning processes on
  // one CPU take minutes a row). Pinned back once it is done.
  if (ctx.cpus.parent >= 0) {
    cpu_set_t both;
    CPU_ZERO(&both);
    CPU_SET(ctx.cpus.parent, &both);
    CPU_SET(ctx.cpus.child, &both);
    (void)::sched_setaffinity(0, sizeof both, &both);
  }
  FILE* out = ::popen(command.c_str(), "r");
  struct RePin {
    int cpu;
    ~RePin() { pin_to(cpu); }
  } repin{ctx.cpus.parent};
  if (out == nullptr) throw std::runtime_error("cannot run " + command);
  std::vector<double> values(kValues);
  int got = 0;
  for (double& v : values) got += std::fscanf(out, "%lf", &v);
  if (::pclose(out) != 0 || got != static_cast<int>(kValues)) {
    throw std::runtime_error(command + " failed");
  }
  return values;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int print_delivery_count_values(const Context& ctx) {
  for (double v : measure_values(ctx)) std::printf("%.1f ", v);
  std::printf("\n");
  return 0;
}

void run_delivery_count(const Context& ctx, Report& report) {
  if (::access(RINGDROP_PINGPONG_UNCOUNTED, X_OK) != 0) {
    report.note("delivery count: ringdrop-pingpong-uncounted not built, not measured");
    return;
  }
  std::vector<std::vector<double>> counted(kValues), uncounted(kValues);
  for (int round = 0; round < kRounds; ++round) {
    const auto mine = measure_values(ctx);
    const auto theirs = uncounted_values(ctx);
    for (size_t i = 0; i < kValues; ++i) {
      counted[i].push_back(mine[i]);
      uncounted[i].push_back(theirs[i]);
    }
  }
  report.note("delivery count (issue 13): the rings with their delivery count over the same");
  report.note("rings built without it (ringdrop-pingpong-uncounted), medians of 3 alternated");
  report.note("rounds; p50 ratio above 1 = slower, msgs/s ratio below 1 = slower:");
  for (size_t i = 0; i < kValues; ++i) {
    const double with = median(counted[i]);
    const double without = median(uncounted[i]);
    char text[160];
    std::snprintf(text, sizeof text, "  %-30s counted %12.0f  uncounted %12.0f  ratio %.3f", kLabels[i],
                  with, without, without > 0 ? with / without : 0.0);
    report.note(text);
  }
}

}  // namespace pingpong

// alt_idle.cpp — what a consumer burns while its producer is idle. The
// child opens an SPSC ring and calls read() with nothing there; the parent
// sends nothing for 1 s (0.2 s with --quick), then one 64 B message. The
// child's CPU time (CLOCK_PROCESS_CPUTIME_ID) from just before read() to
// just after it returns is the row, with the time it waited:
//   spsc block  the default strategy (spin_block, spin_for 50 us): it
//               should spin 50 us, then sleep on the futex until woken;
//   spsc spin   WaitMode::spin, for contrast: all of the wait;
//   futex timed the floor of "spsc block": a child that only sleeps on a
//               futex for as long, waking at each liveness interval (the
//               default, 50 ms) as the waiter does to check its peer. On a
//               VM each timed wake-up costs tens of microseconds of CPU
//               (the timer, two context switches), whatever the waiter does.
#include <thread>

#include "benches.hpp"

namespace pingpong {

namespace {

constexpr std::chrono::nanoseconds kIdle = 1s;
constexpr uint64_t kSize = 64;

/// How long a row stays idle: 1 s, a fifth of it with --quick.
std::chrono::nanoseconds idle_time(const Context& ctx) {
  return ctx.divisor > 1 ? kIdle / 5 : kIdle;
}

struct IdleReport {
  alignas(128) std::atomic<uint64_t> cpu_ns{0};
  std::atomic<uint64_t> waited_ns{0};
};

/// Child side: one read() that has to wait; how long, and at what CPU cost.
void wait_for_one(const RingNames& names, WaitStrategy wait, IdleReport& report) {
  auto ends = open_child_ends<SpscRing>(names, wait);
  send_ack(ends.tx, kAttached);
  const uint64_t cpu_start = process_cpu_ns();
  const auto start = Clock::now();
  const auto view = take(ends.rx.read(kTimeout), "idle read");
  const auto end = Clock::now();
  report.cpu_ns = process_cpu_ns() - cpu_start;
  report.waited_ns = ns_between(start, end);
  if (view.size() != kSize) throw BenchError("idle: a message of the wrong size");
  release_reads(ends.rx);
}

/// Child side of the floor: timed futex sleeps, one per liveness interval,
/// for `idle`; nobody wakes it. Shared (not private), as the ring's waits.
void sleep_between_liveness_checks(std::chrono::nanoseconds idle, IdleReport& report) {
  std::atomic<uint32_t> word{0};
  const auto interval = WaitStrategy{}.liveness_interval;
  const uint64_t cpu_start = process_cpu_ns();
  const auto start = Clock::now();
  while (Clock::now() - start < idle) futex_wait(word, 0, interval);
  report.cpu_ns = process_cpu_ns() - cpu_start;
  report.waited_ns = ns_between(start, Clock::now());
}

}  // namespace

Row measure_idle_floor(const Context& ctx) {
  SharedMemory<IdleReport> report;
  Child child(ctx.cpus.child, [&] { sleep_between_liveness_checks(idle_time(ctx), *report); });
  child.wait();
  return idle_row("futex", "timed", 0, report->waited_ns, report->cpu_ns);
}

Row measure_idle_cpu(const Context& ctx, const NamedMode& mode) {
  RingNames names(2);
  auto ends = create_parent_ends_with_acks<SpscRing>(names, 64 * KiB, kSize, mode.wait, 4096);
  SharedMemory<IdleReport> report;
  Child child(ctx.cpus.child, [&] { wait_for_one(names, mode.wait, *report); });
  await_attached(ends.rx, names, child);
  std::this_thread::sleep_for(idle_time(ctx));
  std::vector<std::byte> payload(kSize, std::byte{0x5a});
  write_message(ends.tx, 0, payload);
  check(ends.tx.commit(kSize), "commit");
  child.wait();
  return idle_row("spsc", mode.name, kSize, report->waited_ns, report->cpu_ns);
}

}  // namespace pingpong

// harness.hpp — what every measurement of ringdrop-pingpong stands on:
// errors, deadlines, CPUs, child processes, shared memory, and the timing
// loop with its percentiles.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "ringdrop/ringdrop.hpp"

namespace pingpong {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::chrono::nanoseconds kTimeout = 10s;  // every blocking step
constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t kFloorSize = 8;

// ================================================================ errors

struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Throws `what: ec.message() (last_error_detail())`.
[[noreturn]] void throw_ring_error(const char* what, std::error_code ec);
[[noreturn]] void throw_errno(const char* what);

inline void check(std::error_code ec, const char* what) {
  if (ec) throw_ring_error(what, ec);
}

template <class T>
T take(ringdrop::Result<T> result, const char* what) {
  if (!result) throw_ring_error(what, result.error());
  return std::move(*result);
}

// ================================================================ clock, spinning

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

inline uint64_t ns_between(Clock::time_point a, Clock::time_point b) noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

/// Nanoseconds on the monotonic clock, comparable across processes.
inline int64_t monotonic_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

/// A deadline that costs nothing until a wait turns out to be long: the first
/// check() starts the clock, later ones throw once kTimeout has passed.
class LazyDeadline {
 public:
  explicit LazyDeadline(const char* what) : what_(what) {}
  void check();

 private:
  static constexpr Clock::time_point kNotStarted = Clock::time_point::max();
  const char* what_;
  Clock::time_point deadline_ = kNotStarted;
};

// ================================================================ CPUs

/// The two CPUs the parent and the child run on; -1 when not pinning.
struct CpuPlan {
  int parent = -1;
  int child = -1;
};

CpuPlan plan_cpus();
void pin_to(int cpu) noexcept;

// ================================================================ processes

/// Runs `body` in a fork()ed child pinned to `cpu`. The child ends with
/// _exit: 0 if the body returned, 1 if it threw (after printing why). The
/// destructor kills and reaps a child that was not waited for.
class Child {
 public:
  template <class Body>
  Child(int cpu, Body&& body) {
    const pid_t parent = prepare_fork();
    if (pid_ == 0) ::_exit(run(parent, cpu, body));
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  /// Reaps the child (waiting at most kTimeout); throws if it failed.
  void wait();
  /// Throws if the child has already ended, however it ended.
  void throw_if_exited();
  /// True once the child has ended (and is reaped); throws if it failed.
  bool reaped();

 private:
  pid_t prepare_fork();  // forks; sets pid_; returns the parent's pid
  static void child_setup(pid_t parent, int cpu) noexcept;
  static void report_failure(const std::exception& e) noexcept;

  template <class Body>
  static int run(pid_t parent, int cpu, Body& body) noexcept {
    child_setup(parent, cpu);
    try {
      body();
      return 0;
    } catch (const std::exception& e) {
      report_failure(e);
      return 1;
    }
  }

  pid_t pid_ = 0;
};

/// Several children: spawned one by one, watched and reaped together.
class ChildGroup {
 public:
  template <class Body>
  void spawn(int cpu, Body&& body) {
    children_.push_back(std::make_unique<Child>(cpu, std::forward<Body>(body)));
  }
  /// Throws if any child failed (one that ended well is fine).
  void check() {
    for (auto& child : children_) (void)child->reaped();
  }
  /// Reaps every child; throws if one failed.
  void wait() {
    for (auto& child : children_) child->wait();
  }

 private:
  std::vector<std::unique_ptr<Child>> children_;
};

void* map_shared(size_t bytes);
void unmap_shared(void* p, size_t bytes) noexcept;

/// One T in anonymous shared memory, shared with children forked later.
template <class T>
class SharedMemory {
 public:
  SharedMemory() : object_(new (map_shared(sizeof(T))) T{}) {}
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory() {
    object_->~T();
    unmap_shared(object_, sizeof(T));
  }
  T& operator*() const noexcept { return *object_; }
  T* operator->() const noexcept { return object_; }

 private:
  T* object_;
};

// ================================================================ cross-process counters

/// Sleeps on `word` while it holds `value`, for at most `timeout`: returns
/// when woken, at once if the word no longer holds `value`, at the timeout,
/// or spuriously (callers re-check). A shared (not private) futex, as the
/// ring's waits: the word may be mapped by several processes.
void futex_wait(std::atomic<uint32_t>& word, uint32_t value, std::chrono::nanoseconds timeout);
/// Wakes up to `waiters` processes sleeping in futex_wait on `word`.
void futex_wake(std::atomic<uint32_t>& word, int waiters);

/// A counter in shared memory that processes bump and wait on (a futex
/// word): "n processes have reached this point".
struct alignas(128) Tally {
  std::atomic<uint32_t> count{0};
};

/// Adds one and wakes every waiter.
void arrive(Tally& tally);
/// Sleeps until the tally reaches `n`; throws after kTimeout. Calls `poll`
/// (which may throw) about every 10 ms while it waits.
template <class Poll>
void await(Tally& tally, uint32_t n, const char* what, Poll&& poll);
void await(Tally& tally, uint32_t n, const char* what);
/// Waits for the tally to reach `n`, sleeping in slices of at most 10 ms;
/// false if it did not get there within `slice`.
bool await_slice(Tally& tally, uint32_t n, std::chrono::nanoseconds slice);

template <class Poll>
void await(Tally& tally, uint32_t n, const char* what, Poll&& poll) {
  LazyDeadline deadline(what);
  while (!await_slice(tally, n, 10ms)) {
    poll();
    deadline.check();
  }
}

/// Arrives, then waits for `n` arrivals in all.
inline void barrier(Tally& tally, uint32_t n, const char* what) {
  arrive(tally);
  await(tally, n, what);
}

// ================================================================ timing

struct Percentiles {
  uint64_t p50 = 0;
  uint64_t p99 = 0;
  uint64_t p999 = 0;
};

/// Nearest-rank percentiles of `samples` (which it sorts).
Percentiles percentiles(std::vector<uint64_t>& samples);

struct Counts {
  uint64_t warmup;
  uint64_t iters;
};

/// CPU time of this process so far, every thread (CLOCK_PROCESS_CPUTIME_ID).
uint64_t process_cpu_ns() noexcept;

/// The timed round trips in ns, and the CPU time this process spent on
/// them (every thread, the warm-up excluded).
struct TimedRoundTrips {
  std::vector<uint64_t> samples;
  uint64_t cpu_ns = 0;
};

/// Calls round_trip(seq) for seq = 0, 1, ...: `warmup` times untimed, then
/// `iters` times with one timestamp after each.
template <class RoundTrip>
TimedRoundTrips time_round_trips(Counts counts, RoundTrip&& round_trip) {
  TimedRoundTrips run{std::vector<uint64_t>(counts.iters)};  // touched now, not while timing
  uint64_t seq = 0;
  for (; seq < counts.warmup; ++seq) round_trip(seq);
  const uint64_t cpu_start = process_cpu_ns();
  auto before = Clock::now();
  for (uint64_t i = 0; i < counts.iters; ++i, ++seq) {
    round_trip(seq);
    const auto after = Clock::now();
    run.samples[i] = ns_between(before, after);
    before = after;
  }
  run.cpu_ns = process_cpu_ns() - cpu_start;
  return run;
}

/// Like time_round_trips, but time-bounded: `limit.warmup` round trips
/// untimed, then up to `limit.iters` timed ones, stopping early once `budget`
/// has passed (the sample timestamps tell, at no extra cost) and at least
/// kMinSamples were taken. For mechanisms whose speed varies by 1000x.
constexpr uint64_t kMinSamples = 20;
template <class RoundTrip>
TimedRoundTrips time_round_trips_within(Counts limit, std::chrono::nanoseconds budget,
                                        RoundTrip&& round_trip) {
  TimedRoundTrips run{std::vector<uint64_t>(limit.iters)};  // touched now, not while timing
  uint64_t seq = 0;
  for (; seq < limit.warmup; ++seq) round_trip(seq);
  const uint64_t cpu_start = process_cpu_ns();
  auto before = Clock::now();
  const auto end = before + budget;
  uint64_t taken = 0;
  while (taken < limit.iters) {
    round_trip(seq++);
    const auto after = Clock::now();
    run.samples[taken++] = ns_between(before, after);
    before = after;
    if (after >= end && taken >= kMinSamples) break;
  }
  run.samples.resize(taken);
  run.cpu_ns = process_cpu_ns() - cpu_start;
  return run;
}

/// For each seq: prepare(seq) untimed, then timed(seq) between two
/// timestamps. `counts.warmup` rounds first, not sampled. Returns the timed
/// parts in ns.
template <class Prepare, class Timed>
std::vector<uint64_t> time_each(Counts counts, Prepare&& prepare, Timed&& timed) {
  std::vector<uint64_t> samples(counts.iters);
  for (uint64_t seq = 0; seq < counts.warmup + counts.iters; ++seq) {
    prepare(seq);
    const auto before = Clock::now();
    timed(seq);
    const auto after = Clock::now();
    if (seq >= counts.warmup) samples[seq - counts.warmup] = ns_between(before, after);
  }
  return samples;
}

/// Counts to every `messages` messages or `bytes` bytes, whichever comes first.
class Batch {
 public:
  Batch(uint64_t messages, uint64_t bytes) : max_messages_(messages), max_bytes_(bytes) {}
  /// Adds one message; true when the batch is full (and starts a new one).
  bool add(uint64_t size) noexcept {
    bytes_ += size;
    if (++messages_ < max_messages_ && bytes_ < max_bytes_) return false;
    messages_ = bytes_ = 0;
    return true;
  }

 private:
  uint64_t max_messages_, max_bytes_;
  uint64_t messages_ = 0, bytes_ = 0;
};

// ================================================================ CPU time

// process_cpu_ns(): CPU time of this process so far, every thread
// (CLOCK_PROCESS_CPUTIME_ID); declared above, before the timers.
/// CPU time of this process (getrusage RUSAGE_SELF) plus that of every
/// child it has reaped (RUSAGE_CHILDREN): the difference across a row is
/// what the row's processes burned, set-up and warm-up included.
uint64_t self_and_children_cpu_ns() noexcept;

/// A child's CPU time over the timed round trips, in shared memory.
struct alignas(128) ChildCpu {
  std::atomic<uint64_t> ns{0};
};

/// Runs `step(seq)` for every seq of `counts`, measuring this process's
/// CPU time from the first timed one on into `cpu`.
template <class Step>
void run_steps(Counts counts, ChildCpu& cpu, Step&& step) {
  uint64_t start = 0;
  for (uint64_t seq = 0; seq < counts.warmup + counts.iters; ++seq) {
    if (seq == counts.warmup) start = process_cpu_ns();
    step(seq);
  }
  cpu.ns = process_cpu_ns() - start;
}

// ================================================================ the run

struct Context {
  CpuPlan cpus;
  uint64_t divisor = 1;  // 10 with --quick

  uint64_t scaled(uint64_t iters) const { return std::max<uint64_t>(iters / divisor, 20); }
  std::chrono::nanoseconds scaled(std::chrono::nanoseconds d) const {
    return d / static_cast<int64_t>(divisor);
  }
};

struct NamedMode {
  const char* name;
  ringdrop::WaitStrategy wait;
};

inline ringdrop::WaitStrategy spin_wait() {
  return ringdrop::WaitStrategy{.mode = ringdrop::WaitMode::spin};
}
/// The default: spin_block, spin_for 50 us.
inline ringdrop::WaitStrategy block_wait() { return ringdrop::WaitStrategy{}; }
inline ringdrop::WaitStrategy sleep_wait() {
  return ringdrop::WaitStrategy{.mode = ringdrop::WaitMode::spin_block, .spin_for = 0ns};
}

inline NamedMode spin_mode() { return {"spin", spin_wait()}; }
inline NamedMode block_mode() { return {"block", block_wait()}; }
inline NamedMode sleep_mode() { return {"sleep", sleep_wait()}; }

}  // namespace pingpong

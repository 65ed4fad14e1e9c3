// ringdrop-pingpong — cross-process latency and throughput of the SPSC ring,
// measured side by side with the physical floors it cannot beat.
//
// Two processes (the parent and a fork()ed child), pinned to different cores
// when there are at least two. Every latency row runs through the same
// harness: warm-up round trips first, then one steady_clock timestamp per
// round trip, sorted into p50 / p99 / p99.9.
//
// Round-trip latency rows ("rtt"):
//   call   inproc  A non-inlined function call in one process. Not IPC: it is
//                  the cost of the harness itself (mostly the clock read).
//   atomic spin    The physical floor of busy-polling IPC: one std::atomic
//                  <uint64_t> in shared memory; the parent writes i, the child
//                  spins until it sees i and writes i+1, the parent spins until
//                  it sees i+1. One cache line bouncing between two cores.
//   futex  sleep   The physical floor of sleep-and-wake IPC: the same
//                  ping-pong on a 32-bit word, but each side sleeps in
//                  FUTEX_WAIT and the other wakes it with FUTEX_WAKE.
//   spsc   spin    ringdrop: a ping ring and a pong ring; the parent writes a
//                  message of `size` bytes into ping (reserve, memcpy, commit),
//                  the child copies it into pong (read, reserve, memcpy,
//                  commit, release), the parent copies the reply out (read,
//                  memcpy, release). Both sides WaitMode::spin.
//   spsc   block   The same with the default WaitStrategy (spin_block,
//                  spin_for 50 us): spins first, sleeps on a futex only when a
//                  wait lasts longer than that.
//   spsc   sleep   The same with spin_block and spin_for 0: every wait goes to
//                  the futex at once, so each message costs a sleep and a wake.
//                  Compare it with the "futex" row.
// The floors are measured at 8 bytes, the rings at 64 B, 4 KiB, 64 KiB and
// 1 MiB (so large rows include three memcpy's of the payload per round trip).
// A latency ring holds at least four messages (64 KiB at least) and the
// warm-up laps it once, so no first-touch page fault lands in a timed round
// trip. Every row includes one clock read per round trip: the "call" row is
// that cost. "p50/atomic" is a row's p50 over the atomic floor's p50;
// "p50/futex" is shown for the sleeping rows, over the futex floor's p50.
//
// One-way throughput rows ("throughput"), spin and block modes: the parent
// sends N messages of `size` bytes as fast as it can (reserve, memcpy, stage;
// publish every 32 messages or every capacity/4 bytes); the child reads each
// one, copies it out and releases in batches of the same size. The clock runs
// from the first message until the child acknowledges the last; a warm-up lap
// of the ring comes first. Rings: 4 MiB data, 16 MiB for 1 MiB messages.
//
// Targets:
//   - busy-spin 64 B round trip within 1.5x of the atomic floor (p50);
//   - 64 B one-way throughput of at least 30 M messages/s (spin);
//   - forced-sleep 64 B round trip within 1.1x of the futex floor (p50).
// They are reported at the end; this is a benchmark, not a test, so missing
// one does not change the exit status.
//
// Options:
//   --quick       10x fewer iterations (a smoke run for CI, a few seconds)
//   --json FILE   also write one JSON object per row (JSON lines):
//                 {"metric":"rtt"|"throughput", "mechanism", "mode", "size",
//                  "iters", "p50_ns", "p99_ns", "p999_ns", "msgs_per_s",
//                  "mb_per_s", "ratio_to_floor", "floor":"atomic"|"futex",
//                  "ratio_to_atomic"}, null where a field does not apply.
//                 ratio_to_floor is p50 over the row's own floor: the futex
//                 for sleeping rows, the atomic otherwise.
// Exit status: 0 on success, 1 on any error (a ringdrop error is printed with
// its message and last_error_detail()), 2 on a usage error. Every blocking
// step has a 10 s timeout; nothing waits forever. The shm names
// (ringdrop-pingpong-<pid>-<n>-ping/pong) are removed as soon as the child
// has opened them, so even a killed run leaves nothing in /dev/shm.
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ringdrop/ringdrop.hpp"

namespace {

using ringdrop::errc;
using ringdrop::OpenMode;
using ringdrop::SpscConsumer;
using ringdrop::SpscProducer;
using ringdrop::WaitMode;
using ringdrop::WaitStrategy;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::chrono::nanoseconds kTimeout = 10s;  // every blocking step
constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t kFloorSize = 8;
constexpr uint64_t kRingSizes[] = {64, 4 * KiB, 64 * KiB, 1 * MiB};
constexpr uint64_t kBatchMessages = 32;

// ================================================================ errors

struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_ring_error(const char* what, std::error_code ec) {
  std::string message = std::string(what) + ": " + ec.message();
  const std::string& detail = ringdrop::last_error_detail();
  if (!detail.empty()) message += " (" + detail + ")";
  throw BenchError(message);
}

void check(std::error_code ec, const char* what) {
  if (ec) throw_ring_error(what, ec);
}

template <class T>
T take(ringdrop::Result<T> result, const char* what) {
  if (!result) throw_ring_error(what, result.error());
  return std::move(*result);
}

[[noreturn]] void throw_errno(const char* what) {
  throw BenchError(std::string(what) + ": " + std::strerror(errno));
}

// ================================================================ CPU, clock, spinning

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

uint64_t ns_between(Clock::time_point a, Clock::time_point b) noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

// A deadline that costs nothing until a wait turns out to be long: the first
// check() starts the clock, later ones throw once kTimeout has passed.
class LazyDeadline {
 public:
  explicit LazyDeadline(const char* what) : what_(what) {}
  void check() {
    const auto now = Clock::now();
    if (deadline_ == kNotStarted) {
      deadline_ = now + kTimeout;
    } else if (now >= deadline_) {
      throw BenchError(std::string(what_) + ": timed out");
    }
  }

 private:
  static constexpr Clock::time_point kNotStarted = Clock::time_point::max();
  const char* what_;
  Clock::time_point deadline_ = kNotStarted;
};

/// The two CPUs the parent and the child run on; -1 when not pinning.
struct CpuPlan {
  int parent = -1;
  int child = -1;
};

CpuPlan plan_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return {};
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  if (cpus.size() < 2) return {};
  return {cpus[0], cpus[1]};
}

void pin_to(int cpu) noexcept {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)sched_setaffinity(0, sizeof set, &set);  // best effort
}

// ================================================================ processes

/// Runs `body` in a fork()ed child pinned to `cpu`. The child ends with
/// _exit: 0 if the body returned, 1 if it threw (after printing why). The
/// destructor kills and reaps a child that was not waited for.
class Child {
 public:
  template <class Body>
  Child(int cpu, Body&& body) {
    std::fflush(nullptr);  // nothing buffered is written twice
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw_errno("fork");
    if (pid_ == 0) ::_exit(run(parent, cpu, body));
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }

  /// Reaps the child (waiting at most kTimeout); throws if it failed.
  void wait() {
    const auto deadline = Clock::now() + kTimeout;
    while (!reaped()) {
      if (Clock::now() >= deadline) throw BenchError("child did not exit in time");
      std::this_thread::sleep_for(1ms);
    }
  }

  /// Throws if the child has already ended, however it ended.
  void throw_if_exited() {
    if (reaped()) throw BenchError("child exited early");
  }

 private:
  // True once the child has ended (and is reaped); throws if it failed.
  bool reaped() {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == 0 || (done < 0 && errno == EINTR)) return false;
    if (done < 0) throw_errno("waitpid");
    pid_ = 0;
    if (WIFSIGNALED(status)) {
      throw BenchError("child killed by signal " + std::to_string(WTERMSIG(status)));
    }
    if (WEXITSTATUS(status) != 0) throw BenchError("child failed");
    return true;
  }

  template <class Body>
  static int run(pid_t parent, int cpu, Body& body) noexcept {
    (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
    if (::getppid() != parent) return 1;
    pin_to(cpu);
    try {
      body();
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ringdrop-pingpong (child): %s\n", e.what());
      return 1;
    }
  }

  pid_t pid_ = 0;
};

/// One T in anonymous shared memory, shared with children forked later.
template <class T>
class SharedMemory {
 public:
  SharedMemory() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap");
    object_ = new (p) T{};
  }
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory() {
    object_->~T();
    ::munmap(object_, sizeof(T));
  }
  T& operator*() const noexcept { return *object_; }

 private:
  T* object_ = nullptr;
};

// ================================================================ measurement harness

struct Percentiles {
  uint64_t p50 = 0;
  uint64_t p99 = 0;
  uint64_t p999 = 0;
};

/// Nearest-rank percentiles of `samples` (which it sorts).
Percentiles percentiles(std::vector<uint64_t>& samples) {
  if (samples.empty()) return {};
  std::sort(samples.begin(), samples.end());
  const auto rank = [&](double q) {
    const auto index = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return samples[std::clamp<size_t>(index, 1, samples.size()) - 1];
  };
  return {rank(0.50), rank(0.99), rank(0.999)};
}

struct Counts {
  uint64_t warmup;
  uint64_t iters;
};

/// Calls round_trip(seq) for seq = 0, 1, ...: `warmup` times untimed, then
/// `iters` times with one timestamp after each. Returns the round trips in ns.
template <class RoundTrip>
std::vector<uint64_t> time_round_trips(Counts counts, RoundTrip&& round_trip) {
  std::vector<uint64_t> samples(counts.iters);  // touched now, not while timing
  uint64_t seq = 0;
  for (; seq < counts.warmup; ++seq) round_trip(seq);
  auto before = Clock::now();
  for (uint64_t i = 0; i < counts.iters; ++i, ++seq) {
    round_trip(seq);
    const auto after = Clock::now();
    samples[i] = ns_between(before, after);
    before = after;
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

// ================================================================ report

enum class Metric { rtt, throughput };

struct Row {
  Metric metric = Metric::rtt;
  const char* mechanism = "";
  const char* mode = "";
  uint64_t size = 0;
  uint64_t iters = 0;
  Percentiles latency;       // rtt rows
  double msgs_per_s = 0;     // throughput rows
  std::optional<double> ratio_atomic;
  std::optional<double> ratio_futex;
};

std::string format_size(uint64_t bytes) {
  if (bytes >= MiB && bytes % MiB == 0) return std::to_string(bytes / MiB) + " MiB";
  if (bytes >= KiB && bytes % KiB == 0) return std::to_string(bytes / KiB) + " KiB";
  return std::to_string(bytes) + " B";
}

std::string format_ratio(const std::optional<double>& ratio) {
  if (!ratio) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", *ratio);
  return buf;
}

std::string json_real(const std::optional<double>& value) {
  if (!value) return "null";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f", *value);
  return buf;
}

std::string json_integer(const std::optional<uint64_t>& value) {
  return value ? std::to_string(*value) : "null";
}

/// Prints each row as it comes, writes it as a JSON line when asked, and
/// knows the floors, so it can relate every row to them.
class Report {
 public:
  explicit Report(const char* json_path) {
    if (json_path == nullptr) return;
    json_.reset(std::fopen(json_path, "w"));
    if (!json_) throw_errno(json_path);
  }

  void begin_rtt_section() const {
    std::printf("\nround-trip latency (ns)\n");
    std::printf("%-9s %-6s %7s %9s %9s %9s %9s %10s %9s\n", "mechanism", "mode", "size", "iters",
                "p50", "p99", "p99.9", "p50/atomic", "p50/futex");
  }
  void begin_throughput_section() const {
    std::printf("\none-way throughput\n");
    std::printf("%-9s %-6s %7s %9s %14s %10s\n", "mechanism", "mode", "size", "iters", "msgs/s",
                "MB/s");
  }

  void add(const Row& row) {
    rows_.push_back(row);  // first, so a floor relates to itself (1.00x)
    Row& added = rows_.back();
    if (added.metric == Metric::rtt) relate_to_floors(added);
    print(added);
    write_json(added);
  }

  void print_targets() const {
    std::printf("\ntargets\n");
    const Row* spin = find(Metric::rtt, "spsc", "spin", 64);
    const Row* sleep = find(Metric::rtt, "spsc", "sleep", 64);
    const Row* rate = find(Metric::throughput, "spsc", "spin", 64);
    if (spin && spin->ratio_atomic) {
      target_line("busy-spin 64 B round trip <= 1.5x atomic floor",
                  format_ratio(spin->ratio_atomic),
                  *spin->ratio_atomic <= 1.5);
    }
    if (rate) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f M/s", rate->msgs_per_s / 1e6);
      target_line("64 B one-way throughput >= 30 M msgs/s", buf, rate->msgs_per_s >= 30e6);
    }
    if (sleep && sleep->ratio_futex) {
      target_line("forced-sleep 64 B round trip <= 1.1x futex floor",
                  format_ratio(sleep->ratio_futex), *sleep->ratio_futex <= 1.1);
    }
  }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };

  const Row* find(Metric metric, const char* mechanism, const char* mode, uint64_t size) const {
    for (const Row& r : rows_) {
      if (r.metric == metric && std::strcmp(r.mechanism, mechanism) == 0 &&
          std::strcmp(r.mode, mode) == 0 && r.size == size) {
        return &r;
      }
    }
    return nullptr;
  }

  void relate_to_floors(Row& row) const {
    const Row* atomic = find(Metric::rtt, "atomic", "spin", kFloorSize);
    const Row* futex = find(Metric::rtt, "futex", "sleep", kFloorSize);
    const auto p50 = static_cast<double>(row.latency.p50);
    if (atomic && atomic->latency.p50 > 0) {
      row.ratio_atomic = p50 / static_cast<double>(atomic->latency.p50);
    }
    if (futex && futex->latency.p50 > 0 && std::strcmp(row.mode, "sleep") == 0) {
      row.ratio_futex = p50 / static_cast<double>(futex->latency.p50);
    }
  }

  static void print(const Row& r) {
    const std::string size = format_size(r.size);
    if (r.metric == Metric::rtt) {
      std::printf("%-9s %-6s %7s %9llu %9llu %9llu %9llu %10s %9s\n", r.mechanism, r.mode,
                  size.c_str(), static_cast<unsigned long long>(r.iters),
                  static_cast<unsigned long long>(r.latency.p50),
                  static_cast<unsigned long long>(r.latency.p99),
                  static_cast<unsigned long long>(r.latency.p999),
                  format_ratio(r.ratio_atomic).c_str(), format_ratio(r.ratio_futex).c_str());
    } else {
      std::printf("%-9s %-6s %7s %9llu %14.0f %10.1f\n", r.mechanism, r.mode, size.c_str(),
                  static_cast<unsigned long long>(r.iters), r.msgs_per_s,
                  r.msgs_per_s * static_cast<double>(r.size) / 1e6);
    }
    std::fflush(stdout);
  }

  // The floor a row is judged against: the futex for sleeping rows, the
  // atomic otherwise.
  static std::optional<double> ratio_to_floor(const Row& r) {
    return r.ratio_futex ? r.ratio_futex : r.ratio_atomic;
  }

  void write_json(const Row& r) const {
    if (!json_) return;
    const bool rtt = r.metric == Metric::rtt;
    const auto lat = [&](uint64_t v) { return rtt ? std::optional<uint64_t>(v) : std::nullopt; };
    const auto rate = rtt ? std::nullopt : std::optional<double>(r.msgs_per_s);
    const auto mbps = rtt ? std::nullopt
                          : std::optional<double>(r.msgs_per_s * static_cast<double>(r.size) / 1e6);
    std::fprintf(json_.get(),
                 "{\"metric\":\"%s\",\"mechanism\":\"%s\",\"mode\":\"%s\",\"size\":%llu,"
                 "\"iters\":%llu,\"p50_ns\":%s,\"p99_ns\":%s,\"p999_ns\":%s,"
                 "\"msgs_per_s\":%s,\"mb_per_s\":%s,\"ratio_to_floor\":%s,\"floor\":%s,"
                 "\"ratio_to_atomic\":%s}\n",
                 rtt ? "rtt" : "throughput", r.mechanism, r.mode,
                 static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.iters),
                 json_integer(lat(r.latency.p50)).c_str(), json_integer(lat(r.latency.p99)).c_str(),
                 json_integer(lat(r.latency.p999)).c_str(), json_real(rate).c_str(),
                 json_real(mbps).c_str(), json_real(ratio_to_floor(r)).c_str(),
                 r.ratio_futex ? "\"futex\"" : (r.ratio_atomic ? "\"atomic\"" : "null"),
                 json_real(r.ratio_atomic).c_str());
    std::fflush(json_.get());
  }

  static void target_line(const char* what, const std::string& value, bool met) {
    std::printf("  %-50s %10s  %s\n", what, value.c_str(), met ? "met" : "MISSED");
  }

  std::unique_ptr<std::FILE, FileCloser> json_;
  std::vector<Row> rows_;
};

Row rtt_row(const char* mechanism, const char* mode, uint64_t size, std::vector<uint64_t> samples) {
  Row row;
  row.metric = Metric::rtt;
  row.mechanism = mechanism;
  row.mode = mode;
  row.size = size;
  row.iters = samples.size();
  row.latency = percentiles(samples);
  return row;
}

// ================================================================ what is measured, and how often

struct Context {
  CpuPlan cpus;
  uint64_t divisor = 1;  // 10 with --quick

  uint64_t scaled(uint64_t iters) const { return std::max<uint64_t>(iters / divisor, 20); }
};

// Iteration counts are chosen so that the whole run takes 30-40 s on a 2-core
// VM (a sleep-and-wake round trip costs ~60 us there, a 1 MiB one ~300 us)
// and well under a minute on a slower one; every row has at least 3000
// samples, so p99.9 rests on at least 3 of them.
constexpr uint64_t kCallIters = 2'000'000;
constexpr uint64_t kAtomicIters = 2'000'000;
constexpr uint64_t kFutexIters = 50'000;

/// Round trips per ring row.
uint64_t rtt_iters(const char* mode, uint64_t size) {
  const bool sleeps = std::strcmp(mode, "sleep") == 0;
  if (size <= 64) return sleeps ? 50'000 : 1'000'000;
  if (size <= 4 * KiB) return sleeps ? 50'000 : 500'000;
  if (size <= 64 * KiB) return sleeps ? 20'000 : 100'000;
  return sleeps ? 3'000 : 6'000;
}

/// Messages per throughput row: 100 M of 64 B, 8 GiB of the larger sizes.
uint64_t throughput_messages(uint64_t size) {
  return size <= 64 ? 100'000'000 : (8192 * MiB) / size;
}

/// The ring's footprint of one message: 8-byte header, payload padded to 8.
uint64_t record_bytes(uint64_t size) { return 8 + ((size + 7) & ~uint64_t{7}); }

/// Latency rings hold a few messages (at least 64 KiB), so the warm-up can
/// lap them once and no page fault lands in the timed part.
uint64_t rtt_capacity(uint64_t size) {
  return std::max<uint64_t>(64 * KiB, std::bit_ceil(4 * record_bytes(size)));
}

uint64_t throughput_capacity(uint64_t size) { return size >= MiB ? 16 * MiB : 4 * MiB; }

/// Warm-up messages: a tenth of the timed ones, and at least one lap of the ring.
uint64_t warmup_for(uint64_t iters, uint64_t capacity, uint64_t size) {
  return std::max(iters / 10, capacity / record_bytes(size) + 16);
}

struct NamedMode {
  const char* name;
  WaitStrategy wait;
};

WaitStrategy spin_wait() { return WaitStrategy{.mode = WaitMode::spin}; }
WaitStrategy block_wait() { return WaitStrategy{}; }  // spin_block, spin_for 50 us
WaitStrategy sleep_wait() { return WaitStrategy{.mode = WaitMode::spin_block, .spin_for = 0ns}; }

// ================================================================ floors

/// A non-inlined function the optimiser must call and cannot see through.
__attribute__((noinline)) uint64_t next_of(uint64_t x) {
  __asm__ __volatile__("" : "+r"(x));
  return x + 1;
}

Row measure_call(const Context& ctx) {
  const uint64_t iters = ctx.scaled(kCallIters);
  auto samples = time_round_trips({iters / 10, iters}, [](uint64_t seq) {
    if (next_of(seq) != seq + 1) throw BenchError("call: wrong result");
  });
  return rtt_row("call", "inproc", kFloorSize, std::move(samples));
}

struct alignas(128) SharedCounter {
  std::atomic<uint64_t> value{0};
};

void spin_until_equal(const std::atomic<uint64_t>& word, uint64_t value) {
  LazyDeadline deadline("atomic floor");
  for (uint32_t i = 1; word.load(std::memory_order_acquire) != value; ++i) {
    cpu_relax();
    if (i % 4096 == 0) deadline.check();
  }
}

Row measure_atomic_floor(const Context& ctx) {
  SharedMemory<SharedCounter> shared;
  std::atomic<uint64_t>& word = (*shared).value;
  const uint64_t iters = ctx.scaled(kAtomicIters);
  const Counts counts{iters / 10, iters};
  Child child(ctx.cpus.child, [&] {
    for (uint64_t seq = 0; seq < counts.warmup + counts.iters; ++seq) {
      spin_until_equal(word, 2 * seq + 1);
      word.store(2 * seq + 2, std::memory_order_release);
    }
  });
  auto samples = time_round_trips(counts, [&](uint64_t seq) {
    word.store(2 * seq + 1, std::memory_order_release);
    spin_until_equal(word, 2 * seq + 2);
  });
  child.wait();
  return rtt_row("atomic", "spin", kFloorSize, std::move(samples));
}

struct alignas(128) SharedFutex {
  std::atomic<uint32_t> word{0};
};

uint32_t* futex_addr(std::atomic<uint32_t>& word) noexcept {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  return reinterpret_cast<uint32_t*>(&word);
}

/// Sleeps until `word` no longer holds `value`. A shared (not private)
/// futex: the word is mapped by two processes.
void futex_wait_while(std::atomic<uint32_t>& word, uint32_t value) {
  LazyDeadline deadline("futex floor");
  while (word.load(std::memory_order_acquire) == value) {
    timespec slice{0, 100'000'000};
    ::syscall(SYS_futex, futex_addr(word), FUTEX_WAIT, value, &slice, nullptr, 0);
    if (word.load(std::memory_order_acquire) == value) deadline.check();
  }
}

void futex_store_and_wake(std::atomic<uint32_t>& word, uint32_t value) {
  word.store(value, std::memory_order_release);
  ::syscall(SYS_futex, futex_addr(word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

Row measure_futex_floor(const Context& ctx) {
  SharedMemory<SharedFutex> shared;
  std::atomic<uint32_t>& word = (*shared).word;
  const uint64_t iters = ctx.scaled(kFutexIters);
  const Counts counts{iters / 10, iters};
  Child child(ctx.cpus.child, [&] {
    for (uint64_t seq = 0; seq < counts.warmup + counts.iters; ++seq) {
      futex_wait_while(word, static_cast<uint32_t>(2 * seq));
      futex_store_and_wake(word, static_cast<uint32_t>(2 * seq + 2));
    }
  });
  auto samples = time_round_trips(counts, [&](uint64_t seq) {
    const auto ping = static_cast<uint32_t>(2 * seq + 1);
    futex_store_and_wake(word, ping);
    futex_wait_while(word, ping);
    if (word.load(std::memory_order_acquire) != ping + 1) {
      throw BenchError("futex floor: the child skipped a step");
    }
  });
  child.wait();
  return rtt_row("futex", "sleep", kFloorSize, std::move(samples));
}

// ================================================================ ringdrop plumbing

/// Two fresh shm names for one measurement. remove() drops them as soon as
/// both processes have the rings mapped (so an interrupted run leaves
/// nothing in /dev/shm); the destructor drops them on an early error.
class RingNames {
 public:
  RingNames() : ping_(make("ping")), pong_(make("pong")) { ++next_; }
  RingNames(const RingNames&) = delete;
  RingNames& operator=(const RingNames&) = delete;
  ~RingNames() {
    if (!removed_) remove();
  }
  const ringdrop::Location& ping() const noexcept { return ping_; }
  const ringdrop::Location& pong() const noexcept { return pong_; }

  void remove() noexcept {
    (void)ringdrop::Segment::remove(ping_);
    (void)ringdrop::Segment::remove(pong_);
    removed_ = true;
  }

 private:
  static ringdrop::Location make(const char* which) {
    return ringdrop::Location::shm("ringdrop-pingpong-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(next_) + "-" + which);
  }
  static inline unsigned next_ = 0;
  ringdrop::Location ping_;
  ringdrop::Location pong_;
  bool removed_ = false;
};

/// One side's handles: it writes to `tx` and reads from `rx`.
struct Ends {
  SpscProducer tx;
  SpscConsumer rx;
};

ringdrop::RingOptions ring_options(uint64_t capacity, WaitStrategy wait) {
  ringdrop::RingOptions options;
  options.capacity = capacity;
  options.wait = wait;
  return options;
}

/// The parent creates both rings: it sends on ping and receives on pong.
Ends create_parent_ends(const RingNames& names, uint64_t ping_capacity, uint64_t pong_capacity,
                        WaitStrategy wait) {
  return Ends{take(SpscProducer::open(names.ping(), OpenMode::create,
                                      ring_options(ping_capacity, wait)),
                   "create ping ring"),
              take(SpscConsumer::open(names.pong(), OpenMode::create,
                                      ring_options(pong_capacity, wait)),
                   "create pong ring")};
}

/// The child opens them the other way round.
Ends open_child_ends(const RingNames& names, WaitStrategy wait) {
  return Ends{take(SpscProducer::open(names.pong(), OpenMode::open, ring_options(0, wait)),
                   "open pong ring"),
              take(SpscConsumer::open(names.ping(), OpenMode::open, ring_options(0, wait)),
                   "open ping ring")};
}

/// A reservation without reading the clock when there is room at once.
std::span<std::byte> reserve_or_wait(SpscProducer& tx, size_t size) {
  auto span = tx.try_reserve(size);
  if (!span && span.error() == errc::would_block) span = tx.reserve(size, kTimeout);
  return take(std::move(span), "reserve");
}

/// The next message, without reading the clock when one is there. Before it
/// blocks it releases everything read so far (the producer may be waiting
/// for that room), so views from earlier reads must no longer be in use.
std::span<const std::byte> read_or_wait(SpscConsumer& rx) {
  auto view = rx.try_read();
  if (!view && view.error() == errc::would_block) {
    rx.release();
    view = rx.read(kTimeout);
  }
  return take(std::move(view), "read");
}

/// Reserves room and copies `payload` in, with `seq` in its first 8 bytes.
/// The caller then commits (or stages) it.
void write_message(SpscProducer& tx, uint64_t seq, std::span<std::byte> payload) {
  std::memcpy(payload.data(), &seq, sizeof seq);
  auto span = reserve_or_wait(tx, payload.size());
  std::memcpy(span.data(), payload.data(), payload.size());
}

/// Reads the next message, copies it into `sink` and returns its seq. Does
/// not release.
uint64_t copy_out_message(SpscConsumer& rx, std::span<std::byte> sink) {
  const auto view = read_or_wait(rx);
  if (view.size() != sink.size()) throw BenchError("received a message of the wrong size");
  std::memcpy(sink.data(), view.data(), view.size());
  uint64_t seq = 0;
  std::memcpy(&seq, sink.data(), sizeof seq);
  return seq;
}

// Acknowledgements the child sends on its tx ring (8-byte messages).
constexpr uint64_t kAttached = 0;  // it has opened both rings
constexpr uint64_t kWarm = 1;      // it has received the warm-up messages
constexpr uint64_t kDone = 2;      // it has received the timed messages

void send_ack(SpscProducer& tx, uint64_t value) {
  std::byte ack[sizeof value];
  write_message(tx, value, ack);  // the value is the message
  check(tx.commit(sizeof ack), "commit");
}

void check_ack(std::span<const std::byte> view, uint64_t value) {
  uint64_t got = ~value;
  if (view.size() == sizeof got) std::memcpy(&got, view.data(), sizeof got);
  if (got != value) throw BenchError("unexpected acknowledgement");
}

void expect_ack(SpscConsumer& rx, uint64_t value) {
  check_ack(read_or_wait(rx), value);
  rx.release();
}

/// Waits for the child's kAttached, polling so that a child that dies before
/// it attaches is reported at once rather than after kTimeout. Then drops
/// the names: both processes have the rings mapped.
void await_attached(Ends& ends, RingNames& names, Child& child) {
  LazyDeadline deadline("waiting for the child to attach");
  for (;;) {
    auto view = ends.rx.read(100ms);
    if (view) {
      check_ack(*view, kAttached);
      break;
    }
    if (view.error() != errc::timed_out) throw_ring_error("wait for the child", view.error());
    child.throw_if_exited();
    deadline.check();
  }
  ends.rx.release();
  names.remove();
}

// ================================================================ ring latency

/// Child side: echoes `count` messages from ping back on pong.
void echo_messages(const RingNames& names, WaitStrategy wait, uint64_t count) {
  Ends ends = open_child_ends(names, wait);
  send_ack(ends.tx, kAttached);
  for (uint64_t i = 0; i < count; ++i) {
    const auto view = read_or_wait(ends.rx);
    auto span = reserve_or_wait(ends.tx, view.size());
    std::memcpy(span.data(), view.data(), view.size());
    check(ends.tx.commit(view.size()), "commit");
    ends.rx.release();
  }
}

Row measure_ring_rtt(const Context& ctx, const NamedMode& mode, uint64_t size) {
  const uint64_t capacity = rtt_capacity(size);
  const uint64_t iters = ctx.scaled(rtt_iters(mode.name, size));
  const Counts counts{warmup_for(iters, capacity, size), iters};
  RingNames names;
  Ends ends = create_parent_ends(names, capacity, capacity, mode.wait);
  Child child(ctx.cpus.child,
              [&] { echo_messages(names, mode.wait, counts.warmup + counts.iters); });
  await_attached(ends, names, child);
  std::vector<std::byte> out(size, std::byte{0x5a});
  std::vector<std::byte> in(size);
  auto samples = time_round_trips(counts, [&](uint64_t seq) {
    write_message(ends.tx, seq, out);
    check(ends.tx.commit(size), "commit");
    if (copy_out_message(ends.rx, in) != seq) throw BenchError("echo out of order");
    ends.rx.release();
  });
  child.wait();
  return rtt_row("spsc", mode.name, size, std::move(samples));
}

// ================================================================ ring throughput

constexpr uint64_t kAckCapacity = 4096;

/// Sends messages first_seq .. first_seq+count-1, publishing in batches.
void produce(SpscProducer& tx, uint64_t first_seq, uint64_t count, std::span<std::byte> payload,
             uint64_t batch_bytes) {
  Batch batch(kBatchMessages, batch_bytes);
  for (uint64_t seq = first_seq; seq < first_seq + count; ++seq) {
    write_message(tx, seq, payload);
    check(tx.stage(payload.size()), "stage");
    if (batch.add(payload.size())) tx.publish();
  }
  tx.publish();
}

/// Receives `count` messages, checking they arrive in order, releasing in batches.
void consume(SpscConsumer& rx, uint64_t first_seq, uint64_t count, std::span<std::byte> sink,
             uint64_t batch_bytes) {
  Batch batch(kBatchMessages, batch_bytes);
  for (uint64_t seq = first_seq; seq < first_seq + count; ++seq) {
    if (copy_out_message(rx, sink) != seq) throw BenchError("message out of order");
    if (batch.add(sink.size())) rx.release();
  }
  rx.release();
}

/// Child side: consumes the warm-up and the timed messages, acknowledging each phase.
void consume_and_ack(const RingNames& names, WaitStrategy wait, uint64_t size, Counts counts,
                     uint64_t batch_bytes) {
  Ends ends = open_child_ends(names, wait);
  send_ack(ends.tx, kAttached);
  std::vector<std::byte> sink(size);
  consume(ends.rx, 0, counts.warmup, sink, batch_bytes);
  send_ack(ends.tx, kWarm);
  consume(ends.rx, counts.warmup, counts.iters, sink, batch_bytes);
  send_ack(ends.tx, kDone);
}

Row measure_ring_throughput(const Context& ctx, const NamedMode& mode, uint64_t size) {
  const uint64_t capacity = throughput_capacity(size);
  const uint64_t batch_bytes = capacity / 4;
  const Counts counts{capacity / record_bytes(size) + 16, ctx.scaled(throughput_messages(size))};
  RingNames names;
  Ends ends = create_parent_ends(names, capacity, kAckCapacity, mode.wait);
  Child child(ctx.cpus.child,
              [&] { consume_and_ack(names, mode.wait, size, counts, batch_bytes); });
  await_attached(ends, names, child);
  std::vector<std::byte> payload(size, std::byte{0x5a});
  produce(ends.tx, 0, counts.warmup, payload, batch_bytes);
  expect_ack(ends.rx, kWarm);
  const auto start = Clock::now();
  produce(ends.tx, counts.warmup, counts.iters, payload, batch_bytes);
  expect_ack(ends.rx, kDone);
  const double seconds = static_cast<double>(ns_between(start, Clock::now())) / 1e9;
  child.wait();
  Row row;
  row.metric = Metric::throughput;
  row.mechanism = "spsc";
  row.mode = mode.name;
  row.size = size;
  row.iters = counts.iters;
  row.msgs_per_s = static_cast<double>(counts.iters) / seconds;
  return row;
}

// ================================================================ the run

void run_latency(const Context& ctx, Report& report) {
  report.begin_rtt_section();
  report.add(measure_call(ctx));
  report.add(measure_atomic_floor(ctx));
  report.add(measure_futex_floor(ctx));
  for (const NamedMode& mode : {NamedMode{"spin", spin_wait()}, NamedMode{"block", block_wait()},
                                NamedMode{"sleep", sleep_wait()}}) {
    for (uint64_t size : kRingSizes) report.add(measure_ring_rtt(ctx, mode, size));
  }
}

void run_throughput(const Context& ctx, Report& report) {
  report.begin_throughput_section();
  for (const NamedMode& mode : {NamedMode{"spin", spin_wait()}, NamedMode{"block", block_wait()}}) {
    for (uint64_t size : kRingSizes) report.add(measure_ring_throughput(ctx, mode, size));
  }
}

struct Options {
  bool quick = false;
  const char* json_path = nullptr;
};

constexpr const char* kUsage =
    "usage: ringdrop-pingpong [--quick] [--json FILE]\n"
    "  --quick      10x fewer iterations (smoke run)\n"
    "  --json FILE  also write one JSON object per row to FILE\n";

std::optional<Options> parse_args(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--json" && i + 1 < argc) {
      options.json_path = argv[++i];
    } else {
      return std::nullopt;
    }
  }
  return options;
}

void print_setup(const Context& ctx) {
  std::printf("ringdrop-pingpong %s: ", ctx.divisor > 1 ? "(quick)" : "(full)");
  if (ctx.cpus.parent >= 0) {
    std::printf("parent on cpu %d, child on cpu %d\n", ctx.cpus.parent, ctx.cpus.child);
  } else {
    std::printf("fewer than 2 CPUs, not pinned\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse_args(argc, argv);
  if (!options) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  try {
    const auto start = Clock::now();
    Context ctx;
    ctx.cpus = plan_cpus();
    ctx.divisor = options->quick ? 10 : 1;
    pin_to(ctx.cpus.parent);
    Report report(options->json_path);
    print_setup(ctx);
    run_latency(ctx, report);
    run_throughput(ctx, report);
    report.print_targets();
    const double seconds = static_cast<double>(ns_between(start, Clock::now())) / 1e9;
    std::printf("\ntotal time %.1f s\n", seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "ringdrop-pingpong: %s\n", e.what());
    return 1;
  }
}

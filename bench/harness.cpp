// harness.cpp — the non-template parts of harness.hpp.
#include "harness.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

namespace pingpong {

// ================================================================ errors

void throw_ring_error(const char* what, std::error_code ec) {
  std::string message = std::string(what) + ": " + ec.message();
  const std::string& detail = ringdrop::last_error_detail();
  if (!detail.empty()) message += " (" + detail + ")";
  throw BenchError(message);
}

void throw_errno(const char* what) {
  throw BenchError(std::string(what) + ": " + std::strerror(errno));
}

void LazyDeadline::check() {
  const auto now = Clock::now();
  if (deadline_ == kNotStarted) {
    deadline_ = now + kTimeout;
  } else if (now >= deadline_) {
    throw BenchError(std::string(what_) + ": timed out");
  }
}

// ================================================================ CPUs

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

pid_t Child::prepare_fork() {
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  return parent;
}

void Child::child_setup(pid_t parent, int cpu) noexcept {
  (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
  if (::getppid() != parent) ::_exit(1);     // it died before prctl
  pin_to(cpu);
}

void Child::report_failure(const std::exception& e) noexcept {
  std::fprintf(stderr, "ringdrop-pingpong (child %d): %s\n", static_cast<int>(::getpid()),
               e.what());
}

Child::~Child() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

void Child::wait() {
  const auto deadline = Clock::now() + kTimeout;
  while (!reaped()) {
    if (Clock::now() >= deadline) throw BenchError("child did not exit in time");
    std::this_thread::sleep_for(1ms);
  }
}

void Child::throw_if_exited() {
  if (reaped()) throw BenchError("child exited early");
}

bool Child::reaped() {
  if (pid_ == 0) return true;
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

void* map_shared(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw_errno("mmap");
  return p;
}

void unmap_shared(void* p, size_t bytes) noexcept { ::munmap(p, bytes); }

// ================================================================ cross-process counters

void futex_wait(std::atomic<uint32_t>& word, uint32_t value, std::chrono::nanoseconds timeout) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  const timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000),
                    static_cast<long>(timeout.count() % 1'000'000'000)};
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, value, &ts, nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>& word, int waiters) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, waiters, nullptr, nullptr,
            0);
}

void arrive(Tally& tally) {
  tally.count.fetch_add(1, std::memory_order_acq_rel);
  futex_wake(tally.count, INT_MAX);
}

bool await_slice(Tally& tally, uint32_t n, std::chrono::nanoseconds slice) {
  const uint32_t seen = tally.count.load(std::memory_order_acquire);
  if (seen >= n) return true;
  futex_wait(tally.count, seen, std::min<std::chrono::nanoseconds>(slice, 10ms));
  return tally.count.load(std::memory_order_acquire) >= n;
}

void await(Tally& tally, uint32_t n, const char* what) {
  await(tally, n, what, [] {});
}

// ================================================================ timing

Percentiles percentiles(std::vector<uint64_t>& samples) {
  if (samples.empty()) return {};
  std::sort(samples.begin(), samples.end());
  const auto rank = [&](double q) {
    const auto index = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return samples[std::clamp<size_t>(index, 1, samples.size()) - 1];
  };
  return {rank(0.50), rank(0.99), rank(0.999)};
}

// ================================================================ CPU time

namespace {
uint64_t timeval_ns(const timeval& tv) noexcept {
  return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(tv.tv_usec) * 1000;
}
uint64_t rusage_cpu_ns(int who) noexcept {
  rusage usage{};
  if (::getrusage(who, &usage) != 0) return 0;
  return timeval_ns(usage.ru_utime) + timeval_ns(usage.ru_stime);
}
}  // namespace

uint64_t process_cpu_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t self_and_children_cpu_ns() noexcept {
  return rusage_cpu_ns(RUSAGE_SELF) + rusage_cpu_ns(RUSAGE_CHILDREN);
}

}  // namespace pingpong

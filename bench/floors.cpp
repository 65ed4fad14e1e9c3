// floors.cpp — the rows every ring is judged against: the harness itself
// (a function call), and the physical floors of busy-polling IPC (one
// shared cache line) and of sleep-and-wake IPC (a raw futex). CPU time is
// each process's over the timed round trips (the child's passed back in
// shared memory); memory is the one shared line (128 bytes, aligned so).
#include "benches.hpp"

namespace pingpong {

namespace {

// Iteration counts: every row keeps at least 3000 samples after --quick,
// so p99.9 rests on at least 3 of them.
constexpr uint64_t kCallIters = 2'000'000;
constexpr uint64_t kAtomicIters = 2'000'000;
constexpr uint64_t kFutexIters = 50'000;

/// A non-inlined function the optimiser must call and cannot see through.
__attribute__((noinline)) uint64_t next_of(uint64_t x) {
  __asm__ __volatile__("" : "+r"(x));
  return x + 1;
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

struct alignas(128) SharedFutex {
  std::atomic<uint32_t> word{0};
};

/// A floor row: the samples, and both processes' CPU over 2 messages per round trip.
Row floor_row(const char* mechanism, const char* mode, std::vector<uint64_t> samples,
              uint64_t cpu_ns) {
  Row row = rtt_row(mechanism, mode, "1->1", kFloorSize, std::move(samples));
  set_cpu(row, cpu_ns, 2 * row.iters);
  row.memory_bytes = 128;
  return row;
}

/// Sleeps until `word` no longer holds `value` (the word is mapped by two
/// processes).
void futex_wait_while(std::atomic<uint32_t>& word, uint32_t value) {
  LazyDeadline deadline("futex floor");
  while (word.load(std::memory_order_acquire) == value) {
    futex_wait(word, value, 100ms);
    if (word.load(std::memory_order_acquire) == value) deadline.check();
  }
}

void futex_store_and_wake(std::atomic<uint32_t>& word, uint32_t value) {
  word.store(value, std::memory_order_release);
  futex_wake(word, 1);
}

}  // namespace

Row measure_call(const Context& ctx) {
  const uint64_t iters = ctx.scaled(kCallIters);
  const Counts counts{iters / 10, iters};
  auto timed = time_round_trips(counts, [&](uint64_t seq) {
    if (next_of(seq) != seq + 1) throw BenchError("call: wrong result");
  });
  Row row = rtt_row("call", "inproc", nullptr, kFloorSize, std::move(timed.samples));
  set_cpu(row, timed.cpu_ns, row.iters);  // one call, one "message"
  return row;
}

Row measure_atomic_floor(const Context& ctx) {
  SharedMemory<SharedCounter> shared;
  SharedMemory<ChildCpu> child_cpu;
  std::atomic<uint64_t>& word = shared->value;
  const uint64_t iters = ctx.scaled(kAtomicIters);
  const Counts counts{iters / 10, iters};
  Child child(ctx.cpus.child, [&] {
    run_steps(counts, *child_cpu, [&](uint64_t seq) {
      spin_until_equal(word, 2 * seq + 1);
      word.store(2 * seq + 2, std::memory_order_release);
    });
  });
  auto timed = time_round_trips(counts, [&](uint64_t seq) {
    word.store(2 * seq + 1, std::memory_order_release);
    spin_until_equal(word, 2 * seq + 2);
  });
  child.wait();
  return floor_row("atomic", "spin", std::move(timed.samples), timed.cpu_ns + child_cpu->ns);
}

Row measure_futex_floor(const Context& ctx) {
  SharedMemory<SharedFutex> shared;
  SharedMemory<ChildCpu> child_cpu;
  std::atomic<uint32_t>& word = shared->word;
  const uint64_t iters = ctx.scaled(kFutexIters);
  const Counts counts{iters / 10, iters};
  Child child(ctx.cpus.child, [&] {
    run_steps(counts, *child_cpu, [&](uint64_t seq) {
      futex_wait_while(word, static_cast<uint32_t>(2 * seq));
      futex_store_and_wake(word, static_cast<uint32_t>(2 * seq + 2));
    });
  });
  auto timed = time_round_trips(counts, [&](uint64_t seq) {
    const auto ping = static_cast<uint32_t>(2 * seq + 1);
    futex_store_and_wake(word, ping);
    futex_wait_while(word, ping);
    if (word.load(std::memory_order_acquire) != ping + 1) {
      throw BenchError("futex floor: the child skipped a step");
    }
  });
  child.wait();
  return floor_row("futex", "sleep", std::move(timed.samples), timed.cpu_ns + child_cpu->ns);
}

}  // namespace pingpong

// alt_thread_queue.cpp — the in-process floor: a lock-free SPSC queue
// between two threads of one process (after Erik Rigtorp's SPSCQueue: the
// write and read indices on their own cache lines, each side caching the
// other's index so it touches the shared line only when it must), of
// 64-byte messages copied in and out. What a ring costs when no process
// boundary is crossed; both threads spin.
//   rtt         a ping queue and a pong queue: the main thread pushes a
//               message, the echo thread pops it and pushes it back.
//   throughput  the main thread pushes N messages (20 M, 2 M with --quick)
//               after a warm-up of N/10, the other thread pops them; the
//               clock runs until it has popped the last.
// The threads are pinned like the processes of the other rows. CPU time is
// the process's (both threads) over the timed part.
#include <array>
#include <exception>
#include <thread>

#include "benches.hpp"

namespace pingpong {

namespace {

constexpr size_t kSlots = 1024;  // 64 KiB of 64-byte messages
constexpr uint64_t kRttIters = 1'000'000;
constexpr uint64_t kThroughputMessages = 20'000'000;

struct Message {
  std::byte bytes[64];
};

class ThreadQueue {
 public:
  bool try_push(const Message& message) noexcept {
    const size_t write = write_.load(std::memory_order_relaxed);
    if (write - read_cache_ == kSlots) {
      read_cache_ = read_.load(std::memory_order_acquire);
      if (write - read_cache_ == kSlots) return false;
    }
    slots_[write % kSlots] = message;
    write_.store(write + 1, std::memory_order_release);
    return true;
  }

  bool try_pop(Message& message) noexcept {
    const size_t read = read_.load(std::memory_order_relaxed);
    if (read == write_cache_) {
      write_cache_ = write_.load(std::memory_order_acquire);
      if (read == write_cache_) return false;
    }
    message = slots_[read % kSlots];
    read_.store(read + 1, std::memory_order_release);
    return true;
  }

  static constexpr uint64_t bytes() { return kSlots * sizeof(Message); }

 private:
  alignas(128) std::atomic<size_t> write_{0};
  alignas(128) size_t read_cache_ = 0;  // the producer's copy of read_
  alignas(128) std::atomic<size_t> read_{0};
  alignas(128) size_t write_cache_ = 0;  // the consumer's copy of write_
  alignas(128) std::array<Message, kSlots> slots_{};
};

/// Spins until `attempt()` succeeds; throws if `stop` is raised or after kTimeout.
template <class Attempt>
void spin_until(Attempt&& attempt, const std::atomic<bool>& stop, const char* what) {
  LazyDeadline deadline(what);
  for (uint32_t i = 1; !attempt(); ++i) {
    cpu_relax();
    if (i % 4096 == 0) {
      if (stop.load(std::memory_order_relaxed)) throw BenchError(std::string(what) + ": stopped");
      deadline.check();
    }
  }
}

uint64_t seq_in(const Message& message) {
  uint64_t seq = 0;
  std::memcpy(&seq, message.bytes, sizeof seq);
  return seq;
}

void set_seq(Message& message, uint64_t seq) { std::memcpy(message.bytes, &seq, sizeof seq); }

/// A second thread pinned to `cpu`, running `body`; the destructor raises
/// `stop` and joins it. rethrow() passes on what the body threw.
class Worker {
 public:
  template <class Body>
  Worker(int cpu, Body body)
      : thread_([this, cpu, body]() mutable {
          pin_to(cpu);
          try {
            body(stop_);
          } catch (...) {
            error_ = std::current_exception();
            stop_ = true;  // the main thread stops waiting for it
          }
        }) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::atomic<bool>& stop() const { return stop_; }
  void join() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the rest is ready
};

struct Queues {
  ThreadQueue ping;
  ThreadQueue pong;
};

}  // namespace

Row measure_thread_queue_rtt(const Context& ctx) {
  const auto queues = std::make_unique<Queues>();
  const uint64_t iters = ctx.scaled(kRttIters);
  const Counts counts{iters / 10, iters};
  Worker echo(ctx.cpus.child, [&](const std::atomic<bool>& stop) {
    Message message;
    for (uint64_t seq = 0; seq < counts.warmup + counts.iters; ++seq) {
      spin_until([&] { return queues->ping.try_pop(message); }, stop, "thread-q echo: pop");
      spin_until([&] { return queues->pong.try_push(message); }, stop, "thread-q echo: push");
    }
  });
  Message out{}, in{};
  auto timed = time_round_trips(counts, [&](uint64_t seq) {
    set_seq(out, seq);
    spin_until([&] { return queues->ping.try_push(out); }, echo.stop(), "thread-q: push");
    spin_until([&] { return queues->pong.try_pop(in); }, echo.stop(), "thread-q: pop");
    if (seq_in(in) != seq) throw BenchError("thread-q: echo out of order");
  });
  echo.join();
  Row row = rtt_row("thread-q", "spin", "1->1", sizeof(Message), std::move(timed.samples));
  set_cpu(row, timed.cpu_ns, 2 * row.iters);
  row.memory_bytes = 2 * ThreadQueue::bytes();
  return row;
}

Row measure_thread_queue_throughput(const Context& ctx) {
  const auto queue = std::make_unique<ThreadQueue>();
  const uint64_t iters = ctx.scaled(kThroughputMessages);
  const Counts counts{iters / 10, iters};
  std::atomic<uint64_t> popped{0};
  Worker consumer(ctx.cpus.child, [&](const std::atomic<bool>& stop) {
    Message message;
    for (uint64_t seq = 0; seq < counts.warmup + counts.iters; ++seq) {
      spin_until([&] { return queue->try_pop(message); }, stop, "thread-q consumer: pop");
      if (seq_in(message) != seq) throw BenchError("thread-q: a message out of order");
      if (seq + 1 == counts.warmup || seq + 1 == counts.warmup + counts.iters) {
        popped.store(seq + 1, std::memory_order_release);
      }
    }
  });
  Message message{};
  const auto push_range = [&](uint64_t first, uint64_t end) {
    for (uint64_t seq = first; seq < end; ++seq) {
      set_seq(message, seq);
      spin_until([&] { return queue->try_push(message); }, consumer.stop(), "thread-q: push");
    }
  };
  const auto await_popped = [&](uint64_t n) {
    spin_until([&] { return popped.load(std::memory_order_acquire) >= n; }, consumer.stop(),
               "thread-q: waiting for the consumer");
  };
  push_range(0, counts.warmup);
  await_popped(counts.warmup);
  const auto start = Clock::now();
  const uint64_t cpu_start = process_cpu_ns();
  push_range(counts.warmup, counts.warmup + counts.iters);
  await_popped(counts.warmup + counts.iters);
  const double seconds = static_cast<double>(ns_between(start, Clock::now())) / 1e9;
  const uint64_t cpu = process_cpu_ns() - cpu_start;
  consumer.join();
  Row row = throughput_row("thread-q", "spin", "1->1", sizeof(Message), counts.iters, seconds);
  set_cpu(row, cpu, row.iters);
  row.memory_bytes = ThreadQueue::bytes();
  return row;
}

}  // namespace pingpong

// ringdrop-micro — Google Benchmark micro-benchmarks of the ring operations,
// in one thread of one process: the producer and the consumer handle of a
// ring are both opened here, so each operation is timed on its own, without
// the cross-core cache traffic that ringdrop-pingpong measures. Read these
// numbers as the CPU cost of a call, not as a latency between processes.
//
// Benchmarks (name/size; sizes 64 B, 4 KiB, 64 KiB for the SPSC ring and
// memcpy, 64 B in 128-byte cells for MPMC and broadcast):
//   memcpy/N                  the baseline: one memcpy of N bytes between two
//                             hot buffers.
//   spsc/reserve_commit/N     try_reserve, memcpy the payload in, commit.
//   spsc/stage_publish/N      try_reserve, memcpy in, stage; one publish()
//                             every 32 messages (and at the end of a batch).
//   spsc/read_release/N       try_read, memcpy the payload out, release.
//   spsc/send_receive/N       try_send then try_receive: the copying API, a
//                             vector allocated per message.
//   mpmc/reserve_commit/64, mpmc/read_release/64, and the same for
//   broadcast (block policy, one subscriber).
// The one-sided benchmarks run in batches (1024 messages at 64 B, fewer for
// larger messages: about 256 KiB of ring per batch); the other side (drain
// or refill) runs between batches with the timer paused, and its pause and
// resume cost about a clock read per batch, i.e. well under a nanosecond
// per 64 B message. Each ring is warmed up by one untimed lap first, so no
// first-touch page fault is timed. Bytes/s counts payload bytes.
//
// Rings live in POSIX shared memory under fresh names
// (ringdrop-micro-<pid>-<n>), removed as soon as both handles are open.
//
// Options are Google Benchmark's (--benchmark_filter=spsc,
// --benchmark_out=FILE --benchmark_out_format=json, ...); the default
// --benchmark_min_time is 0.2 s here, about 12 s for the whole run.
// scripts/bench.sh runs it and tools/bench_report.py tabulates its JSON.
//
// Typed Cap'n Proto benchmarks (building and reading a message in place in
// the ring) will come with their own issue.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/segment.hpp"
#include "ringdrop/spsc_ring.hpp"

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t kBatchBytes = 256 * KiB;  // ring bytes one batch covers
constexpr uint64_t kMinBatch = 8;
constexpr uint64_t kMaxBatch = 1024;
constexpr uint64_t kPublishEvery = 32;  // as ringdrop-pingpong's throughput rows
constexpr uint64_t kCellPayload = 64;   // MPMC and broadcast message size

/// Spinning only: nothing here ever waits (every call is a try_ call).
ringdrop::WaitStrategy spin() {
  ringdrop::WaitStrategy w;
  w.mode = ringdrop::WaitMode::spin;
  return w;
}

uint64_t cell_size_for(uint64_t size) { return std::max<uint64_t>(64, std::bit_ceil(size + 16)); }

// The three ring kinds: handle types, options, ring bytes per message.
// capacity 0 in options(): opening an existing ring, whatever it holds.
struct Spsc {
  using Tx = ringdrop::SpscProducer;
  using Rx = ringdrop::SpscConsumer;
  static uint64_t footprint(uint64_t size) { return 8 + ((size + 7) & ~uint64_t{7}); }
  static ringdrop::RingOptions options(uint64_t capacity, uint64_t /*size*/) {
    ringdrop::RingOptions o;
    o.capacity = capacity;
    o.wait = spin();
    return o;
  }
};

struct Mpmc {
  using Tx = ringdrop::MpmcProducer;
  using Rx = ringdrop::MpmcConsumer;
  static uint64_t footprint(uint64_t size) { return cell_size_for(size); }
  static ringdrop::MpmcOptions options(uint64_t capacity, uint64_t size) {
    ringdrop::MpmcOptions o;
    o.capacity = capacity;
    o.wait = spin();
    o.cell_size = capacity != 0 ? static_cast<uint32_t>(cell_size_for(size)) : 0;
    return o;
  }
};

struct Broadcast {
  using Tx = ringdrop::BroadcastPublisher;
  using Rx = ringdrop::BroadcastSubscriber;
  static uint64_t footprint(uint64_t size) { return cell_size_for(size); }
  static ringdrop::BroadcastOptions options(uint64_t capacity, uint64_t size) {
    ringdrop::BroadcastOptions o;
    o.capacity = capacity;
    o.wait = spin();
    o.cell_size = capacity != 0 ? static_cast<uint32_t>(cell_size_for(size)) : 0;
    o.policy = ringdrop::SlowSubscriber::block;
    return o;
  }
};

// Failures throw; run() turns them into a skipped benchmark with the reason.
void need(std::error_code ec, const char* what) {
  if (ec) throw std::system_error(ec, what);
}
template <class T>
T& need(ringdrop::Result<T>& r, const char* what) {
  if (!r) throw std::system_error(r.error(), what);
  return *r;
}
void release(ringdrop::SpscConsumer& rx) { rx.release(); }
void release(ringdrop::MpmcConsumer& rx) { rx.release(); }
void release(ringdrop::BroadcastSubscriber& rx) { need(rx.release(), "release"); }

/// A fresh shm name, removed (if still there) when it goes out of scope.
class ShmName {
 public:
  ShmName()
      : where_(ringdrop::Location::shm("ringdrop-micro-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter_++))) {}
  ShmName(const ShmName&) = delete;
  ShmName& operator=(const ShmName&) = delete;
  ~ShmName() { remove(); }
  const ringdrop::Location& where() const { return where_; }
  void remove() noexcept {
    if (!removed_) (void)ringdrop::Segment::remove(where_);
    removed_ = true;
  }

 private:
  static inline std::atomic<unsigned> counter_{0};
  ringdrop::Location where_;
  bool removed_ = false;
};

/// A ring with both ends open in this thread, warmed up, its name removed.
template <class Ring>
class Pair {
 public:
  explicit Pair(uint64_t size)
      : size_(size),
        batch_(std::clamp(kBatchBytes / Ring::footprint(size), kMinBatch, kMaxBatch)),
        capacity_(std::max<uint64_t>(64 * KiB, std::bit_ceil(2 * batch_ * Ring::footprint(size)))),
        payload_(size, std::byte{0x5a}),
        sink_(size),
        tx_(open<typename Ring::Tx>(capacity_, ringdrop::OpenMode::create)),
        rx_(open<typename Ring::Rx>(0, ringdrop::OpenMode::open)) {
    name_.remove();  // both ends are mapped; nothing is left in /dev/shm
    // One lap and a bit, untimed: every page of the ring is touched.
    for (uint64_t i = 0; i < capacity_ / Ring::footprint(size) + 16; ++i) {
      write(false);
      read();
      release(rx_);
    }
  }

  uint64_t size() const { return size_; }
  uint64_t batch() const { return batch_; }
  typename Ring::Tx& tx() { return tx_; }
  typename Ring::Rx& rx() { return rx_; }
  const std::vector<std::byte>& payload() const { return payload_; }

  /// try_reserve, copy the payload in, then stage (or commit).
  void write(bool stage) {
    auto span = tx_.try_reserve(size_);
    std::memcpy(need(span, "reserve").data(), payload_.data(), size_);
    if (stage) {
      need(tx_.stage(size_), "stage");
    } else {
      need(tx_.commit(size_), "commit");
    }
  }

  /// try_read, copy the message out (not released).
  void read() {
    auto view = rx_.try_read();
    const auto& bytes = need(view, "read");
    if (bytes.size() != size_) throw std::runtime_error("read a message of the wrong size");
    std::memcpy(sink_.data(), bytes.data(), size_);
    benchmark::DoNotOptimize(sink_.data());
  }

  /// Untimed between batches: writes `batch` messages / reads them all.
  void fill() {
    for (uint64_t i = 0; i < batch_; ++i) write(false);
  }
  void drain() {
    for (uint64_t i = 0; i < batch_; ++i) read();
    release(rx_);
  }

 private:
  template <class Handle>
  Handle open(uint64_t capacity, ringdrop::OpenMode how) {
    auto r = Handle::open(name_.where(), how, Ring::options(capacity, size_));
    return std::move(need(r, "open"));
  }

  uint64_t size_;
  uint64_t batch_;
  uint64_t capacity_;
  std::vector<std::byte> payload_;
  std::vector<std::byte> sink_;
  ShmName name_;  // before the handles: removed after them on an early error
  typename Ring::Tx tx_;
  typename Ring::Rx rx_;
};

/// Runs a benchmark body; an exception skips the benchmark with its message.
template <class Body>
void run(benchmark::State& state, Body body) {
  const auto size = static_cast<uint64_t>(state.range(0));
  try {
    body(size);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

// ================================================================ benchmarks

void memcpy_baseline(benchmark::State& state) {
  run(state, [&](uint64_t size) {
    std::vector<std::byte> src(size, std::byte{0x5a});
    std::vector<std::byte> dst(size);
    for (auto _ : state) {
      benchmark::DoNotOptimize(src.data());
      std::memcpy(dst.data(), src.data(), size);
      benchmark::DoNotOptimize(dst.data());
      benchmark::ClobberMemory();
    }
  });
}

template <class Ring>
void reserve_commit(benchmark::State& state) {
  run(state, [&](uint64_t size) {
    Pair<Ring> ring(size);
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(ring.batch()))) {
      for (uint64_t i = 0; i < ring.batch(); ++i) ring.write(false);
      state.PauseTiming();
      ring.drain();
      state.ResumeTiming();
    }
  });
}

template <class Ring>
void stage_publish(benchmark::State& state) {
  run(state, [&](uint64_t size) {
    Pair<Ring> ring(size);
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(ring.batch()))) {
      for (uint64_t i = 1; i <= ring.batch(); ++i) {
        ring.write(true);
        if (i % kPublishEvery == 0 || i == ring.batch()) ring.tx().publish();
      }
      state.PauseTiming();
      ring.drain();
      state.ResumeTiming();
    }
  });
}

template <class Ring>
void read_release(benchmark::State& state) {
  run(state, [&](uint64_t size) {
    Pair<Ring> ring(size);
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(ring.batch()))) {
      state.PauseTiming();
      ring.fill();
      state.ResumeTiming();
      for (uint64_t i = 0; i < ring.batch(); ++i) {
        ring.read();
        release(ring.rx());
      }
    }
  });
}

template <class Ring>
void send_receive(benchmark::State& state) {
  run(state, [&](uint64_t size) {
    Pair<Ring> ring(size);
    for (auto _ : state) {
      need(ring.tx().try_send(ring.payload()), "send");
      auto message = ring.rx().try_receive();
      benchmark::DoNotOptimize(need(message, "receive").data());
    }
  });
}

void register_all() {
  const auto sizes = [](benchmark::internal::Benchmark* b) {
    b->Arg(64)->Arg(4 * KiB)->Arg(64 * KiB);
  };
  sizes(benchmark::RegisterBenchmark("memcpy", memcpy_baseline));
  sizes(benchmark::RegisterBenchmark("spsc/reserve_commit", reserve_commit<Spsc>));
  sizes(benchmark::RegisterBenchmark("spsc/stage_publish", stage_publish<Spsc>));
  sizes(benchmark::RegisterBenchmark("spsc/read_release", read_release<Spsc>));
  sizes(benchmark::RegisterBenchmark("spsc/send_receive", send_receive<Spsc>));
  benchmark::RegisterBenchmark("mpmc/reserve_commit", reserve_commit<Mpmc>)->Arg(kCellPayload);
  benchmark::RegisterBenchmark("mpmc/read_release", read_release<Mpmc>)->Arg(kCellPayload);
  benchmark::RegisterBenchmark("broadcast/reserve_commit", reserve_commit<Broadcast>)
      ->Arg(kCellPayload);
  benchmark::RegisterBenchmark("broadcast/read_release", read_release<Broadcast>)
      ->Arg(kCellPayload);
}

}  // namespace

// Google Benchmark's default of 0.5 s per benchmark would take about 40 s
// in all (the untimed drains and refills come on top); 0.2 s keeps the run
// under 20 s with stable figures. A --benchmark_min_time on the command line
// comes later and wins. (A bare number of seconds: the form every version
// of the library accepts.)
int main(int argc, char** argv) {
  register_all();
  std::vector<char*> args(argv, argv + argc);
  std::string min_time = "--benchmark_min_time=0.2";
  args.insert(args.begin() + 1, min_time.data());
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

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
// --benchmark_min_time is 0.2 s here: about 35 s for the whole run, 12 s of
// it the ring benchmarks (the typed ones drain and refill more).
// scripts/bench.sh runs it and tools/bench_report.py tabulates its JSON.
//
// Typed messages (message.hpp; a bench.capnp Ping whose Data field holds the
// N bytes, N = 64 B, 4 KiB, 64 KiB), through one SPSC ring big enough for
// 64 KiB messages and the in-place builder's reservation (at least 1 MiB;
// batches as above, sized by the typed record), each against the raw bytes
// through the same ring:
//   typed_publish/raw/N       the baseline: try_reserve, memcpy the N
//                             payload bytes in, commit.
//   typed_publish/in_place/N  send_message<Ping> with a SenderState: the
//                             message is built in the ring's memory (the
//                             estimate, twice the last message, zeroed
//                             first). After the warm-up lap the estimate has
//                             settled: the benchmark fails (SkipWithError)
//                             unless every timed message was built in place
//                             (state.in_place grew by the iterations,
//                             state.copied did not).
//   typed_publish/in_place_hint/N  the same with MessageOptions::size_hint
//                             set to the record's exact size: only that is
//                             zeroed (the best case of in place).
//   typed_publish/heap/N      a HeapMessage built on the heap (a new one per
//                             message, as a caller that does not know the
//                             size would), then send_heap: one copy into
//                             the ring.
//   typed_read/raw/N          the baseline: try_read, memcpy the N bytes
//                             out, release.
//   typed_read/in_place/N     try_read, IncomingMessage::open (validates the
//                             whole message), payload<Ping>(), memcpy the
//                             Data field's N bytes out, release.
// Bytes/s counts the N payload bytes; the counter record_B is the typed
// record's size in the ring (envelope and segment table included).
// tools/bench_report.py shows each typed row over the raw row of its group
// and size ("CPU time / raw").
//
// The C ABI's rows (c_abi/...) are a program of their own, ringdrop-micro-c
// (c_abi_micro.cpp): it links the shared library, this one the static.
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

#include "bench.capnp.h"
#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/message.hpp"
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

// ================================================================ typed messages

constexpr uint64_t kTypedMinCapacity = 1024 * KiB;  // the typed benchmarks' ring, at least

/// The flat size of a Ping carrying `data`: what one record of it holds.
uint64_t typed_record_size(capnp::Data::Reader data) {
  ringdrop::HeapMessage m;
  auto ping = m.init<rdbench::Ping>();
  ping.setSeq(0);
  ping.setData(data);
  return m.size();
}

/// An SPSC ring with both ends open in this thread, for typed messages of
/// `size` payload bytes and the raw baseline of the same bytes. Batches are
/// sized by the typed record; the ring holds two batches and the in-place
/// builder's reservation (twice the record) with room to spare, so it never
/// fills: the benchmarks drain it between batches.
class TypedRing {
 public:
  explicit TypedRing(uint64_t size)
      : size_(size),
        payload_(size, std::byte{0x5a}),
        sink_(size),
        data_(reinterpret_cast<const kj::byte*>(payload_.data()), size),
        record_(typed_record_size(data_)),
        batch_(std::clamp(kBatchBytes / Spsc::footprint(record_), kMinBatch, kMaxBatch)),
        capacity_(std::max<uint64_t>(
            kTypedMinCapacity, std::bit_ceil(2 * batch_ * Spsc::footprint(record_) + 4 * record_))),
        tx_(open<ringdrop::SpscProducer>(capacity_, ringdrop::OpenMode::create)),
        rx_(open<ringdrop::SpscConsumer>(0, ringdrop::OpenMode::open)) {
    name_.remove();
    hint_.size_hint = record_;
  }

  uint64_t batch() const { return batch_; }
  uint64_t record() const { return record_; }
  const ringdrop::SenderState& sender() const { return sender_; }

  /// One lap of the ring and a bit with `write` (of `bytes`-byte records),
  /// each message read back: every page touched, the estimate settled.
  template <class Write>
  void warm_up(Write write, uint64_t bytes) {
    new_deadline();
    for (uint64_t i = 0; i < capacity_ / Spsc::footprint(bytes) + 16; ++i) {
      write();
      drain(1);
    }
  }
  /// Before each batch: every wait of the batch ends by this (none should wait).
  void new_deadline() { deadline_ = ringdrop::deadline_after(std::chrono::seconds(10)); }

  void write_raw() {
    auto span = tx_.try_reserve(size_);
    std::memcpy(need(span, "reserve").data(), payload_.data(), size_);
    need(tx_.commit(size_), "commit");
  }
  void write_in_place(const ringdrop::MessageOptions& options) {
    need(ringdrop::send_message<rdbench::Ping>(
             tx_, deadline_,
             [&](rdbench::Ping::Builder ping) {
               ping.setSeq(seq_++);
               ping.setData(data_);
             },
             options, &sender_),
         "send_message");
  }
  void write_in_place() { write_in_place(ringdrop::MessageOptions{}); }
  void write_in_place_hint() { write_in_place(hint_); }
  void write_heap() {
    ringdrop::HeapMessage m;
    auto ping = m.init<rdbench::Ping>();
    ping.setSeq(seq_++);
    ping.setData(data_);
    need(ringdrop::send_heap(tx_, m, deadline_), "send_heap");
  }

  void read_raw() {
    auto view = rx_.try_read();
    const auto& bytes = need(view, "read");
    if (bytes.size() != size_) throw std::runtime_error("read a message of the wrong size");
    std::memcpy(sink_.data(), bytes.data(), size_);
    benchmark::DoNotOptimize(sink_.data());
    rx_.release();
  }
  void read_typed() {
    auto view = rx_.try_read();
    auto message = ringdrop::IncomingMessage::open(need(view, "read"));
    auto ping = need(message, "open").payload<rdbench::Ping>();
    const capnp::Data::Reader data = need(ping, "payload").getData();
    if (data.size() != size_) throw std::runtime_error("read a message of the wrong size");
    std::memcpy(sink_.data(), data.begin(), size_);
    benchmark::DoNotOptimize(sink_.data());
    rx_.release();
  }

  /// Untimed between batches.
  void drain(uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
      auto view = rx_.try_read();
      (void)need(view, "read");
      rx_.release();
    }
  }

 private:
  template <class Handle>
  Handle open(uint64_t capacity, ringdrop::OpenMode how) {
    auto r = Handle::open(name_.where(), how, Spsc::options(capacity, size_));
    return std::move(need(r, "open"));
  }

  uint64_t size_;
  std::vector<std::byte> payload_;
  std::vector<std::byte> sink_;
  capnp::Data::Reader data_;
  uint64_t record_;
  uint64_t batch_;
  uint64_t capacity_;
  ShmName name_;  // before the handles: removed after them on an early error
  ringdrop::SpscProducer tx_;
  ringdrop::SpscConsumer rx_;
  ringdrop::SenderState sender_;
  ringdrop::MessageOptions hint_;
  ringdrop::Deadline deadline_{};
  uint64_t seq_ = 0;
};

enum class Publish { raw, in_place, in_place_hint, heap };

template <Publish how>
void typed_publish(benchmark::State& state) {
  run(state, [&](uint64_t size) {
    TypedRing ring(size);
    const auto write = [&] {
      if constexpr (how == Publish::raw) ring.write_raw();
      if constexpr (how == Publish::in_place) ring.write_in_place();
      if constexpr (how == Publish::in_place_hint) ring.write_in_place_hint();
      if constexpr (how == Publish::heap) ring.write_heap();
    };
    ring.warm_up(write, how == Publish::raw ? size : ring.record());
    const ringdrop::SenderState before = ring.sender();
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(ring.batch()))) {
      for (uint64_t i = 0; i < ring.batch(); ++i) write();
      state.PauseTiming();
      ring.drain(ring.batch());
      ring.new_deadline();
      state.ResumeTiming();
    }
    if constexpr (how == Publish::in_place || how == Publish::in_place_hint) {
      const auto built = ring.sender().in_place - before.in_place;
      if (built != static_cast<uint64_t>(state.iterations()) || ring.sender().copied != before.copied) {
        throw std::runtime_error("not every message was built in place: " + std::to_string(built) +
                                 " in place, " + std::to_string(ring.sender().copied - before.copied) +
                                 " copied, of " + std::to_string(state.iterations()));
      }
    }
    state.counters["record_B"] = static_cast<double>(ring.record());
  });
}

template <bool typed>
void typed_read(benchmark::State& state) {
  run(state, [&](uint64_t size) {
    TypedRing ring(size);
    const auto write = [&] {
      if constexpr (typed) {
        ring.write_in_place();
      } else {
        ring.write_raw();
      }
    };
    ring.warm_up(write, typed ? ring.record() : size);
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(ring.batch()))) {
      state.PauseTiming();
      ring.new_deadline();
      for (uint64_t i = 0; i < ring.batch(); ++i) write();
      state.ResumeTiming();
      for (uint64_t i = 0; i < ring.batch(); ++i) {
        if constexpr (typed) {
          ring.read_typed();
        } else {
          ring.read_raw();
        }
      }
    }
    state.counters["record_B"] = static_cast<double>(ring.record());
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
  sizes(benchmark::RegisterBenchmark("typed_publish/raw", typed_publish<Publish::raw>));
  sizes(benchmark::RegisterBenchmark("typed_publish/in_place", typed_publish<Publish::in_place>));
  sizes(benchmark::RegisterBenchmark("typed_publish/in_place_hint",
                                     typed_publish<Publish::in_place_hint>));
  sizes(benchmark::RegisterBenchmark("typed_publish/heap", typed_publish<Publish::heap>));
  sizes(benchmark::RegisterBenchmark("typed_read/raw", typed_read<false>));
  sizes(benchmark::RegisterBenchmark("typed_read/in_place", typed_read<true>));
}

}  // namespace

// Google Benchmark's default of 0.5 s per benchmark would take about 90 s
// in all (the untimed drains and refills come on top); 0.2 s keeps the run
// near 35 s with stable figures. A --benchmark_min_time on the command line
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

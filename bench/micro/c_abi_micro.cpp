// ringdrop-micro-c — Google Benchmark rows of the C ABI: the cost of a call
// through ringdrop.h, next to the C++ rows of ringdrop-micro. Linked only to
// libringdrop.so, as a C program is (ringdrop-micro links the static C++
// library, which holds the same ringdrop_* functions: one program with both
// would have two copies of the library). Uses nothing but ringdrop.h, so it
// also builds against older commits for a before/after comparison.
//
// Producer and consumer handles of one ring in this thread, spinning, every
// call with timeout 0 (nothing ever waits); rings in POSIX shared memory
// under fresh names, removed once both ends are open; one untimed lap first.
//   c_abi/ring_reserve_commit/64  ringdrop_ring_reserve, memcpy 64 bytes in,
//                                 ringdrop_ring_commit; batches of 1024,
//                                 drained untimed (as spsc/reserve_commit/64).
//   c_abi/ring_send_receive/64    ringdrop_ring_send then ringdrop_ring_receive
//                                 of 64 bytes (as spsc/send_receive/64).
//   c_abi/message_send/64         ringdrop_message_send of a payload shaped as
//                                 bench.capnp's Ping with 64 Data bytes
//                                 (hand-encoded); batches of 1024, read and
//                                 released untimed on the consumer side (as
//                                 typed_publish/in_place/64).
// Options are Google Benchmark's; the default --benchmark_min_time is 0.2 s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "ringdrop.h"

namespace {

constexpr unsigned long long kSize = 64;
constexpr unsigned long long kBatch = 1024;
constexpr unsigned long long kCapacity = 1024 * 1024;  // two batches of typed records, and more
constexpr unsigned long long kTypeId = 0x9e3779b97f4a7c15ULL;

/// A failed call throws; run() turns it into a skipped benchmark.
void need(int rc, const char* what) {
  if (rc != RINGDROP_OK) {
    throw std::runtime_error(std::string(what) + ": " + ringdrop_strerror(rc) + " (" +
                             ringdrop_last_error_message() + ")");
  }
}

/// An SPSC ring with both ends open in this thread, its name removed.
class Pair {
 public:
  Pair() {
    const std::string name = "ringdrop-micro-c-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++);
    ringdrop_ring_options o;
    ringdrop_ring_options_init(&o);
    o.capacity = kCapacity;
    o.wait_mode = RINGDROP_WAIT_SPIN;
    const int rc = ringdrop_ring_open(name.c_str(), RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE,
                                      &o, &tx_);
    const int rc2 =
        rc ? rc : ringdrop_ring_open(name.c_str(), RINGDROP_RING_SPSC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, &o, &rx_);
    if (rc == RINGDROP_OK) (void)ringdrop_ring_remove(name.c_str(), 0);
    if (rc2 != RINGDROP_OK) {
      close();
      need(rc2, "ringdrop_ring_open");
    }
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;
  ~Pair() { close(); }

  ringdrop_ring* tx() { return tx_; }
  ringdrop_ring* rx() { return rx_; }

  /// Reads and releases `count` messages.
  void drain(unsigned long long count) {
    for (unsigned long long i = 0; i < count; ++i) {
      const void* data = nullptr;
      unsigned long long size = 0;
      need(ringdrop_ring_read(rx_, 0, &data, &size), "ringdrop_ring_read");
      benchmark::DoNotOptimize(data);
      need(ringdrop_ring_release(rx_), "ringdrop_ring_release");
    }
  }

  /// One lap of the ring and a bit with `write` (records of `footprint`
  /// bytes), each read back: every page touched before timing.
  template <class Write>
  void warm_up(Write write, unsigned long long footprint) {
    for (unsigned long long i = 0; i < kCapacity / footprint + 16; ++i) {
      write();
      drain(1);
    }
  }

 private:
  void close() {
    ringdrop_ring_close(tx_);
    ringdrop_ring_close(rx_);
    tx_ = rx_ = nullptr;
  }
  static inline unsigned counter_ = 0;
  ringdrop_ring* tx_ = nullptr;
  ringdrop_ring* rx_ = nullptr;
};

/// Runs a benchmark body; an exception skips the benchmark with its message.
template <class Body>
void run(benchmark::State& state, Body body) {
  try {
    body();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kSize));
}

void ring_reserve_commit(benchmark::State& state) {
  run(state, [&] {
    Pair ring;
    const std::vector<unsigned char> payload(kSize, 0x5a);
    const auto write = [&] {
      void* data = nullptr;
      need(ringdrop_ring_reserve(ring.tx(), kSize, 0, &data), "ringdrop_ring_reserve");
      std::memcpy(data, payload.data(), kSize);
      need(ringdrop_ring_commit(ring.tx(), kSize), "ringdrop_ring_commit");
    };
    ring.warm_up(write, 8 + kSize);
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(kBatch))) {
      for (unsigned long long i = 0; i < kBatch; ++i) write();
      state.PauseTiming();
      ring.drain(kBatch);
      state.ResumeTiming();
    }
  });
}

void ring_send_receive(benchmark::State& state) {
  run(state, [&] {
    Pair ring;
    const std::vector<unsigned char> payload(kSize, 0x5a);
    std::vector<unsigned char> sink(kSize);
    unsigned long long size = 0;
    const auto round = [&] {
      need(ringdrop_ring_send(ring.tx(), payload.data(), kSize, 0), "ringdrop_ring_send");
      need(ringdrop_ring_receive(ring.rx(), sink.data(), sink.size(), &size, 0), "ringdrop_ring_receive");
      benchmark::DoNotOptimize(sink.data());
    };
    for (unsigned long long i = 0; i < kCapacity / (8 + kSize) + 16; ++i) round();
    for (auto _ : state) round();
  });
}

/// bench.capnp's Ping {seq @0 :UInt64; data @1 :Data} with kSize data bytes,
/// as a flat single-segment message (little-endian words).
std::vector<uint64_t> ping_payload() {
  constexpr uint64_t data_words = kSize / 8;
  std::vector<uint64_t> w(1 + 3 + data_words);
  const uint32_t table[2] = {0, static_cast<uint32_t>(w.size() - 1)};  // one segment, its words
  std::memcpy(&w[0], table, sizeof table);
  w[1] = 0x0001000100000000ULL;                // root: struct at offset 0, 1 data word, 1 pointer
  w[2] = 0;                                    // seq
  w[3] = 1 | (uint64_t{(kSize << 3) | 2} << 32);  // list at offset 0 of kSize bytes
  std::memset(&w[4], 0x5a, kSize);
  return w;
}

void message_send(benchmark::State& state) {
  run(state, [&] {
    Pair ring;
    std::vector<uint64_t> payload = ping_payload();
    const auto write = [&] {
      ++payload[2];  // a new seq per message, as the C++ row
      need(ringdrop_message_send(ring.tx(), kTypeId, payload.data(), payload.size() * 8, nullptr, 0),
           "ringdrop_message_send");
    };
    write();
    const void* data = nullptr;
    unsigned long long record = 0;
    need(ringdrop_ring_read(ring.rx(), 0, &data, &record), "ringdrop_ring_read");
    need(ringdrop_ring_release(ring.rx()), "ringdrop_ring_release");
    ring.warm_up(write, 8 + record);
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(kBatch))) {
      for (unsigned long long i = 0; i < kBatch; ++i) write();
      state.PauseTiming();
      ring.drain(kBatch);
      state.ResumeTiming();
    }
    state.counters["record_B"] = static_cast<double>(record);
  });
}

}  // namespace

// As ringdrop-micro: 0.2 s per row unless the command line says otherwise.
int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("c_abi/ring_reserve_commit", ring_reserve_commit)->Arg(kSize);
  benchmark::RegisterBenchmark("c_abi/ring_send_receive", ring_send_receive)->Arg(kSize);
  benchmark::RegisterBenchmark("c_abi/message_send", message_send)->Arg(kSize);
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

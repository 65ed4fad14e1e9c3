// shared_throughput.cpp — one-way throughput of the shared rings (MPMC,
// broadcast) with several producer or consumer processes.
//
// Every producer and consumer is a child process; the parent creates the
// ring, watches the children and sleeps. Producers share one CPU (the
// parent's), consumers the other, so with more processes than cores they
// take turns. All of them wait with the default strategy (spin_block,
// spin_for 50 us): a process that finds nothing to do spins briefly and
// then sleeps, instead of burning the time slice of a sibling on its CPU.
//
// The phases, each closed by a barrier (a futex word in shared memory):
//   attach    every process opens the ring (so every subscriber is in
//             before the first message);
//   warm-up   each producer sends one lap of the ring, then an end marker
//             per consumer (MPMC: whichever consumer takes it; a consumer
//             stops after one marker from each producer) or one (broadcast:
//             every subscriber sees it);
//   timed     producers send until the parent raises `stop` (1 s, 0.1 s
//             with --quick), then end markers again.
// Producers publish in batches of 32 messages (stage/publish), as the SPSC
// rows do; consumers copy each message out and release in batches of 32.
// Each producer stamps the start of its timed phase, each consumer the
// arrival of its last marker; the row's time is earliest start to latest
// end, its messages what the producers sent.
//
// Every message carries (producer, seq). Consumers check that each
// producer's seqs only grow, without gaps where they see all of them (one
// consumer, or broadcast); the parent checks that MPMC consumers together
// received every message once and every broadcast subscriber received all.
#include "benches.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <type_traits>

namespace pingpong {

namespace {

constexpr unsigned kMaxWorkers = 8;
constexpr uint64_t kCapacity = 4 * MiB;
constexpr std::chrono::nanoseconds kRunTime = 1s;  // timed phase of a full run

enum MessageKind : uint32_t { kData = 0, kWarmEnd = 1, kRunEnd = 2 };

struct Header {
  uint32_t producer;
  uint32_t kind;  // MessageKind
  uint64_t seq;   // per producer, markers included
};

struct alignas(128) WorkerSlot {
  std::atomic<int64_t> start_ns{0};   // producer: start of its timed phase
  std::atomic<int64_t> end_ns{0};     // consumer: arrival of its last marker
  std::atomic<uint64_t> messages{0};  // timed data messages sent / received
};

/// What the parent and the workers share.
struct Control {
  Tally attached;
  Tally warm;
  Tally done;
  alignas(128) std::atomic<uint32_t> stop{0};
  WorkerSlot slots[kMaxWorkers];
};

/// What every worker knows before it starts.
struct Plan {
  const RingNames* names;
  Topology topology;
  uint64_t size;
  uint64_t warmup;          // data messages per producer
  bool broadcast;           // every consumer sees every message
  uint32_t workers() const { return topology.producers + topology.consumers; }
  uint32_t markers_per_producer() const { return broadcast ? 1 : topology.consumers; }
  /// Whether a consumer sees all of a producer's messages, gaps being errors.
  bool gapless() const { return broadcast || topology.consumers == 1; }
};

// ================================================================ producer

/// A producer's messages: payload, numbering, batching.
template <class Tx>
class Sender {
 public:
  Sender(Tx& tx, uint32_t producer, uint64_t size)
      : tx_(tx), payload_(size, std::byte{0x5a}), batch_(kBatchMessages, kCapacity / 4) {
    header_.producer = producer;
  }

  void send(MessageKind kind) {
    header_.kind = kind;
    std::memcpy(payload_.data(), &header_, sizeof header_);
    auto span = reserve_or_wait(tx_, payload_.size());
    std::memcpy(span.data(), payload_.data(), payload_.size());
    stage_message(tx_, payload_.size());
    if (batch_.add(payload_.size())) publish_staged(tx_);
    ++header_.seq;
  }

  void send_markers(MessageKind kind, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) send(kind);
    publish_staged(tx_);
  }

  /// Sends data until `stop` is raised; returns how many.
  uint64_t send_until(const std::atomic<uint32_t>& stop) {
    uint64_t sent = 0;
    for (; stop.load(std::memory_order_relaxed) == 0; ++sent) send(kData);
    return sent;
  }

 private:
  Tx& tx_;
  std::vector<std::byte> payload_;
  Batch batch_;
  Header header_{};
};

template <class Ring>
void run_producer(const Plan& plan, Control& ctl, uint32_t index) {
  auto tx = open_tx<Ring>((*plan.names)[0], OpenMode::open, 0, 0, block_wait());
  barrier(ctl.attached, plan.workers(), "producer: waiting for every process to attach");
  Sender<typename Ring::Tx> sender(tx, index, plan.size);
  for (uint64_t i = 0; i < plan.warmup; ++i) sender.send(kData);
  sender.send_markers(kWarmEnd, plan.markers_per_producer());
  barrier(ctl.warm, plan.workers(), "producer: waiting for the warm-up to end");
  WorkerSlot& slot = ctl.slots[index];
  slot.start_ns.store(monotonic_ns(), std::memory_order_relaxed);
  const uint64_t sent = sender.send_until(ctl.stop);
  sender.send_markers(kRunEnd, plan.markers_per_producer());
  slot.messages.store(sent, std::memory_order_relaxed);
  arrive(ctl.done);
}

// ================================================================ consumer

/// A consumer's messages: copying out, checking, batching the releases.
template <class Rx>
class Receiver {
 public:
  Receiver(Rx& rx, const Plan& plan)
      : rx_(rx), plan_(plan), sink_(plan.size), next_seq_(plan.topology.producers, 0) {}

  /// Receives until one `end` marker from each producer has come; returns
  /// the data messages received.
  uint64_t receive_until(MessageKind end) {
    Batch batch(kBatchMessages, kCapacity / 4);
    uint64_t data = 0;
    for (uint32_t markers = 0; markers < plan_.topology.producers;) {
      const Header h = receive_one();
      if (h.kind == end) {
        ++markers;
      } else if (h.kind == kData) {
        ++data;
      } else {
        throw BenchError("an end marker of the wrong phase");
      }
      if (batch.add(sink_.size())) release_reads(rx_);
    }
    release_reads(rx_);
    return data;
  }

 private:
  Header receive_one() {
    copy_out(rx_, sink_);
    Header h;
    std::memcpy(&h, sink_.data(), sizeof h);
    if (h.producer >= next_seq_.size()) throw BenchError("a message from no producer");
    uint64_t& next = next_seq_[h.producer];
    if (h.seq < next || (plan_.gapless() && h.seq != next)) {
      throw BenchError("message " + std::to_string(h.seq) + " of producer " +
                       std::to_string(h.producer) + " came when " + std::to_string(next) +
                       " was due");
    }
    next = h.seq + 1;
    return h;
  }

  Rx& rx_;
  const Plan& plan_;
  std::vector<std::byte> sink_;
  std::vector<uint64_t> next_seq_;  // per producer
};

template <class Ring>
void run_consumer(const Plan& plan, Control& ctl, uint32_t index) {
  auto rx = open_rx<Ring>((*plan.names)[0], OpenMode::open, 0, 0, block_wait());
  barrier(ctl.attached, plan.workers(), "consumer: waiting for every process to attach");
  Receiver<typename Ring::Rx> receiver(rx, plan);
  (void)receiver.receive_until(kWarmEnd);
  barrier(ctl.warm, plan.workers(), "consumer: waiting for the warm-up to end");
  const uint64_t received = receiver.receive_until(kRunEnd);
  WorkerSlot& slot = ctl.slots[index];
  slot.end_ns.store(monotonic_ns(), std::memory_order_relaxed);
  slot.messages.store(received, std::memory_order_relaxed);
  arrive(ctl.done);
}

// ================================================================ parent

/// Creates the ring and lets go of it: the workers open it by name. (The
/// creating handle is a consumer that never reads, so it holds no message
/// and, as a subscriber, never holds the publisher back.)
template <class Ring>
void create_ring(const ringdrop::Location& where, uint64_t size) {
  (void)open_rx<Ring>(where, OpenMode::create, kCapacity, size, block_wait());
}

/// Sleeps for `duration`, checking on the workers every 10 ms.
void sleep_watching(std::chrono::nanoseconds duration, ChildGroup& workers) {
  const auto end = Clock::now() + duration;
  for (auto now = Clock::now(); now < end; now = Clock::now()) {
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(end - now, 10ms));
    workers.check();
  }
}

struct Outcome {
  uint64_t messages = 0;
  double seconds = 0;
};

/// Reads the workers' slots: the time span and the messages, checked.
Outcome collect(const Plan& plan, const Control& ctl) {
  const uint32_t producers = plan.topology.producers;
  int64_t start = INT64_MAX, end = INT64_MIN;
  uint64_t sent = 0, received = 0;
  for (uint32_t i = 0; i < plan.workers(); ++i) {
    const WorkerSlot& slot = ctl.slots[i];
    const uint64_t messages = slot.messages.load(std::memory_order_relaxed);
    if (i < producers) {
      start = std::min(start, slot.start_ns.load(std::memory_order_relaxed));
      sent += messages;
    } else {
      end = std::max(end, slot.end_ns.load(std::memory_order_relaxed));
      received += messages;
      if (plan.broadcast && messages != sent) {
        throw BenchError("a subscriber missed messages");
      }
    }
  }
  if (!plan.broadcast && received != sent) throw BenchError("consumers missed messages");
  if (end <= start) throw BenchError("the timed phase ended before it began");
  return {sent, static_cast<double>(end - start) / 1e9};
}

}  // namespace

template <class Ring>
Row measure_shared_throughput(const Context& ctx, const Topology& topology, uint64_t size) {
  RingNames names(1);
  create_ring<Ring>(names[0], size);
  const Plan plan{&names, topology, size, kCapacity / Ring::footprint(size) + 16,
                  std::is_same_v<Ring, BroadcastRing>};
  if (plan.workers() > kMaxWorkers) throw BenchError("too many processes");
  if (size < sizeof(Header)) throw BenchError("messages too small for their header");
  SharedMemory<Control> ctl;
  ChildGroup workers;
  for (uint32_t p = 0; p < topology.producers; ++p) {
    workers.spawn(ctx.cpus.parent, [&, p] { run_producer<Ring>(plan, *ctl, p); });
  }
  for (uint32_t c = 0; c < topology.consumers; ++c) {
    const uint32_t index = topology.producers + c;
    workers.spawn(ctx.cpus.child, [&, index] { run_consumer<Ring>(plan, *ctl, index); });
  }
  const auto watch = [&] { workers.check(); };
  await(ctl->attached, plan.workers(), "waiting for the workers to attach", watch);
  names.remove();
  await(ctl->warm, plan.workers(), "waiting for the warm-up", watch);
  sleep_watching(ctx.scaled(kRunTime), workers);
  ctl->stop.store(1, std::memory_order_relaxed);
  await(ctl->done, plan.workers(), "waiting for the timed run", watch);
  workers.wait();
  const Outcome outcome = collect(plan, *ctl);
  return throughput_row(Ring::kName, "block", topology.label, size, outcome.messages,
                        outcome.seconds);
}

template Row measure_shared_throughput<MpmcRing>(const Context&, const Topology&, uint64_t);
template Row measure_shared_throughput<BroadcastRing>(const Context&, const Topology&, uint64_t);

}  // namespace pingpong

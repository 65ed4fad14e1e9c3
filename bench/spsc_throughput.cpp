// spsc_throughput.cpp — one-way throughput of the SPSC ring: the parent
// sends N messages as fast as it can (reserve, memcpy, stage; publish every
// 32 messages or every capacity/4 bytes); the child reads each one, copies
// it out and releases in batches of the same size. The clock runs from the
// first message until the child acknowledges the last (on a small pong
// ring); a warm-up lap of the ring comes first. CPU: both processes' over
// the timed messages.
#include "benches.hpp"

namespace pingpong {

namespace {

constexpr uint64_t kAckCapacity = 4096;

using Ring = SpscRing;

/// Messages per row: 100 M of 64 B, 8 GiB of the larger sizes.
uint64_t throughput_messages(uint64_t size) {
  return size <= 64 ? 100'000'000 : (8192 * MiB) / size;
}

uint64_t throughput_capacity(uint64_t size) { return size >= MiB ? 16 * MiB : 4 * MiB; }

/// Sends messages first_seq .. first_seq+count-1, publishing in batches.
void produce(ringdrop::SpscProducer& tx, uint64_t first_seq, uint64_t count,
             std::span<std::byte> payload, uint64_t batch_bytes) {
  Batch batch(kBatchMessages, batch_bytes);
  for (uint64_t seq = first_seq; seq < first_seq + count; ++seq) {
    write_message(tx, seq, payload);
    stage_message(tx, payload.size());
    if (batch.add(payload.size())) tx.publish();
  }
  tx.publish();
}

/// Receives `count` messages, checking they arrive in order, releasing in batches.
void consume(ringdrop::SpscConsumer& rx, uint64_t first_seq, uint64_t count,
             std::span<std::byte> sink, uint64_t batch_bytes) {
  Batch batch(kBatchMessages, batch_bytes);
  for (uint64_t seq = first_seq; seq < first_seq + count; ++seq) {
    if (copy_out_message(rx, sink) != seq) throw BenchError("message out of order");
    if (batch.add(sink.size())) rx.release();
  }
  rx.release();
}

/// Child side: consumes the warm-up and the timed messages, acknowledging
/// each phase; its CPU time over the timed ones into `cpu`.
void consume_and_ack(const RingNames& names, WaitStrategy wait, uint64_t size, Counts counts,
                     uint64_t batch_bytes, ChildCpu& cpu) {
  auto ends = open_child_ends<Ring>(names, wait);
  send_ack(ends.tx, kAttached);
  std::vector<std::byte> sink(size);
  consume(ends.rx, 0, counts.warmup, sink, batch_bytes);
  send_ack(ends.tx, kWarm);
  const uint64_t start = process_cpu_ns();
  consume(ends.rx, counts.warmup, counts.iters, sink, batch_bytes);
  cpu.ns = process_cpu_ns() - start;
  send_ack(ends.tx, kDone);
}

}  // namespace

Row measure_spsc_throughput(const Context& ctx, const NamedMode& mode, uint64_t size) {
  const uint64_t capacity = throughput_capacity(size);
  const uint64_t batch_bytes = capacity / 4;
  const Counts counts{capacity / Ring::footprint(size) + 16,
                      ctx.scaled(throughput_messages(size))};
  RingNames names(2);
  auto ends = create_parent_ends_with_acks<Ring>(names, capacity, size, mode.wait, kAckCapacity);
  SharedMemory<ChildCpu> child_cpu;
  Child child(ctx.cpus.child,
              [&] { consume_and_ack(names, mode.wait, size, counts, batch_bytes, *child_cpu); });
  await_attached(ends.rx, names, child);
  std::vector<std::byte> payload(size, std::byte{0x5a});
  produce(ends.tx, 0, counts.warmup, payload, batch_bytes);
  expect_ack(ends.rx, kWarm);
  const auto start = Clock::now();
  const uint64_t cpu_start = process_cpu_ns();
  produce(ends.tx, counts.warmup, counts.iters, payload, batch_bytes);
  expect_ack(ends.rx, kDone);
  const uint64_t cpu = process_cpu_ns() - cpu_start;
  const double seconds = static_cast<double>(ns_between(start, Clock::now())) / 1e9;
  child.wait();
  Row row = throughput_row(Ring::kName, mode.name, "1->1", size, counts.iters, seconds);
  set_cpu(row, cpu + child_cpu->ns.load(), counts.iters);
  return row;
}

}  // namespace pingpong

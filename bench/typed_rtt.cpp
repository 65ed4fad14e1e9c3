// typed_rtt.cpp — round trips of typed messages through SPSC rings: the
// "spsc" round trip of ring_rtt.cpp with Cap'n Proto messages built in ring
// memory and read in place. The parent sends an rdbench::Ping (its seq and
// a Data field of `size` bytes) with a TypedSender; the child receives it
// with a TypedReceiver (opened and validated in place), and sends back an
// rdbench::Pong with the same seq and Data; the parent receives the Pong,
// checks its seq and copies the Data out. Every message carries the full
// envelope (id, type, timestamps) that every typed message has. Its ratio
// to the raw spsc row of the same mode and size is the cost of the typing.
#include <cstring>

#include "bench.capnp.h"
#include "benches.hpp"
#include "ringdrop/typed_ring.hpp"

namespace pingpong {

namespace {

using ringdrop::TypedReceiver;
using ringdrop::TypedSender;

/// The next typed message of `rx`, or a thrown BenchError.
template <class T>
typename T::Reader receive_typed(TypedReceiver<ringdrop::SpscConsumer>& rx) {
  auto msg = rx.receive(ringdrop::deadline_after(kTimeout));
  if (!msg) throw_ring_error("typed receive", msg.error());
  auto payload = (*msg)->payload<T>();
  if (!payload) throw_ring_error("typed payload", payload.error());
  return *payload;
}

/// Child side: echoes every Ping of `counts` as a Pong, its CPU time over
/// the timed ones into `cpu`.
void echo_typed(const RingNames& names, WaitStrategy wait, Counts counts, ChildCpu& cpu) {
  auto ends = open_child_ends<SpscRing>(names, wait);
  send_ack(ends.tx, kAttached);
  TypedSender<ringdrop::SpscProducer> typed_tx(std::move(ends.tx));
  TypedReceiver<ringdrop::SpscConsumer> typed_rx(std::move(ends.rx));
  run_steps(counts, cpu, [&](uint64_t) {
    const auto ping = receive_typed<rdbench::Ping>(typed_rx);
    check(typed_tx.send<rdbench::Pong>(
              [&](rdbench::Pong::Builder pong) {
                pong.setSeq(ping.getSeq());
                pong.setData(ping.getData());
              },
              ringdrop::deadline_after(kTimeout)),
          "typed send");
  });
}

}  // namespace

Row measure_typed_rtt(const Context& ctx, const NamedMode& mode, uint64_t size) {
  // A typed 64 B message is a record of about 180 B: rings sized for 4x that.
  const uint64_t footprint = size + 256;
  const uint64_t capacity = rtt_capacity<SpscRing>(footprint);
  const uint64_t iters = ctx.scaled(1'000'000);
  const Counts counts{warmup_for<SpscRing>(iters, capacity, footprint), iters};
  RingNames names(2);
  auto ends = create_parent_ends<SpscRing>(names, capacity, footprint, mode.wait);
  SharedMemory<ChildCpu> child_cpu;
  Child child(ctx.cpus.child, [&] { echo_typed(names, mode.wait, counts, *child_cpu); });
  await_attached(ends.rx, names, child);
  TypedSender<ringdrop::SpscProducer> typed_tx(std::move(ends.tx));
  TypedReceiver<ringdrop::SpscConsumer> typed_rx(std::move(ends.rx));
  std::vector<std::byte> out(size, std::byte{0x5a});
  std::vector<std::byte> in(size);
  const capnp::Data::Reader data(reinterpret_cast<const capnp::byte*>(out.data()), out.size());
  auto timed = time_round_trips(counts, [&](uint64_t seq) {
    check(typed_tx.send<rdbench::Ping>(
              [&](rdbench::Ping::Builder ping) {
                ping.setSeq(seq);
                ping.setData(data);
              },
              ringdrop::deadline_after(kTimeout)),
          "typed send");
    const auto pong = receive_typed<rdbench::Pong>(typed_rx);
    if (pong.getSeq() != seq || pong.getData().size() != size) throw BenchError("typed echo out of order");
    std::memcpy(in.data(), pong.getData().begin(), size);
  });
  child.wait();
  Row row = rtt_row("typed", mode.name, "1->1", size, std::move(timed.samples));
  set_cpu(row, timed.cpu_ns + child_cpu->ns.load(), 2 * row.iters);
  row.memory_bytes = 2 * capacity;
  return row;
}

}  // namespace pingpong

// ring_rtt.cpp — round-trip latency through a ping ring and a pong ring of
// the same kind: the parent writes a message into ping (reserve, memcpy,
// commit), the child copies it into pong (read, reserve, memcpy, commit,
// release), the parent copies the reply out (read, memcpy, release).
//
//   spsc       SpscProducer -> SpscConsumer, both ways.
//   mpmc       An MPMC ring each way, one producer and one consumer process
//              on each ("1->1"): the SPSC round trip through cells, cell
//              CASes and shared head/tail indices.
//   broadcast  A broadcast ring (block policy) each way: the parent publishes
//              on ping, the child is its one subscriber and publishes the
//              echo on its own broadcast ring, to which the parent
//              subscribes. Broadcast both ways, so the row is that ring's
//              cost alone.
#include "benches.hpp"

#include <cstring>
#include <type_traits>

namespace pingpong {

namespace {

/// Round trips per row. The rings other than SPSC run at 64 B only, with
/// half the round trips (the whole run has to fit in a minute).
template <class Ring>
uint64_t rtt_iters(const char* mode, uint64_t size) {
  const bool sleeps = std::strcmp(mode, "sleep") == 0;
  if (!std::is_same_v<Ring, SpscRing>) return sleeps ? 50'000 : 500'000;
  if (size <= 64) return sleeps ? 50'000 : 1'000'000;
  if (size <= 4 * KiB) return sleeps ? 50'000 : 500'000;
  if (size <= 64 * KiB) return sleeps ? 20'000 : 100'000;
  return sleeps ? 3'000 : 6'000;
}

/// Child side: echoes every message of `counts` from ping back on pong,
/// its CPU time over the timed ones into `cpu`.
template <class Ring>
void echo_messages(const RingNames& names, WaitStrategy wait, Counts counts, ChildCpu& cpu) {
  Ends<Ring> ends = open_child_ends<Ring>(names, wait);
  send_ack(ends.tx, kAttached);
  run_steps(counts, cpu, [&](uint64_t) {
    const auto view = read_or_wait(ends.rx);
    auto span = reserve_or_wait(ends.tx, view.size());
    std::memcpy(span.data(), view.data(), view.size());
    check(ends.tx.commit(view.size()), "commit");
    release_reads(ends.rx);
  });
}

}  // namespace

template <class Ring>
Row measure_ring_rtt(const Context& ctx, const NamedMode& mode, uint64_t size) {
  const uint64_t capacity = rtt_capacity<Ring>(size);
  const uint64_t iters = ctx.scaled(rtt_iters<Ring>(mode.name, size));
  const Counts counts{warmup_for<Ring>(iters, capacity, size), iters};
  RingNames names(2);
  Ends<Ring> ends = create_parent_ends<Ring>(names, capacity, size, mode.wait);
  SharedMemory<ChildCpu> child_cpu;
  Child child(ctx.cpus.child, [&] { echo_messages<Ring>(names, mode.wait, counts, *child_cpu); });
  await_attached(ends.rx, names, child);
  std::vector<std::byte> out(size, std::byte{0x5a});
  std::vector<std::byte> in(size);
  auto timed = time_round_trips(counts, [&](uint64_t seq) {
    write_message(ends.tx, seq, out);
    check(ends.tx.commit(size), "commit");
    if (copy_out_message(ends.rx, in) != seq) throw BenchError("echo out of order");
    release_reads(ends.rx);
  });
  child.wait();
  Row row = rtt_row(Ring::kName, mode.name, "1->1", size, std::move(timed.samples));
  set_cpu(row, timed.cpu_ns + child_cpu->ns.load(), 2 * row.iters);  // the timed round trips, both processes
  return row;
}

template Row measure_ring_rtt<SpscRing>(const Context&, const NamedMode&, uint64_t);
template Row measure_ring_rtt<MpmcRing>(const Context&, const NamedMode&, uint64_t);
template Row measure_ring_rtt<BroadcastRing>(const Context&, const NamedMode&, uint64_t);

}  // namespace pingpong

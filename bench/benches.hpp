// benches.hpp — the measurements main.cpp runs, one file each:
//   floors.cpp             call / atomic / futex: what IPC cannot beat
//   ring_rtt.cpp           round trips through a pair of rings, any kind
//   spsc_throughput.cpp    SPSC one-way throughput, one producer, one consumer
//   shared_throughput.cpp  MPMC and broadcast one-way throughput, N processes
#pragma once

#include <cstdint>

#include "harness.hpp"
#include "report.hpp"
#include "ring_io.hpp"

namespace pingpong {

Row measure_call(const Context& ctx);
Row measure_atomic_floor(const Context& ctx);
Row measure_futex_floor(const Context& ctx);

/// Round trips of `size`-byte messages: the parent sends on a ping ring, a
/// child echoes on a pong ring of the same kind. Instantiated for SpscRing,
/// MpmcRing and BroadcastRing.
template <class Ring>
Row measure_ring_rtt(const Context& ctx, const NamedMode& mode, uint64_t size);

Row measure_spsc_throughput(const Context& ctx, const NamedMode& mode, uint64_t size);

/// Processes on each side of a shared ring.
struct Topology {
  unsigned producers;
  unsigned consumers;
  const char* label;  // "2->1"
};

/// One-way throughput with `topology.producers` producer processes and
/// `topology.consumers` consumer processes, wait mode block (spin_block).
/// Instantiated for MpmcRing and BroadcastRing.
template <class Ring>
Row measure_shared_throughput(const Context& ctx, const Topology& topology, uint64_t size);

extern template Row measure_ring_rtt<SpscRing>(const Context&, const NamedMode&, uint64_t);
extern template Row measure_ring_rtt<MpmcRing>(const Context&, const NamedMode&, uint64_t);
extern template Row measure_ring_rtt<BroadcastRing>(const Context&, const NamedMode&, uint64_t);
extern template Row measure_shared_throughput<MpmcRing>(const Context&, const Topology&, uint64_t);
extern template Row measure_shared_throughput<BroadcastRing>(const Context&, const Topology&,
                                                             uint64_t);

}  // namespace pingpong

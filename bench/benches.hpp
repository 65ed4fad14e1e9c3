// benches.hpp — the measurements main.cpp runs, one file each:
//   floors.cpp             call / atomic / futex: what IPC cannot beat
//   ring_rtt.cpp           round trips through a pair of rings, any kind
//   spsc_throughput.cpp    SPSC one-way throughput, one producer, one consumer
//   shared_throughput.cpp  MPMC and broadcast one-way throughput, N processes
//   drop_bench.cpp         the file-drop channel: latency, small-message
//                          throughput, large files by reference vs a socket
//   alt_thread_queue.cpp   the in-process floor: an SPSC queue between threads
//   alt_zero_copy.cpp      handing over a written payload without copying it
//   alt_idle.cpp           CPU burned by a consumer while its producer is idle
//   alt_rtt.cpp            round trips through the alternatives (pipe, unix,
//   alt_throughput.cpp     tcp, posixmq, boostmq, zmq; alt_transport.hpp)
//                          and their one-way throughput
//   rpc_bench.cpp          request/response: a Client calling a Server in a
//                          child, 1, 8 or 64 calls in flight
//   delivery_count.cpp     the cost of the delivery count: these rings against
//                          the same rings built without it
#pragma once

#include <cstdint>
#include <string>

#include "alt_transport.hpp"
#include "harness.hpp"
#include "report.hpp"
#include "ring_io.hpp"
#include "ringdrop/drop_channel.hpp"

namespace pingpong {

Row measure_call(const Context& ctx);
Row measure_atomic_floor(const Context& ctx);
Row measure_futex_floor(const Context& ctx);

/// An SPSC queue between two threads of this process, 64 B messages.
Row measure_thread_queue_rtt(const Context& ctx);
Row measure_thread_queue_throughput(const Context& ctx);

/// An already-written `size`-byte payload handed over through an SPSC ring:
/// commit, the child reads it (every byte if `read_all`, else only its seq),
/// releases and acks.
Row measure_handover(const Context& ctx, uint64_t size, bool read_all);
/// One in-process memcpy of `size` bytes: the baseline of the above.
Row measure_memcpy(const Context& ctx, uint64_t size);

/// A consumer's CPU time while it waits in read() for a producer that is
/// idle for 1 s (0.2 s with --quick).
Row measure_idle_cpu(const Context& ctx, const NamedMode& mode);
/// Its floor: a child that only sleeps, waking at each liveness interval.
Row measure_idle_floor(const Context& ctx);

/// Round trips of `size`-byte messages through an alternative (one that
/// supports the size: see Mechanism::unsupported).
Row measure_alt_rtt(const Context& ctx, const Mechanism& mechanism, AltWait wait, uint64_t size);
/// One-way throughput of `size`-byte messages through an alternative.
Row measure_alt_throughput(const Context& ctx, const Mechanism& mechanism, AltWait wait,
                           uint64_t size);

/// Round trips of `size`-byte messages: the parent sends on a ping ring, a
/// child echoes on a pong ring of the same kind. Instantiated for SpscRing,
/// MpmcRing and BroadcastRing.
template <class Ring>
Row measure_ring_rtt(const Context& ctx, const NamedMode& mode, uint64_t size);

Row measure_spsc_throughput(const Context& ctx, const NamedMode& mode, uint64_t size);

/// The spsc round trip with typed messages (typed_rtt.cpp): a Ping built in
/// ring memory with a `size`-byte Data field, echoed as a Pong.
Row measure_typed_rtt(const Context& ctx, const NamedMode& mode, uint64_t size);

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

/// How a drop row's channel is set up: how the consumer finds new files and
/// whether publishing fsyncs.
struct DropSetup {
  const char* mechanism;  // "drop", or "drop-sync" when durable
  const char* mode;       // "notify" (inotify) or "poll"
  ringdrop::Discovery discovery;
  std::chrono::milliseconds scan_interval;
  bool durable;
};

/// inotify; the full scan at its default period (a missed event would show
/// as a 1 s outlier).
inline DropSetup drop_notify() {
  return {"drop", "notify", ringdrop::Discovery::inotify, 1000ms, false};
}
/// Polling: a full scan every 10 ms, the only way a message is found.
inline DropSetup drop_poll() { return {"drop", "poll", ringdrop::Discovery::polling, 10ms, false}; }
/// inotify, durable: publish fsyncs the file and the directory.
inline DropSetup drop_sync_notify() {
  return {"drop-sync", "notify", ringdrop::Discovery::inotify, 1000ms, true};
}

/// Where the drop rows keep their channels, and on what file system.
std::string drop_dir_note();

/// Publish one 64 B message, wait until the child has claimed, read and
/// acked it.
Row measure_drop_latency(const Context& ctx, const DropSetup& setup);
/// 64 B messages as fast as the parent can publish them; the child claims,
/// reads and acks. Notes messages claimed out of publish order, if any.
Row measure_drop_throughput(const Context& ctx, const DropSetup& setup, const Report& report);

/// How the parent hands a large file to the channel.
enum class LargePublish {
  move,   // publish_file(): an already-written file is renamed in (not timed: the writing)
  write,  // begin_publish(), write the bytes from memory, commit()
};
/// One `size`-byte file at a time; the child map()s it and sums every byte.
Row measure_drop_large(const Context& ctx, LargePublish how, uint64_t size);
/// The baseline: the same bytes through a Unix stream socket, read into a
/// buffer and summed.
Row measure_socket_copy(const Context& ctx, uint64_t size);

/// The request/response payload: a 64 B Data field (bench.capnp's Ping),
/// echoed in a Pong.
constexpr uint64_t kRpcSize = 64;

/// One request/response measurement, reported twice: each call's latency
/// (an rtt row) and the calls per second of the same timed calls (a
/// throughput row; its msgs/s are calls/s).
struct RpcRows {
  Row latency;
  Row rate;
  uint64_t warmup = 0;  // untimed calls before them
};

/// A Client in this process calls a Server in a child (default wait
/// strategy on both sides), 64 B requests echoed: `in_flight` 1 with
/// blocking call(), 8 or 64 with call_async() + poll().
RpcRows measure_rpc(const Context& ctx, unsigned in_flight);

extern template Row measure_ring_rtt<SpscRing>(const Context&, const NamedMode&, uint64_t);
extern template Row measure_ring_rtt<MpmcRing>(const Context&, const NamedMode&, uint64_t);
extern template Row measure_ring_rtt<BroadcastRing>(const Context&, const NamedMode&, uint64_t);
extern template Row measure_shared_throughput<MpmcRing>(const Context&, const Topology&, uint64_t);
extern template Row measure_shared_throughput<BroadcastRing>(const Context&, const Topology&,
                                                             uint64_t);

/// The delivery count's cost (delivery_count.cpp): notes comparing this
/// binary's SPSC and MPMC 64 B rows with ringdrop-pingpong-uncounted's.
void run_delivery_count(const Context& ctx, Report& report);
/// In ringdrop-pingpong-uncounted, run by the above: prints its values.
int print_delivery_count_values(const Context& ctx);

}  // namespace pingpong

// ringdrop-pingpong — cross-process latency and throughput of the SPSC,
// MPMC and broadcast rings, measured side by side with the physical floors
// they cannot beat, with each other, and with the alternatives a user would
// pick instead (pipe, Unix socket, TCP loopback, POSIX and Boost message
// queues, ZeroMQ); and of the file-drop channel.
//
// Processes are fork()ed children, pinned when there are at least two CPUs:
// in two-process rows the parent (or the producer) on one CPU and the child
// (or the consumer) on the other. Every latency row runs through the same
// harness: warm-up round trips first, then one steady_clock timestamp per
// round trip, sorted into p50 / p99 / p99.9.
//
// Round-trip latency rows ("rtt"):
//   call      inproc  A non-inlined function call in one process. Not IPC:
//                     the cost of the harness itself (mostly the clock read).
//   atomic    spin    The physical floor of busy-polling IPC: one std::atomic
//                     <uint64_t> in shared memory; the parent writes i, the
//                     child spins until it sees i and writes i+1, the parent
//                     spins until it sees i+1. One cache line bouncing
//                     between two cores.
//   futex     sleep   The physical floor of sleep-and-wake IPC: the same
//                     ping-pong on a 32-bit word, but each side sleeps in
//                     FUTEX_WAIT and the other wakes it with FUTEX_WAKE.
//   thread-q  spin    The in-process floor: a lock-free SPSC queue between
//                     two threads of one process (after Rigtorp's
//                     SPSCQueue; 1024 slots), pinned like the processes: the
//                     main thread pushes a 64 B message on a ping queue, the
//                     other pops it and pushes it on a pong queue.
//   spsc      spin    ringdrop: a ping ring and a pong ring; the parent
//                     writes a message of `size` bytes into ping (reserve,
//                     memcpy, commit), the child copies it into pong (read,
//                     reserve, memcpy, commit, release), the parent copies
//                     the reply out (read, memcpy, release). Both sides
//                     WaitMode::spin. At 8, 32 and 56 B too (spin only):
//                     with its 8-byte header, a record of up to 56 B fits
//                     one cache line, 64 B needs two.
//   spsc      block   The same with the default WaitStrategy (spin_block,
//                     spin_for 50 us): spins first, sleeps on a futex only
//                     when a wait lasts longer than that.
//   spsc      sleep   The same with spin_block and spin_for 0: every wait
//                     goes to the futex at once, so each message costs a
//                     sleep and a wake. Compare it with the "futex" row.
//   typed     spin/block  The spsc round trip of 64 B with typed messages
//                     (typed_rtt.cpp): an rdbench::Ping built in ring memory
//                     with TypedSender, read in place with TypedReceiver,
//                     echoed as a Pong. "p50/spsc" is the cost of the typing.
//   mpmc      spin/block  The same round trip through two MPMC rings (one
//                     producer and one consumer process on each, "1->1").
//   broadcast spin/block  The same through two broadcast rings (block
//                     policy): the child is the one subscriber of ping and
//                     publishes the echo on pong, of which the parent is the
//                     one subscriber.
//   rpc-call  block   Request/response (rpc_bench.cpp): a ringdrop::Client
//                     in the parent calls a ringdrop::Server in the child
//                     with a bench.capnp Ping whose Data field holds 64 B;
//                     the handler echoes it in a Pong, the parent checks it.
//                     Blocking call(), one call in flight. Both sides wait
//                     with the default strategy (spin_block), so the raw
//                     baseline is the "mpmc block" 64 B row just above it
//                     (requests and replies travel through MPMC rings): a
//                     note gives p50 over that row's p50.
//   rpc-8, rpc-64  block  The same with call_async() and 8 or 64 calls in
//                     flight, topped up from the reply callbacks inside one
//                     poll(). A sample is one call from call_async() to its
//                     callback, waiting behind the calls ahead of it
//                     included. 200000 calls a row (a tenth with --quick)
//                     after a warm-up of a tenth (at least a lap of the
//                     256-cell request ring); the rings are the library's
//                     defaults (256 request cells and 64 reply cells of
//                     4 KiB).
// The floors are measured at 8 bytes, the SPSC ring at 64 B, 4 KiB, 64 KiB
// and 1 MiB (so large rows include three memcpy's of the payload per round
// trip), MPMC and broadcast at 64 B (in 128-byte cells). A latency ring
// holds at least four messages (64 KiB at least) and the warm-up laps it
// once, so no first-touch page fault lands in a timed round trip. Every row
// includes one clock read per round trip: the "call" row is that cost.
// "p50/atomic" is a row's p50 over the atomic floor's p50; "p50/futex" is
// shown for the sleeping rows, over the futex floor's p50; "p50/spsc" over
// the p50 of the SPSC row of the same mode and size.
//
// Zero-copy handover ("rtt" section, alt_zero_copy.cpp), through an SPSC
// ring of 4 MiB, both sides WaitMode::spin; acks on a second, small ring.
// The parent reserves room and writes the payload in place (not timed: an
// "already written" payload, as a producer building its data in the ring
// would have), then the timed part: commit, the child reads the message,
// releases it and commits an 8-byte ack, the parent reads the ack.
//   spsc-zc   spin    64 B and 1 MiB: the child touches only the first 8
//                     bytes (the seq) of the payload.
//   spsc-read spin    1 MiB: the child reads every byte (sums it as 64-bit
//                     words, checked) before it releases. The bytes were
//                     just written on the other CPU, so they cross caches.
//   memcpy    inproc  1 MiB: the baseline, one memcpy in one process from a
//                     buffer just written (not timed) into another.
// 100000 messages of 64 B, 10000 of 1 MiB (a tenth with --quick), after a
// lap of the ring; one sample per message, the timed part only.
//
// The alternatives ("rtt" section, alt_rtt.cpp; alt_transport.hpp has the
// interface, alt_fd/alt_mq/alt_zmq.cpp the mechanisms): the parent sends a
// message of `size` bytes, the child receives it whole and sends it back,
// the parent receives the echo; sizes 64 B, 4 KiB, 64 KiB, 1 MiB.
//   pipe      two pipes, one each way (default 64 KiB each);
//   unix      socketpair(AF_UNIX, SOCK_STREAM), default buffers;
//   tcp       a connection over 127.0.0.1, TCP_NODELAY on both ends;
//   posixmq   two POSIX message queues (mq_open) 10 messages deep (the
//             default msg_max). Only up to /proc/sys/fs/mqueue/msgsize_max
//             (default 8192 B): the benchmark does not raise that
//             system-wide limit, and 10 messages of 64 KiB or 1 MiB would
//             exceed RLIMIT_MSGQUEUE (819200 B), which only CAP_SYS_RESOURCE
//             may raise. A note names the sizes left out;
//   boostmq   two boost::interprocess::message_queue, 10 messages deep;
//   zmq       a ZMQ_PAIR socket each side over ipc:// (abstract socket),
//             each process with its own context and I/O thread. Built only
//             when pkg-config finds libzmq (Debian: libzmq3-dev); else a
//             note says so.
// Streams (pipe, sockets) carry the messages back to back and the receiver
// reads until it has exactly `size` bytes. Each in two modes, so spinning
// compares with spinning and blocking with blocking:
//   block     blocking calls (read/write, mq_send/mq_receive,
//             timed_send/timed_receive, zmq_send/zmq_recv);
//   spin      non-blocking calls retried in a busy loop (O_NONBLOCK fds and
//             queue, try_send/try_receive, ZMQ_DONTWAIT). Two caveats, also
//             noted in the output: ZeroMQ's I/O thread shares its process's
//             CPU with the spinning main thread, and runs only when the
//             scheduler preempts it (2 CPUs for 4 busy threads); Boost's
//             try_* still take a process-shared pthread mutex, which sleeps
//             when contended.
// The rows are time-bounded, not counted (the mechanisms differ a
// thousandfold): a warm-up of 1000 round trips (64 B, 4 KiB), 200 (64 KiB)
// or 20 (1 MiB) — a tenth, at least 20, with --quick — then round trips for
// 1 s (0.1 s), at most 1 M, at least 20. "p50/spsc" is over the SPSC row of
// the same mode ("block" over the spin_block row).
//
// One-way throughput rows ("throughput"), 64 B and larger messages:
//   spsc      spin/block  The parent sends N messages as fast as it can
//                     (reserve, memcpy, stage; publish every 32 messages or
//                     every capacity/4 bytes); the child reads each one,
//                     copies it out and releases in batches of the same
//                     size. The clock runs from the first message until the
//                     child acknowledges the last; a warm-up lap of the ring
//                     comes first. Rings: 4 MiB data, 16 MiB for 1 MiB
//                     messages.
//   mpmc      block   64 B and 4 KiB, topologies 1->1, 2->1 (two producer
//                     processes) and 1->2 (two consumer processes, each
//                     message to one of them).
//   broadcast block   64 B and 4 KiB, one publisher and 1, 2 or 4
//                     subscribers ("1->4"), block policy: each subscriber
//                     receives every message; msgs/s counts messages
//                     published while every subscriber keeps up.
// MPMC and broadcast: a 4 MiB ring of cells (128 B for 64 B messages, 8 KiB
// for 4 KiB ones), every producer and consumer a child process, all waiting
// with the default spin_block strategy, producers publishing and consumers
// releasing in batches of 32 as in the SPSC rows; producers share one CPU,
// consumers the other, so with more processes than cores (2->1, 1->2, 1->4
// on a 2-core machine) the rows measure time-slicing as much as the ring. See
// shared_throughput.cpp for the phases and checks. "/spsc" is msgs/s over
// the SPSC row of the same mode and size.
//   rpc-call, rpc-8, rpc-64  block  The calls per second of the rpc rtt rows'
//                     timed calls (the same measurement, reported again
//                     here): msgs/s counts calls (a request and its reply),
//                     iters the calls completed from the first timed call's
//                     issue to the last reply. Notes give each over the raw
//                     MPMC ring's one-way rate (mpmc block 1->1 64 B above)
//                     and the windowed rows over rpc-call.
//   thread-q  spin    The in-process floor, 64 B: the main thread pushes N
//                     = 20 M messages (2 M with --quick) into the thread
//                     queue, one at a time (no batching), after N/10 of
//                     warm-up; the clock runs until the other thread has
//                     popped the last. First in the section.
//   pipe, unix, tcp, posixmq, boostmq, zmq  block/spin  (alt_throughput.cpp)
//                     The parent sends messages of `size` bytes, one call
//                     each (no batching), the child receives each whole and
//                     checks its seq. A warm-up (10000 messages of 64 B,
//                     2000 of 4 KiB, 200 of 64 KiB, 20 of 1 MiB; a tenth,
//                     at least 20, with --quick) that the child confirms;
//                     then the parent sends for 0.5 s (0.05 s) and an end
//                     marker, and the clock stops when the child has it.
//
// File-drop channel rows (drop_bench.cpp), at the end of each section. The
// parent publishes with a DropChannel, a child consumes with its own
// DropChannel and DropConsumer; each row has a fresh channel directory under
// $TMPDIR or /tmp (the file system is named in a note: on tmpfs there is no
// disk, and /dev/shm would be tmpfs), removed after the row. Not durable
// unless the mechanism is "drop-sync"; the lease and retry options are the
// defaults (no message is redelivered in a healthy run; one would fail it).
// Latency ("rtt" section; no ratio to the shared-memory floors, which
// would mean nothing for file-system work):
//   drop      notify  64 B: the parent publishes one message; the child
//                     claims it (claim with a timeout), read()s it, acks it
//                     and bumps a futex word; the sample runs from publish
//                     start until the parent sees that bump. inotify, the
//                     full scan at its default 1 s (a missed inotify event
//                     would show as a ~1 s p99).
//   drop      poll    The same, polling with scan_interval 10 ms: latency is
//                     mostly the wait for the next scan (uniform over the
//                     interval; the parent sleeps a random part of it before
//                     each publish, so messages arrive at random points of
//                     the child's scan cycle, and that sleep is not timed).
//   drop-sync notify  As drop notify, durable: publish fsyncs the file, its
//                     headers and new/; ack fsyncs the processed key.
// 2000 samples (200 with --quick) after 200 (20) untimed.
// Throughput ("throughput" section):
//   drop      notify/poll  64 B: the parent publishes N = 10000 messages
//                     (1000 with --quick) as fast as it can while the child
//                     claims, reads and acks them; the clock runs from the
//                     first publish until the child has acked the last,
//                     after a fully acked warm-up of N/10. A note reports
//                     messages claimed out of publish order, if any (the
//                     order is documented as best-effort).
//   socket    copy    64 MiB (16 MiB with --quick): the baseline for passing
//                     large data. The parent send()s the bytes from memory
//                     through a Unix stream socket (socketpair, default
//                     buffer sizes); the child read()s all of them into a
//                     buffer (allocated and touched once, before timing),
//                     then sums every byte.
//   drop      move    The same size by reference: the file is already
//                     written beside the channel (not timed); publish_file()
//                     renames it in, the child claims it, map()s it, sums
//                     every byte and acks. Timed from publish_file() until the
//                     parent sees the ack.
//   drop      write   As move, but the parent writes the bytes from memory
//                     into a DropWriter and commits (timed): the whole cost
//                     of handing over bytes that are in memory as a file.
// Large rows: 5 transfers (3 with --quick) after one untimed, one at a time;
// MB/s is bytes over the summed transfer times. A note gives move and write
// over socket copy. The consumer checks every message: the sequence number
// of a small one, the byte sum of a large one. The small-message rows are
// mostly the file system's cost of creating and removing files (several per
// message), which can vary from run to run: ext4 without a journal, for
// one, skips inodes freed in the last minutes when it allocates, so a run
// right after heavy file churn (an earlier run) is slower.
//
// Idle CPU ("idle" section, alt_idle.cpp): the child calls read() on an
// empty SPSC ring; the parent sends nothing for 1 s (0.2 s with --quick),
// then one 64 B message. The row is the child's CPU time
// (CLOCK_PROCESS_CPUTIME_ID) from just before read() to just after it
// returned, with how long it waited, and the ratio ("cpu %").
//   spsc      block   The default strategy (spin_block, spin_for 50 us):
//                     should spin 50 us, then sleep on the futex (it also
//                     wakes every liveness_interval, 50 ms, to check that
//                     its peer lives).
//   spsc      spin    WaitMode::spin, for contrast: all of the wait.
//   futex     timed   The floor of "spsc block": a child that only sleeps
//                     on a futex for as long, waking every liveness
//                     interval (50 ms) as the waiter does; no message.
//
// Delivery count (notes after the idle section, delivery_count.cpp; alone
// with --delivery-count): the cost of issue 13's poison-message count on
// the ordinary path. Four measurements, spsc and mpmc spin rtt 64 B (p50)
// and spsc spin and mpmc 1->1 64 B throughput, made by this binary and by
// ringdrop-pingpong-uncounted (the same code, its rings compiled without the
// count), alternated over 3 rounds; the notes give the medians and their
// ratio (counted over uncounted). Within noise is the expectation.
//
// Columns of the rtt and throughput sections:
//   cpu/msg   CPU time of every process and thread of the row per message;
//             a round trip is two messages (for "call", per call). The
//             floors, thread-q and the alternatives measure it themselves
//             over the timed part: each process's CLOCK_PROCESS_CPUTIME_ID
//             (the child's passed back in shared memory), summed; so do the
//             ring round-trip rows and the SPSC throughput rows. Rows marked
//             "~" (MPMC and broadcast throughput, rpc and drop rows, whose
//             measurements do not) are charged
//             with the whole row instead — getrusage
//             of this process and of its reaped children, set-up, warm-up
//             and the sorting of samples included — over the timed
//             messages plus the warm-up where known (ring and drop rtt,
//             drop throughput): a slight overestimate. A spinning side
//             burns its CPU whether or not a message is there, so spin rows
//             cost about (round trip or wall time) x 2 CPUs. No figure for
//             the zero-copy rows (their untimed writing sits between the
//             samples).
//   memory    Buffer memory the mechanism sets aside for messages in flight,
//             the most it holds before a sender must wait (a limit, not a
//             measured RSS); both directions for rtt rows, one for
//             throughput rows: ring rows the rings' data capacity (rpc
//             rows: the request ring's cells and the reply ring's); atomic
//             and futex the 128-byte line; thread-q its slots; pipe the
//             pipe's capacity (F_GETPIPE_SZ); unix the sender's SO_SNDBUF
//             (a Unix stream charges bytes in flight there); tcp the
//             sender's SO_SNDBUF plus the receiver's SO_RCVBUF, read at the
//             end of the row (TCP autotunes them); posixmq depth x message
//             size; boostmq the queue's shared-memory segment; zmq its
//             high-water marks (1000 messages a side, each way) x message
//             size, kernel socket buffers not counted. "-": unknown or
//             none (drop rows keep their messages in files).
//
// Targets:
//   - busy-spin 64 B round trip within 1.5x of the atomic floor (p50);
//   - busy-spin 64 B round trip at least 4x faster (p50) than the fastest
//     spinning alternative measured;
//   - forced-sleep 64 B round trip within 1.1x of the futex floor (p50);
//   - 64 B one-way throughput of at least 30 M messages/s (spin, batched);
//   - 64 B one-way throughput at least 1.5x that of the fastest alternative
//     measured (either mode);
//   - default mode, peer idle: the waiting consumer burns at most 0.1% of
//     the idle time (taken as "no CPU burned");
//   - zero-copy: handing over an already-written 1 MiB costs within 2x of
//     handing over 64 B (spsc-zc p50s);
//   - zero-copy with the reader touching every byte of 1 MiB within 1.2x of
//     one memcpy of 1 MiB (spsc-read over memcpy p50);
//   - closer to the hardware: SPSC spin round trips of 8-56 B within 1.3x
//     of the atomic floor, 64 B within 1.6x and at or below thread-q; MPMC
//     and broadcast 1->1 64 B msgs/s at least 0.5x SPSC block's, broadcast
//     1->2 0.4x; the blocking call within 1.4x of the raw MPMC round trip;
//     64 async calls in flight at 0.35x raw MPMC msgs/s, p99.9 within 1 ms;
//     the 1 MiB handover read whole within 1.3x of one memcpy.
// They are reported at the end; this is a benchmark, not a test, so missing
// one does not change the exit status.
//
// Options:
//   --quick       10x fewer iterations, 10x shorter time-bounded rows (a
//                 smoke run for CI, about 15-25 s; a full run takes about
//                 2.5-4 minutes on a 2-core machine)
//   --rings       only the floors, the rings' rows and the zero-copy
//                 handover (for work on the rings: about a minute)
//   --rpc         only the raw MPMC round trip (mpmc block 64 B) and the
//                 request/response rows
//   --json FILE   also write one JSON object per row (JSON lines):
//                 {"metric":"rtt"|"throughput"|"idle", "mechanism":"call"|
//                  "atomic"|"futex"|"thread-q"|"spsc"|"mpmc"|"broadcast"|
//                  "spsc-zc"|"spsc-read"|"memcpy"|"pipe"|"unix"|"tcp"|
//                  "posixmq"|"boostmq"|"zmq"|"drop"|"drop-sync"|"socket"|
//                  "rpc-call"|"rpc-8"|"rpc-64",
//                  "mode", "topology" ("1->1", "2->1", "1->2", "1->4"; null
//                  for "call" and "memcpy"), "size", "iters", "p50_ns",
//                  "p99_ns", "p999_ns", "msgs_per_s", "mb_per_s",
//                  "cpu_ns_per_msg", "cpu_scope":"timed"|"row",
//                  "memory_bytes", "idle_ns", "alternative" (true for the
//                  alternatives), "ratio_to_floor", "floor":"atomic"|"futex",
//                  "ratio_to_atomic", "ratio_to_spsc"}, null where a field
//                 does not apply. An idle row has iters 1, idle_ns the wait
//                 and cpu_ns_per_msg the CPU burned over it.
//                 ratio_to_floor is p50 over the row's own floor: the futex
//                 for sleeping rows, the atomic otherwise. ratio_to_spsc is
//                 p50 (rtt) or msgs/s (throughput) over the SPSC row's of
//                 the same metric, mode and size.
// Exit status: 0 on success, 1 on any error (a ringdrop error is printed with
// its message and last_error_detail()), 2 on a usage error. Every blocking
// step has a 10 s timeout; nothing waits forever, and every child is killed
// and reaped on an error (the alternatives' blocking calls are interrupted
// every second by SIGALRM to check theirs, see WatchdogTimer). The shm names
// (ringdrop-pingpong-<pid>-<n>-<i>) are removed as soon as every process has
// opened them, the POSIX and Boost queues as soon as they are made (the
// processes share them across fork), and ZeroMQ uses an abstract socket, so
// even a killed run leaves nothing in /dev/shm or /dev/mqueue.
//
// Files: harness (processes, timing, CPU time), report (table, JSON,
// targets), ring_io (the three ring kinds behind one interface), floors,
// ring_rtt, spsc_throughput, shared_throughput, drop_bench; alt_transport
// (the alternatives behind one interface) with alt_fd, alt_mq, alt_zmq,
// alt_measure (what alt_rtt and alt_throughput share), alt_thread_queue,
// alt_zero_copy, alt_idle; rpc_bench (request/response, with the
// bench-only schema schemas/bench.capnp); benches.hpp lists the measurements.
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "benches.hpp"

namespace pingpong {
namespace {

constexpr uint64_t kSpscSizes[] = {64, 4 * KiB, 64 * KiB, 1 * MiB};
// Small SPSC payloads, spin only: with its 8-byte header a record of up to
// 56 B fits one cache line, 64 B needs two.
constexpr uint64_t kSpscSmallSizes[] = {8, 32, 56};
constexpr uint64_t kSharedRttSize = 64;
constexpr uint64_t kSharedThroughputSizes[] = {64, 4 * KiB};
constexpr Topology kMpmcTopologies[] = {{1, 1, "1->1"}, {2, 1, "2->1"}, {1, 2, "1->2"}};
constexpr Topology kBroadcastTopologies[] = {{1, 1, "1->1"}, {1, 2, "1->2"}, {1, 4, "1->4"}};
constexpr uint64_t kDropLargeSize = 64 * MiB;  // 16 MiB with --quick
constexpr uint64_t kSharedCapacity = 4 * MiB;  // shared_throughput.cpp's ring
constexpr unsigned kRpcInFlight[] = {1, 8, 64};

// ================================================================ whole-row CPU, memory

/// Runs `measure` and charges its row with the CPU time of every process of
/// the row from set-up to teardown (this one's and its reaped children's),
/// over `messages` (a function of the row): for the measurements that do
/// not time their CPU themselves.
template <class Measure, class Messages>
Row with_row_cpu(Measure&& measure, Messages&& messages) {
  const uint64_t before = self_and_children_cpu_ns();
  Row row = measure();
  set_cpu(row, self_and_children_cpu_ns() - before, messages(row));
  row.cpu_whole_row = true;
  return row;
}

/// A ring round-trip row (CPU: the timed round trips, measured by
/// measure_ring_rtt), with the memory of its two rings of rtt_capacity().
template <class Ring>
Row ring_rtt(const Context& ctx, const NamedMode& mode, uint64_t size) {
  Row row = measure_ring_rtt<Ring>(ctx, mode, size);
  row.memory_bytes = 2 * rtt_capacity<Ring>(size);
  return row;
}

/// Messages of a throughput row, the warm-up lap not counted.
uint64_t timed_messages(const Row& row) { return row.iters; }

/// spsc_throughput.cpp's rings: 4 MiB of data (16 MiB for 1 MiB messages)
/// and a 4 KiB ring for the acknowledgements.
uint64_t spsc_throughput_memory(uint64_t size) { return (size >= MiB ? 16 : 4) * MiB + 4 * KiB; }

// ================================================================ sections

/// "mechanism mode [topology] size".
std::string row_label(const Row& r, bool topology) {
  std::string label = std::string(r.mechanism) + " " + r.mode;
  if (topology && r.topology) label += std::string(" ") + r.topology;
  return label + " " + format_size(r.size);
}

/// "rpc-call block 64 B over mpmc block 64 B (p50): 3.10x"; `what` is "p50"
/// (rtt rows) or "calls/s" (throughput rows: msgs/s over msgs/s).
void note_rpc_ratio(const Report& report, const Row& row, const Row& baseline, const char* what) {
  const bool rate = row.metric == Metric::throughput;
  const double value = rate ? row.msgs_per_s : static_cast<double>(row.latency.p50);
  const double reference = rate ? baseline.msgs_per_s : static_cast<double>(baseline.latency.p50);
  if (reference <= 0) return;
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2fx", value / reference);
  report.note((row_label(row, rate) + " over " + row_label(baseline, rate) + " (" + what + "): " + ratio)
                  .c_str());
}

/// The request/response rows, after the raw MPMC round trip of the same
/// mode (`raw`, measured just before); their calls/s go to `rates`, for the
/// throughput section. CPU: the whole row (set-up, warm-up), both rows.
void run_rpc_latency(const Context& ctx, Report& report, const Row& raw, std::vector<Row>& rates) {
  report.note("rpc: a Client (parent) calls a Server (child), 64 B Data echoed; both sides wait");
  report.note("with the default spin_block (mode block). rpc-call: blocking call(), 1 in flight;");
  report.note("rpc-8, rpc-64: call_async + poll, 8 / 64 in flight, each call timed from call_async");
  report.note("to its callback (queueing behind the others included). raw: mpmc block 64 B above");
  for (unsigned in_flight : kRpcInFlight) {
    const uint64_t before = self_and_children_cpu_ns();
    RpcRows rows = measure_rpc(ctx, in_flight);
    const uint64_t cpu = self_and_children_cpu_ns() - before;
    for (Row* row : {&rows.latency, &rows.rate}) {  // a call is two messages
      set_cpu(*row, cpu, 2 * (rows.warmup + rows.latency.iters));
      row->cpu_whole_row = true;
    }
    report.add(rows.latency);
    note_rpc_ratio(report, rows.latency, raw, "p50");
    rates.push_back(rows.rate);
  }
}

/// The floors and the rings; then, unless `rings_only`, request/response.
void run_latency(const Context& ctx, Report& report, std::vector<Row>& rpc_rates, bool rings_only) {
  report.begin_rtt_section();
  report.add(measure_call(ctx));
  report.add(measure_atomic_floor(ctx));
  report.add(measure_futex_floor(ctx));
  report.add(measure_thread_queue_rtt(ctx));
  for (uint64_t size : kSpscSmallSizes) report.add(ring_rtt<SpscRing>(ctx, spin_mode(), size));
  for (const NamedMode& mode : {spin_mode(), block_mode(), sleep_mode()}) {
    for (uint64_t size : kSpscSizes) report.add(ring_rtt<SpscRing>(ctx, mode, size));
  }
  for (const NamedMode& mode : {spin_mode(), block_mode()}) report.add(measure_typed_rtt(ctx, mode, 64));
  std::optional<Row> raw;  // the rpc rows' baseline: mpmc block, 64 B
  for (const NamedMode& mode : {spin_mode(), block_mode()}) {
    const Row mpmc = ring_rtt<MpmcRing>(ctx, mode, kSharedRttSize);
    report.add(mpmc);
    if (std::strcmp(mode.name, "block") == 0) raw = mpmc;
    report.add(ring_rtt<BroadcastRing>(ctx, mode, kSharedRttSize));
  }
  if (!rings_only) run_rpc_latency(ctx, report, *raw, rpc_rates);
}

void run_zero_copy(const Context& ctx, Report& report) {
  report.note("zero-copy handover through an spsc ring (spin): the payload is written in place,");
  report.note("untimed; timed: commit -> child reads (spsc-zc: only the seq; spsc-read: sums");
  report.note("every byte) -> releases -> acks. memcpy: one in-process copy of 1 MiB");
  report.add(measure_handover(ctx, 64, false));
  report.add(measure_handover(ctx, MiB, false));
  report.add(measure_handover(ctx, MiB, true));
  report.add(measure_memcpy(ctx, MiB));
}

/// The sizes a mechanism cannot carry, one note per reason:
/// "posixmq 64 KiB, 1 MiB: not measured: ...".
void note_unsupported(const Report& report, const Mechanism& mechanism) {
  std::vector<std::pair<std::string, std::string>> notes;  // reason, sizes
  for (uint64_t size : kSpscSizes) {
    const std::string reason = mechanism.unsupported(size);
    if (reason.empty()) continue;
    if (notes.empty() || notes.back().first != reason) notes.push_back({reason, ""});
    std::string& sizes = notes.back().second;
    sizes += (sizes.empty() ? "" : ", ") + format_size(size);
  }
  for (const auto& [reason, sizes] : notes) {
    report.note((std::string(mechanism.name) + " " + sizes + ": not measured: " + reason).c_str());
  }
}

/// Every alternative, blocking then spinning, at every size it can carry.
void run_alternatives(const Context& ctx, Report& report, Metric metric) {
  for (const Mechanism& mechanism : alternatives()) {
    note_unsupported(report, mechanism);
    for (const AltWait wait : {AltWait::block, AltWait::spin}) {
      for (uint64_t size : kSpscSizes) {
        if (!mechanism.unsupported(size).empty()) continue;
        report.add(metric == Metric::rtt ? measure_alt_rtt(ctx, mechanism, wait, size)
                                         : measure_alt_throughput(ctx, mechanism, wait, size));
      }
    }
  }
}

void note_alternatives(const Report& report) {
  report.note("alternatives: block = blocking calls, spin = non-blocking calls in a busy loop.");
  report.note("zmq: each process's I/O thread shares its CPU with the main thread, so a spinning");
  report.note("main thread gives way only when preempted; boostmq spin: try_* still take a");
  report.note("process-shared pthread mutex, which sleeps when contended");
}

void run_alternatives_latency(const Context& ctx, Report& report) {
  note_alternatives(report);
  report.note("rtt: fixed-size messages echoed, each round trip timed; 1 s a row (0.1 s --quick)");
  run_alternatives(ctx, report, Metric::rtt);
}

void run_drop_latency(const Context& ctx, Report& report) {
  report.note(drop_dir_note().c_str());
  report.note("drop: publish -> child claims, reads, acks -> parent sees the ack;");
  report.note("notify: inotify; poll: a scan every 10 ms (mostly the wait for it);");
  report.note("drop-sync: durable, publish and ack fsync");
  for (const DropSetup& setup : {drop_notify(), drop_poll(), drop_sync_notify()}) {
    // A tenth of the samples again as warm-up; a round trip is two messages.
    report.add(with_row_cpu([&] { return measure_drop_latency(ctx, setup); },
                            [](const Row& r) { return 2 * (r.iters + r.iters / 10); }));
  }
}

/// Returns the 1->1 row at kRpcSize (the rpc rows' raw baseline).
template <class Ring, size_t N>
std::optional<Row> run_shared_throughput(const Context& ctx, Report& report,
                                         const Topology (&topologies)[N]) {
  std::optional<Row> one_to_one;
  for (uint64_t size : kSharedThroughputSizes) {
    for (const Topology& topology : topologies) {
      Row row = with_row_cpu(
          [&] { return measure_shared_throughput<Ring>(ctx, topology, size); }, timed_messages);
      row.memory_bytes = kSharedCapacity;
      report.add(row);
      if (size == kRpcSize && topology.producers == 1 && topology.consumers == 1) one_to_one = row;
    }
  }
  return one_to_one;
}

/// The calls/s of the rpc rows (measured in the rtt section), over the raw
/// MPMC ring's one-way rate and the windowed ones over the blocking call.
void run_rpc_throughput(Report& report, const std::vector<Row>& rates, const std::optional<Row>& raw) {
  if (rates.empty()) return;  // --rings
  report.note("rpc: calls/s of the rpc rtt rows (msgs/s = calls/s, a call is a request and its");
  report.note("reply), default spin_block; raw: the mpmc block 1->1 64 B one-way rate above");
  for (const Row& row : rates) {
    report.add(row);
    if (raw) note_rpc_ratio(report, row, *raw, "calls/s");
    if (&row != &rates.front()) note_rpc_ratio(report, row, rates.front(), "calls/s");
  }
}

void run_throughput(const Context& ctx, Report& report, const std::vector<Row>& rpc_rates) {
  report.begin_throughput_section();
  report.add(measure_thread_queue_throughput(ctx));
  // CPU: the timed part, measured by measure_spsc_throughput.
  for (uint64_t size : kSpscSmallSizes) {
    Row row = measure_spsc_throughput(ctx, spin_mode(), size);
    row.memory_bytes = spsc_throughput_memory(size);
    report.add(row);
  }
  for (const NamedMode& mode : {spin_mode(), block_mode()}) {
    for (uint64_t size : kSpscSizes) {
      Row row = measure_spsc_throughput(ctx, mode, size);
      row.memory_bytes = spsc_throughput_memory(size);
      report.add(row);
    }
  }
  report.note("mpmc, broadcast: one process per producer / consumer, all waiting with spin_block;");
  report.note("producers share one CPU, consumers the other: with more processes than cores,");
  report.note("they time-slice. broadcast msgs/s: messages published, each received by every");
  report.note("subscriber. /spsc: over the spsc block row of the same size");
  const std::optional<Row> raw = run_shared_throughput<MpmcRing>(ctx, report, kMpmcTopologies);
  run_shared_throughput<BroadcastRing>(ctx, report, kBroadcastTopologies);
  run_rpc_throughput(report, rpc_rates, raw);
}

void run_alternatives_throughput(const Context& ctx, Report& report) {
  report.note("alternatives: one call per message, no batching; 0.5 s a row (0.05 s --quick)");
  run_alternatives(ctx, report, Metric::throughput);
}

void note_ratio(const Report& report, const Row& row, const Row& baseline) {
  char text[96];
  std::snprintf(text, sizeof text, "%s %s over %s %s (MB/s): %.2fx", row.mechanism, row.mode,
                baseline.mechanism, baseline.mode, row.msgs_per_s / baseline.msgs_per_s);
  report.note(text);
}

void run_drop_throughput(const Context& ctx, Report& report) {
  report.note("drop 64 B: published as fast as possible, claimed, read and acked by the child");
  for (const DropSetup& setup : {drop_notify(), drop_poll()}) {
    // A warm-up of a tenth first.
    report.add(with_row_cpu([&] { return measure_drop_throughput(ctx, setup, report); },
                            [](const Row& r) { return r.iters + r.iters / 10; }));
  }
  report.note("large: socket copies the bytes; drop move renames a written file in, drop write");
  report.note("writes it from memory; the child map()s it; both sum every byte");
  const uint64_t size = ctx.divisor > 1 ? kDropLargeSize / 4 : kDropLargeSize;
  const auto plus_warmup = [](const Row& r) { return r.iters + 1; };  // one untimed transfer
  const Row copied = with_row_cpu([&] { return measure_socket_copy(ctx, size); }, plus_warmup);
  report.add(copied);
  for (const LargePublish how : {LargePublish::move, LargePublish::write}) {
    const Row passed =
        with_row_cpu([&] { return measure_drop_large(ctx, how, size); }, plus_warmup);
    report.add(passed);
    note_ratio(report, passed, copied);
  }
}

void run_idle(const Context& ctx, Report& report) {
  report.begin_idle_section();
  report.add(measure_idle_cpu(ctx, block_mode()));
  report.add(measure_idle_cpu(ctx, spin_mode()));
  report.add(measure_idle_floor(ctx));
}

struct Options {
  bool quick = false;
  bool delivery_count_only = false;    // --delivery-count: that section alone
  bool delivery_count_values = false;  // internal: run by run_delivery_count
  bool rings_only = false;             // --rings: the floors and the rings alone
  bool rpc_only = false;               // --rpc: the raw MPMC round trip and request/response
  const char* json_path = nullptr;
};

constexpr const char* kUsage =
    "usage: ringdrop-pingpong [--quick] [--rings] [--rpc] [--delivery-count] [--json FILE]\n"
    "  --quick           10x fewer iterations (smoke run)\n"
    "  --rings           only the floors, the rings and the zero-copy handover\n"
    "  --rpc             only the raw MPMC round trip and the request/response rows\n"
    "  --delivery-count  only the delivery count's cost (counted vs uncounted rings)\n"
    "  --json FILE       also write one JSON object per row to FILE\n";

std::optional<Options> parse_args(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--rings") {
      options.rings_only = true;
    } else if (arg == "--rpc") {
      options.rpc_only = true;
    } else if (arg == "--delivery-count") {
      options.delivery_count_only = true;
    } else if (arg == "--delivery-count-values") {
      options.delivery_count_values = true;
    } else if (arg == "--json" && i + 1 < argc) {
      options.json_path = argv[++i];
    } else {
      return std::nullopt;
    }
  }
  return options;
}

void print_setup(const Context& ctx) {
  std::printf("ringdrop-pingpong %s: ", ctx.divisor > 1 ? "(quick)" : "(full)");
  if (ctx.cpus.parent >= 0) {
    std::printf("parent on cpu %d, child on cpu %d\n", ctx.cpus.parent, ctx.cpus.child);
  } else {
    std::printf("fewer than 2 CPUs, not pinned\n");
  }
}

int run(const Options& options) {
  const auto start = Clock::now();
  Context ctx;
  ctx.cpus = plan_cpus();
  ctx.divisor = options.quick ? 10 : 1;
  pin_to(ctx.cpus.parent);
  if (options.delivery_count_values) return print_delivery_count_values(ctx);
  Report report(options.json_path);
  print_setup(ctx);
  if (options.delivery_count_only) {
    run_delivery_count(ctx, report);
    return 0;
  }
  std::vector<Row> rpc_rates;  // measured with the rpc rtt rows, reported with the throughput
  if (options.rpc_only) {
    report.begin_rtt_section();
    const Row raw = ring_rtt<MpmcRing>(ctx, block_mode(), kSharedRttSize);
    report.add(raw);
    run_rpc_latency(ctx, report, raw, rpc_rates);
    report.begin_throughput_section();
    run_rpc_throughput(report, rpc_rates, std::nullopt);
    report.print_targets();
    return 0;
  }
  run_latency(ctx, report, rpc_rates, options.rings_only);
  run_zero_copy(ctx, report);
  if (options.rings_only) {
    run_throughput(ctx, report, rpc_rates);
    report.print_targets();
    return 0;
  }
  run_alternatives_latency(ctx, report);
  run_drop_latency(ctx, report);
  run_throughput(ctx, report, rpc_rates);
  run_alternatives_throughput(ctx, report);
  run_drop_throughput(ctx, report);
  run_idle(ctx, report);
  run_delivery_count(ctx, report);
  report.print_targets();
  const double seconds = static_cast<double>(ns_between(start, Clock::now())) / 1e9;
  std::printf("\ntotal time %.1f s\n", seconds);
  return 0;
}

}  // namespace
}  // namespace pingpong

int main(int argc, char** argv) {
  const auto options = pingpong::parse_args(argc, argv);
  if (!options) {
    std::fputs(pingpong::kUsage, stderr);
    return 2;
  }
  try {
    return pingpong::run(*options);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "ringdrop-pingpong: %s\n", e.what());
    return 1;
  }
}

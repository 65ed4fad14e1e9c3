// ringdrop-pingpong — cross-process latency and throughput of the SPSC,
// MPMC and broadcast rings, measured side by side with the physical floors
// they cannot beat, and with each other; and of the file-drop channel.
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
//   spsc      spin    ringdrop: a ping ring and a pong ring; the parent
//                     writes a message of `size` bytes into ping (reserve,
//                     memcpy, commit), the child copies it into pong (read,
//                     reserve, memcpy, commit, release), the parent copies
//                     the reply out (read, memcpy, release). Both sides
//                     WaitMode::spin.
//   spsc      block   The same with the default WaitStrategy (spin_block,
//                     spin_for 50 us): spins first, sleeps on a futex only
//                     when a wait lasts longer than that.
//   spsc      sleep   The same with spin_block and spin_for 0: every wait
//                     goes to the futex at once, so each message costs a
//                     sleep and a wake. Compare it with the "futex" row.
//   mpmc      spin/block  The same round trip through two MPMC rings (one
//                     producer and one consumer process on each, "1->1").
//   broadcast spin/block  The same through two broadcast rings (block
//                     policy): the child is the one subscriber of ping and
//                     publishes the echo on pong, of which the parent is the
//                     one subscriber.
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
// with the default spin_block strategy; producers share one CPU, consumers
// the other, so with more processes than cores (2->1, 1->2, 1->4 on a
// 2-core machine) the rows measure time-slicing as much as the ring. See
// shared_throughput.cpp for the phases and checks. "/spsc" is msgs/s over
// the SPSC row of the same mode and size.
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
// Targets:
//   - busy-spin 64 B round trip within 1.5x of the atomic floor (p50);
//   - 64 B one-way throughput of at least 30 M messages/s (spin);
//   - forced-sleep 64 B round trip within 1.1x of the futex floor (p50).
// They are reported at the end; this is a benchmark, not a test, so missing
// one does not change the exit status.
//
// Options:
//   --quick       10x fewer iterations (a smoke run for CI, about 15 s)
//   --json FILE   also write one JSON object per row (JSON lines):
//                 {"metric":"rtt"|"throughput", "mechanism":"call"|"atomic"|
//                  "futex"|"spsc"|"mpmc"|"broadcast"|"drop"|"drop-sync"|
//                  "socket", "mode", "topology"
//                  ("1->1", "2->1", "1->2", "1->4"; null for "call"),
//                  "size", "iters", "p50_ns", "p99_ns", "p999_ns",
//                  "msgs_per_s", "mb_per_s", "ratio_to_floor",
//                  "floor":"atomic"|"futex", "ratio_to_atomic",
//                  "ratio_to_spsc"}, null where a field does not apply.
//                 ratio_to_floor is p50 over the row's own floor: the futex
//                 for sleeping rows, the atomic otherwise. ratio_to_spsc is
//                 p50 (rtt) or msgs/s (throughput) over the SPSC row's of
//                 the same metric, mode and size.
// Exit status: 0 on success, 1 on any error (a ringdrop error is printed with
// its message and last_error_detail()), 2 on a usage error. Every blocking
// step has a 10 s timeout; nothing waits forever, and every child is killed
// and reaped on an error. The shm names (ringdrop-pingpong-<pid>-<n>-<i>)
// are removed as soon as every process has opened them, so even a killed
// run leaves nothing in /dev/shm.
//
// Files: harness (processes, timing), report (table, JSON), ring_io (the
// three ring kinds behind one interface), floors, ring_rtt, spsc_throughput,
// shared_throughput, drop_bench; benches.hpp lists the measurements.
#include <cstdio>
#include <optional>
#include <string>

#include "benches.hpp"

namespace pingpong {
namespace {

constexpr uint64_t kSpscSizes[] = {64, 4 * KiB, 64 * KiB, 1 * MiB};
constexpr uint64_t kSharedRttSize = 64;
constexpr uint64_t kSharedThroughputSizes[] = {64, 4 * KiB};
constexpr Topology kMpmcTopologies[] = {{1, 1, "1->1"}, {2, 1, "2->1"}, {1, 2, "1->2"}};
constexpr Topology kBroadcastTopologies[] = {{1, 1, "1->1"}, {1, 2, "1->2"}, {1, 4, "1->4"}};
constexpr uint64_t kDropLargeSize = 64 * MiB;  // 16 MiB with --quick

void run_latency(const Context& ctx, Report& report) {
  report.begin_rtt_section();
  report.add(measure_call(ctx));
  report.add(measure_atomic_floor(ctx));
  report.add(measure_futex_floor(ctx));
  for (const NamedMode& mode : {spin_mode(), block_mode(), sleep_mode()}) {
    for (uint64_t size : kSpscSizes) report.add(measure_ring_rtt<SpscRing>(ctx, mode, size));
  }
  for (const NamedMode& mode : {spin_mode(), block_mode()}) {
    report.add(measure_ring_rtt<MpmcRing>(ctx, mode, kSharedRttSize));
    report.add(measure_ring_rtt<BroadcastRing>(ctx, mode, kSharedRttSize));
  }
}

void run_drop_latency(const Context& ctx, Report& report) {
  report.note(drop_dir_note().c_str());
  report.note("drop: publish -> child claims, reads, acks -> parent sees the ack;");
  report.note("notify: inotify; poll: a scan every 10 ms (mostly the wait for it);");
  report.note("drop-sync: durable, publish and ack fsync");
  for (const DropSetup& setup : {drop_notify(), drop_poll(), drop_sync_notify()}) {
    report.add(measure_drop_latency(ctx, setup));
  }
}

template <class Ring, size_t N>
void run_shared_throughput(const Context& ctx, Report& report, const Topology (&topologies)[N]) {
  for (uint64_t size : kSharedThroughputSizes) {
    for (const Topology& topology : topologies) {
      report.add(measure_shared_throughput<Ring>(ctx, topology, size));
    }
  }
}

void run_throughput(const Context& ctx, Report& report) {
  report.begin_throughput_section();
  for (const NamedMode& mode : {spin_mode(), block_mode()}) {
    for (uint64_t size : kSpscSizes) report.add(measure_spsc_throughput(ctx, mode, size));
  }
  report.note("mpmc, broadcast: one process per producer / consumer, all waiting with spin_block;");
  report.note("producers share one CPU, consumers the other: with more processes than cores,");
  report.note("they time-slice. broadcast msgs/s: messages published, each received by every");
  report.note("subscriber. /spsc: over the spsc block row of the same size");
  run_shared_throughput<MpmcRing>(ctx, report, kMpmcTopologies);
  run_shared_throughput<BroadcastRing>(ctx, report, kBroadcastTopologies);
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
    report.add(measure_drop_throughput(ctx, setup, report));
  }
  report.note("large: socket copies the bytes; drop move renames a written file in, drop write");
  report.note("writes it from memory; the child map()s it; both sum every byte");
  const uint64_t size = ctx.divisor > 1 ? kDropLargeSize / 4 : kDropLargeSize;
  const Row copied = measure_socket_copy(ctx, size);
  report.add(copied);
  for (const LargePublish how : {LargePublish::move, LargePublish::write}) {
    const Row passed = measure_drop_large(ctx, how, size);
    report.add(passed);
    note_ratio(report, passed, copied);
  }
}

struct Options {
  bool quick = false;
  const char* json_path = nullptr;
};

constexpr const char* kUsage =
    "usage: ringdrop-pingpong [--quick] [--json FILE]\n"
    "  --quick      10x fewer iterations (smoke run)\n"
    "  --json FILE  also write one JSON object per row to FILE\n";

std::optional<Options> parse_args(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      options.quick = true;
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
  Report report(options.json_path);
  print_setup(ctx);
  run_latency(ctx, report);
  run_drop_latency(ctx, report);
  run_throughput(ctx, report);
  run_drop_throughput(ctx, report);
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

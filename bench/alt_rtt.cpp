// alt_rtt.cpp — round-trip latency through an alternative: the parent
// sends a `size`-byte message (its seq in the first 8 bytes), the child
// receives it whole and sends it back, the parent receives the echo and
// checks the seq. One timestamp per round trip, as for every rtt row. The
// warm-up is a fixed count (1000 round trips of 64 B or 4 KiB, 200 of
// 64 KiB, 20 of 1 MiB; a tenth, at least 20, with --quick); then round
// trips for 1 s (0.1 s with --quick), at most 1 M (100 k), at least 20.
#include "alt_measure.hpp"
#include "benches.hpp"

namespace pingpong {

namespace {

constexpr std::chrono::nanoseconds kRttBudget = 1s;
constexpr uint64_t kMaxRttSamples = 1'000'000;

uint64_t rtt_warmup(uint64_t size) {
  if (size <= 4 * KiB) return 1000;
  return size <= 64 * KiB ? 200 : 20;
}

/// Child side: echoes every message until the end marker.
void echo_until_end(Link& link, Tally& ready, ChildReport& report, uint64_t warmup,
                    uint64_t size) {
  WatchdogTimer watchdog;
  const auto end = link.child_end();
  std::vector<std::byte> message(size);
  arrive(ready);
  uint64_t cpu_start = 0;
  for (uint64_t seq = 0;; ++seq) {
    if (seq == warmup) cpu_start = process_cpu_ns();
    end->receive(message);
    const uint64_t got = seq_of(message);
    if (got == kEndSeq) break;
    if (got != seq) throw BenchError("echo: a message out of order");
    end->send(message);
  }
  report.cpu_ns = process_cpu_ns() - cpu_start;
  report.buffer_bytes = end->buffer_bytes(true) + end->buffer_bytes(false);
}

struct Shared {
  Tally ready;
  ChildReport child;
};

}  // namespace

Row measure_alt_rtt(const Context& ctx, const Mechanism& mechanism, AltWait wait, uint64_t size) {
  const auto link = mechanism.make(LinkSpec{wait, size, true});
  SharedMemory<Shared> shared;
  const Counts limit{ctx.scaled(rtt_warmup(size)), ctx.scaled(kMaxRttSamples)};
  Child child(ctx.cpus.child,
              [&] { echo_until_end(*link, shared->ready, shared->child, limit.warmup, size); });
  WatchdogTimer watchdog;
  const auto end = link->parent_end();
  await(shared->ready, 1, "waiting for the child", [&] { child.throw_if_exited(); });
  std::vector<std::byte> out(size, std::byte{0x5a});
  std::vector<std::byte> in(size);
  auto timed = time_round_trips_within(limit, ctx.scaled(kRttBudget), [&](uint64_t seq) {
    stamp(out, seq);
    end->send(out);
    end->receive(in);
    if (seq_of(in) != seq) throw BenchError("echo out of order");
  });
  stamp(out, kEndSeq);
  end->send(out);
  const uint64_t memory = end->buffer_bytes(true) + end->buffer_bytes(false);
  child.wait();
  Row row = rtt_row(mechanism.name, wait_name(wait), "1->1", size, std::move(timed.samples));
  finish_alt_row(row, timed.cpu_ns + shared->child.cpu_ns, 2 * row.iters,
                 memory + shared->child.buffer_bytes);
  return row;
}

}  // namespace pingpong

// alt_throughput.cpp — one-way throughput through an alternative: the
// parent sends `size`-byte messages (seq in the first 8 bytes) as fast as
// the mechanism takes them, one call per message; the child receives each
// whole and checks its seq. A warm-up (10000 messages of 64 B, 2000 of
// 4 KiB, 200 of 64 KiB, 20 of 1 MiB; a tenth, at least 20, with --quick)
// ends when the child says it has all of it; then the parent sends for
// 0.5 s (0.05 s with --quick) and an end marker, and the clock runs until
// the child says it has received the marker.
#include "alt_measure.hpp"
#include "benches.hpp"

namespace pingpong {

namespace {

constexpr std::chrono::nanoseconds kThroughputBudget = 500ms;

uint64_t throughput_warmup(uint64_t size) {
  if (size <= 64) return 10'000;
  if (size <= 4 * KiB) return 2'000;
  return size <= 64 * KiB ? 200 : 20;
}

struct Shared {
  Tally ready;
  Tally warm;
  Tally done;
  ChildReport child;
};

/// Receives the messages from `first` on, checking their order, until the
/// end marker (if `until_end`) or `count` of them. Returns how many.
uint64_t receive_run(Endpoint& end, std::span<std::byte> message, uint64_t first, uint64_t count,
                     bool until_end) {
  uint64_t seq = first;
  for (; until_end || seq < first + count; ++seq) {
    end.receive(message);
    const uint64_t got = seq_of(message);
    if (until_end && got == kEndSeq) break;
    if (got != seq) throw BenchError("throughput: a message out of order");
  }
  return seq - first;
}

/// Child side: the warm-up, then the timed messages until the end marker.
void receive_all(Link& link, Shared& shared, uint64_t warmup, uint64_t size) {
  WatchdogTimer watchdog;
  const auto end = link.child_end();
  std::vector<std::byte> message(size);
  arrive(shared.ready);
  receive_run(*end, message, 0, warmup, false);
  arrive(shared.warm);
  const uint64_t cpu_start = process_cpu_ns();
  shared.child.received = receive_run(*end, message, warmup, 0, true);
  shared.child.cpu_ns = process_cpu_ns() - cpu_start;
  shared.child.buffer_bytes = end->buffer_bytes(false);
  arrive(shared.done);
}

/// Sends from `seq` on until `until`, reading the clock every `check_every`
/// messages. Returns the next seq.
uint64_t send_until(Endpoint& end, std::span<std::byte> message, uint64_t seq,
                    Clock::time_point until, uint64_t check_every) {
  do {
    for (uint64_t i = 0; i < check_every; ++i, ++seq) {
      stamp(message, seq);
      end.send(message);
    }
  } while (Clock::now() < until);
  return seq;
}

}  // namespace

Row measure_alt_throughput(const Context& ctx, const Mechanism& mechanism, AltWait wait,
                           uint64_t size) {
  const auto link = mechanism.make(LinkSpec{wait, size, false});
  SharedMemory<Shared> shared;
  const uint64_t warmup = ctx.scaled(throughput_warmup(size));
  Child child(ctx.cpus.child, [&] { receive_all(*link, *shared, warmup, size); });
  WatchdogTimer watchdog;
  const auto end = link->parent_end();
  const auto watch = [&] { child.throw_if_exited(); };
  await(shared->ready, 1, "waiting for the child", watch);
  std::vector<std::byte> message(size, std::byte{0x5a});
  for (uint64_t seq = 0; seq < warmup; ++seq) {
    stamp(message, seq);
    end->send(message);
  }
  await(shared->warm, 1, "waiting for the warm-up", watch);
  const auto start = Clock::now();
  const uint64_t cpu_start = process_cpu_ns();
  const uint64_t next = send_until(*end, message, warmup, start + ctx.scaled(kThroughputBudget),
                                   size <= 4 * KiB ? 64 : 1);
  stamp(message, kEndSeq);
  end->send(message);
  await(shared->done, 1, "waiting for the last message", watch);
  const double seconds = static_cast<double>(ns_between(start, Clock::now())) / 1e9;
  const uint64_t cpu = process_cpu_ns() - cpu_start;
  const uint64_t memory = end->buffer_bytes(true);
  child.wait();
  const uint64_t sent = next - warmup;
  if (shared->child.received != sent) throw BenchError("throughput: messages lost");
  Row row = throughput_row(mechanism.name, wait_name(wait), "1->1", size, sent, seconds);
  finish_alt_row(row, cpu + shared->child.cpu_ns, sent, memory + shared->child.buffer_bytes);
  return row;
}

}  // namespace pingpong

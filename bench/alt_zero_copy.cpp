// alt_zero_copy.cpp — what handing over a payload costs when nothing is
// copied. Through an SPSC ring of 4 MiB (spin mode; acks on a small second
// ring), the parent reserves room for a message, writes the payload into it
// (not timed: "already written", as by a producer that builds its data in
// place), then the timed part: commit, the child reads the message, then
//   spsc-zc    releases it without touching the payload (only its first 8
//              bytes, the seq) — at 64 B and at 1 MiB;
//   spsc-read  reads every byte of it (sums it as 64-bit words, checked)
//              before releasing — at 1 MiB;
// and commits an 8-byte ack on the second ring, which the parent reads.
//   memcpy     inproc: the baseline, one memcpy of 1 MiB in one process from
//              a buffer just written (not timed) into another.
// One sample per message, the timed part only. No CPU figure: the untimed
// writing sits between the samples.
#include "benches.hpp"

namespace pingpong {

namespace {

constexpr uint64_t kCapacity = 4 * MiB;
constexpr uint64_t kAckCapacity = 4096;

uint64_t handover_iters(uint64_t size) { return size <= 64 ? 100'000 : 10'000; }

/// The byte the payload of message `seq` is filled with.
std::byte fill_of(uint64_t seq) { return static_cast<std::byte>(seq * 7 + 1); }

/// The payload of message `seq`: fill_of(seq) everywhere, then seq in the first 8 bytes.
void write_payload(std::span<std::byte> payload, uint64_t seq) {
  std::memset(payload.data(), static_cast<int>(fill_of(seq)), payload.size());
  std::memcpy(payload.data(), &seq, sizeof seq);
}

/// Sums every byte, 8 at a time (size is a multiple of 8).
uint64_t sum_words(std::span<const std::byte> bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, sizeof word);
    sum += word;
  }
  return sum;
}

/// What sum_words gives for the payload of message `seq`.
uint64_t expected_sum(uint64_t seq, uint64_t size) {
  uint64_t word;
  std::memset(&word, static_cast<int>(fill_of(seq)), sizeof word);
  return seq + (size / 8 - 1) * word;
}

/// Child side: takes each message, reads all of it or only its seq, acks.
void take_messages(const RingNames& names, uint64_t size, uint64_t count, bool read_all) {
  auto ends = open_child_ends<SpscRing>(names, spin_wait());
  send_ack(ends.tx, kAttached);
  for (uint64_t seq = 0; seq < count; ++seq) {
    const auto view = read_or_wait(ends.rx);
    if (view.size() != size) throw BenchError("handover: a message of the wrong size");
    uint64_t got = 0;
    std::memcpy(&got, view.data(), sizeof got);
    if (got != seq) throw BenchError("handover: a message out of order");
    if (read_all && sum_words(view) != expected_sum(seq, size)) {
      throw BenchError("handover: wrong payload");
    }
    release_reads(ends.rx);
    send_ack(ends.tx, seq);
  }
}

}  // namespace

Row measure_handover(const Context& ctx, uint64_t size, bool read_all) {
  const uint64_t iters = ctx.scaled(handover_iters(size));
  const Counts counts{warmup_for<SpscRing>(iters, kCapacity, size), iters};
  RingNames names(2);
  auto ends =
      create_parent_ends_with_acks<SpscRing>(names, kCapacity, size, spin_wait(), kAckCapacity);
  Child child(ctx.cpus.child,
              [&] { take_messages(names, size, counts.warmup + counts.iters, read_all); });
  await_attached(ends.rx, names, child);
  auto samples = time_each(
      counts, [&](uint64_t seq) { write_payload(reserve_or_wait(ends.tx, size), seq); },
      [&](uint64_t seq) {
        check(ends.tx.commit(size), "commit");
        expect_ack(ends.rx, seq);
      });
  child.wait();
  Row row = rtt_row(read_all ? "spsc-read" : "spsc-zc", "spin", "1->1", size, std::move(samples));
  row.memory_bytes = kCapacity + kAckCapacity;
  return row;
}

Row measure_memcpy(const Context& ctx, uint64_t size) {
  const uint64_t iters = ctx.scaled(handover_iters(size));
  std::vector<std::byte> from(size), to(size);
  auto samples = time_each(
      Counts{iters / 10, iters}, [&](uint64_t seq) { write_payload(from, seq); },
      [&](uint64_t) {
        std::memcpy(to.data(), from.data(), size);
        __asm__ __volatile__("" : : "r"(to.data()) : "memory");  // the copy is used
      });
  return rtt_row("memcpy", "inproc", nullptr, size, std::move(samples));
}

}  // namespace pingpong

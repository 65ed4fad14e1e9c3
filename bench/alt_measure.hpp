// alt_measure.hpp — what alt_rtt.cpp and alt_throughput.cpp share: message
// stamps, the end marker, the row's time budgets and the rows' set-up.
//
// The rows of the alternatives are time-bounded rather than counted (their
// speeds differ a thousandfold): a fixed warm-up count, known to both
// processes, then as many messages as fit in the row's budget, then one
// end marker. CPU time is each process's CLOCK_PROCESS_CPUTIME_ID (every
// thread: ZeroMQ's I/O thread too) over the timed part, the child's passed
// back in shared memory.
#pragma once

#include <cstring>
#include <span>

#include "alt_transport.hpp"
#include "report.hpp"

namespace pingpong {

constexpr uint64_t kEndSeq = ~uint64_t{0};

/// Puts `seq` in the first 8 bytes (every message is at least 64 B).
inline void stamp(std::span<std::byte> message, uint64_t seq) {
  std::memcpy(message.data(), &seq, sizeof seq);
}

inline uint64_t seq_of(std::span<const std::byte> message) {
  uint64_t seq = 0;
  std::memcpy(&seq, message.data(), sizeof seq);
  return seq;
}

/// What the child reports when it is done.
struct ChildReport {
  alignas(128) std::atomic<uint64_t> cpu_ns{0};        // over the timed part
  std::atomic<uint64_t> buffer_bytes{0};               // its end's share of memory_bytes
  std::atomic<uint64_t> received{0};                   // timed messages (throughput)
};

/// The common fields of an alternative's row.
inline void finish_alt_row(Row& row, uint64_t cpu_ns, uint64_t messages, uint64_t memory) {
  row.alternative = true;
  set_cpu(row, cpu_ns, messages);
  row.memory_bytes = memory;
}

}  // namespace pingpong

// ringdrop/wait.hpp — how a blocked caller waits, and for how long.
//
// Every blocking ringdrop call takes either a timeout (a duration) or a
// deadline (a point on the monotonic clock); there is no call that can wait
// forever. A zero timeout, or a deadline already past, looks once and
// reports errc::timed_out if there is nothing; the `try_` calls look once
// and report errc::would_block.
//
// While it waits, a caller first spins for `spin_for`, re-checking the ring;
// a prompt peer is then answered in well under a microsecond. After that it
// follows `mode`:
//   - spin:       keeps spinning (lowest latency, burns a core while idle);
//   - spin_yield: calls sched_yield between checks (a core stays busy, but
//                 gives way to other runnable threads);
//   - spin_block: sleeps on a futex in the shared segment; the peer wakes it
//                 with one syscall, and only when someone is asleep. An idle
//                 waiter uses no CPU. This is the default. Before each sleep
//                 the waiter looks for 2 µs more (the handshake's settle
//                 time, even with spin_for 0), which lets its peers publish
//                 without a fence.
// Whatever the mode, every `liveness_interval` the waiter checks that its
// peer process still runs, so a crashed peer is reported as `peer_gone`
// instead of a wait that ends only at its deadline. (A peer that detaches
// cleanly wakes the waiter at once.)
#pragma once

#include <chrono>

namespace ringdrop {

/// CLOCK_MONOTONIC: unaffected by changes to the wall clock.
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

enum class WaitMode { spin, spin_yield, spin_block };

struct WaitStrategy {
  WaitMode mode = WaitMode::spin_block;
  /// How long to spin before yielding or sleeping. The default is about the
  /// cost of one sleep-and-wake on a virtual machine, the point past which
  /// spinning longer costs more than it can save.
  std::chrono::nanoseconds spin_for = std::chrono::microseconds(50);
  /// How often a waiting caller checks that its peer is alive.
  std::chrono::nanoseconds liveness_interval = std::chrono::milliseconds(50);
};

/// Deadline `timeout` from now, saturating instead of overflowing.
inline Deadline deadline_after(std::chrono::nanoseconds timeout) noexcept {
  const auto now = Clock::now();
  if (timeout > Deadline::max() - now) return Deadline::max();
  return now + timeout;
}

}  // namespace ringdrop

// wait_line.hpp — sleeping on a shared futex without lost wake-ups, and
// without a syscall on the fast path.
//
// A WaitLine sits in the segment, one per direction of waiting (consumers
// waiting for data, producers waiting for space). Up to 64 waiters share
// one: each sleeps under its own bit of `sleepers` (its peer index; the SPSC
// ring's single waiter uses bit 0), so the bit of a waiter that died asleep
// can be cleared by whoever reaps it.
//
// The protocol is Dekker's, with the futex word as the sleep token:
//
//   waiter                                  waker
//   s = seq                                 index.store(new, release)   -- W2
//   sleepers.fetch_or(me, seq_cst)  -- W1   if (sleepers.load(seq_cst)) -- R2
//   if (!index.load(seq_cst) moved) -- R1       { ++seq; futex_wake(seq) }
//     (R1 again, for kSettle)
//       futex_wait(seq, s)
//   sleepers.fetch_and(~me)
//
// Dekker needs a StoreLoad fence on both sides. The waiter has one (its
// fetch_or is a locked RMW, and it is on its way to a syscall anyway). The
// waker does not: a seq_cst store there (an xchg on x86) waits for the
// store buffer to drain, for the cache line of the record being
// published, and measured ~150 ns of a 750 ns SPSC round trip. So W2 is a
// release store, and the waker's R2 may read the flag before W2 is visible
// to the waiter. The race that leaves open: the waiter sets its flag (W1,
// visible once the locked RMW completes), R1 misses W2 still in the
// waker's store buffer, and R2 read the flag before W1. (Measured: with
// nothing more, about one sleep in a thousand of a sleeping ping-pong.)
// What closes it: after W1 the waiter keeps repeating R1 for kSettle
// before it sleeps. A waker whose R2 missed W1 had executed W2 before R2,
// by then at the latest, and a store buffer drains as fast as the cache
// lines of its stores can be owned: well under a microsecond, a few for a
// buffer full of a large copy's stores. So R1 sees W2 within kSettle, and
// a waker whose R2 comes after W1 sees the flag. This is an argument about
// the hardware, not the C++ memory model, which allows the race (release
// W2, then R2: store buffering), and which ThreadSanitizer, not modelling
// store buffers, cannot see. Should a store ever take longer to drain (a
// host stalled between the waker's store and its drain), the wake-up is
// late, never lost: every sleep ends at the liveness interval, or at the
// deadline, whichever comes first. (On ARMv8, POWER and RISC-V a seq_cst
// load is ordered after an earlier release store: there is no race.)
//
// Cost to the waker on the fast path: a plain store and one load of a line
// it does not write. The syscall only when someone sleeps (or settles: a
// waker that sees the flag then wakes it needlessly). The waiter pays
// kSettle of looking each time it goes to sleep.
//
// A waiter that dies asleep leaves its bit set: wakers then make a needless
// syscall until the next holder of that role or peer slot clears it. A peer that
// leaves (detaches) wakes the waiter unconditionally, and a waiter woken with
// nothing to read judges its peer at once, so departures are seen promptly;
// deaths are seen at the next liveness check.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <system_error>

#include "core/platform.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop::detail {

struct WaitLine {
  std::atomic<uint32_t> seq;       // futex word
  uint32_t reserved;
  std::atomic<uint64_t> sleepers;  // bit i: waiter i may be in futex_wait
  std::atomic<uint64_t> sleeps;    // times a waiter went to sleep (statistics)
};

/// Clears the sleeping bit of a waiter that is gone (or a new holder's).
inline void forget_sleeper(WaitLine& line, uint64_t bit) noexcept {
  line.sleepers.fetch_and(~bit, std::memory_order_relaxed);
}

/// How long a waiter keeps looking after it raised its flag (see above).
inline constexpr std::chrono::microseconds kSettle{2};

/// R1 of the handshake, repeated for kSettle: whether `ready()` came true.
template <class Ready>
bool settled(Ready& ready) noexcept {
  if (ready()) return true;
  const Deadline until = Clock::now() + kSettle;
  do {
    RINGDROP_CPU_RELAX();
    if (ready()) return true;
  } while (Clock::now() < until);
  return false;
}

/// Called by the waker right after it published its index (W2 above):
/// wakes the waiter if it sleeps.
inline void notify(WaitLine& line) noexcept {
  // seq_cst: R2 above (a plain load on x86; the waker's W2 may still be in
  // its store buffer, which the waiter's settle covers).
  if (line.sleepers.load(std::memory_order_seq_cst) != 0) {
    // relaxed: seq carries no data, only "something changed"; the waiter
    // re-reads the ring's own index with acquire after waking.
    line.seq.fetch_add(1, std::memory_order_relaxed);
    futex_wake_all(line.seq);
  }
}

/// Wakes every waiter whether or not it looks asleep (a peer is leaving:
/// waiters should learn it now, not at their next liveness check).
inline void wake_all(WaitLine& line) noexcept {
  line.seq.fetch_add(1, std::memory_order_relaxed);
  futex_wake_all(line.seq);
}

/// Waits, sleeping under bit `me` of the line, until `ready()` is true
/// (returns {}), the deadline passes
/// (errc::timed_out) or `peer_gone()` says the peer died or left while the
/// ring stayed not-ready (errc::peer_gone). `ready()` must load the peer's
/// index with seq_cst (R1 above).
/// `t + d`, saturating at the end of time instead of overflowing.
inline Deadline later(Deadline t, std::chrono::nanoseconds d) noexcept {
  return d >= Deadline::max() - t ? Deadline::max() : t + d;
}

template <class Ready, class PeerGone>
std::error_code wait_until(const WaitStrategy& how, WaitLine& line, uint64_t me,
                           Deadline deadline, Ready&& ready, PeerGone&& peer_gone) {
  auto now = Clock::now();
  const Deadline spin_until = later(now, how.spin_for);
  Deadline next_liveness = later(now, how.liveness_interval);
  for (unsigned i = 0;; ++i) {
    if (ready()) return {};
    // Reading the clock costs ~20 ns; do it once every 64 checks.
    if ((i & 63) != 0) {
      RINGDROP_CPU_RELAX();
      continue;
    }
    now = Clock::now();
    if (now >= next_liveness) {
      // The order matters: judge the peer first, then look at the ring once
      // more. A dead peer writes nothing more, so "dead, then still not
      // ready" means everything it committed has been seen.
      if (peer_gone()) return ready() ? std::error_code{} : make_error_code(errc::peer_gone);
      next_liveness = later(now, how.liveness_interval);
    }
    if (now >= deadline) return ready() ? std::error_code{} : make_error_code(errc::timed_out);
    if (now < spin_until || how.mode == WaitMode::spin) {
      RINGDROP_CPU_RELAX();
    } else if (how.mode == WaitMode::spin_yield) {
      sched_yield();
    } else {
      // relaxed: seq is only compared by the kernel; the ring state itself
      // is re-read by ready() below.
      const uint32_t token = line.seq.load(std::memory_order_relaxed);
      // seq_cst: W1 above; ready() must load the index with seq_cst (R1).
      line.sleepers.fetch_or(me, std::memory_order_seq_cst);
      bool woken_for_nothing = false;
      if (!settled(ready)) {
        line.sleeps.fetch_add(1, std::memory_order_relaxed);
        now = Clock::now();  // kSettle later
        futex_wait(line.seq, token, std::max<std::chrono::nanoseconds>(std::min(deadline, next_liveness) - now, {}));
        woken_for_nothing = !ready();
      }
      forget_sleeper(line, me);
      // A departing peer wakes us: judge it now (dead, then still not ready).
      if (woken_for_nothing && peer_gone()) {
        return ready() ? std::error_code{} : make_error_code(errc::peer_gone);
      }
    }
  }
}

}  // namespace ringdrop::detail

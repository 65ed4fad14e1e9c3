// wait_line.hpp — sleeping on a shared futex without lost wake-ups, and
// without a syscall on the fast path.
//
// A WaitLine sits in the segment, one per direction of waiting (the consumer
// waiting for data, the producer waiting for space). It has one waiter at a
// time, the process holding that role.
//
// The protocol is Dekker's, with the futex word as the sleep token:
//
//   waiter                                 waker (after publishing)
//   s = seq                                publish (store tail/head)
//   sleeping = 1                           fence(seq_cst)        -- F2
//   fence(seq_cst)          -- F1          if (sleeping) {
//   if (!ready()) futex_wait(seq, s)           ++seq; futex_wake(seq) }
//   sleeping = 0
//
// The two seq_cst fences order "sleeping = 1 ; read ready" against
// "publish ; read sleeping": at least one side sees the other's store. Either
// the waiter sees the data and does not sleep, or the waker sees the flag and
// bumps `seq`, which makes the waiter's futex_wait return at once (the kernel
// compares seq with s atomically) or wakes it. The waker pays one fence and
// one load on a line it does not write; the syscall only when someone sleeps.
//
// A waiter that dies asleep leaves sleeping == 1: wakers then make a needless
// syscall until the next holder of the role clears it on attach.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <system_error>

#include "platform.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop::detail {

struct WaitLine {
  std::atomic<uint32_t> seq;       // futex word
  std::atomic<uint32_t> sleeping;  // 1 while the waiter may be in futex_wait
  std::atomic<uint64_t> sleeps;    // times the waiter went to sleep (statistics)
};

/// Called by the waker after it published: wakes the waiter if it sleeps.
inline void notify(WaitLine& line) noexcept {
  // F2 (see above): orders our publish before the load of `sleeping`.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // relaxed: the fence already orders this load; it only gates the syscall.
  if (line.sleeping.load(std::memory_order_relaxed) != 0) {
    // relaxed: seq carries no data, only "something changed"; the waiter
    // re-reads the ring's own index with acquire after waking.
    line.seq.fetch_add(1, std::memory_order_relaxed);
    futex_wake_all(line.seq);
  }
}

/// Waits until `ready()` is true (returns {}), the deadline passes
/// (errc::timed_out) or `peer_gone()` says the peer died or left while the
/// ring stayed not-ready (errc::peer_gone).
template <class Ready, class PeerGone>
std::error_code wait_until(const WaitStrategy& how, WaitLine& line, Deadline deadline,
                           Ready&& ready, PeerGone&& peer_gone) {
  auto now = Clock::now();
  const Deadline spin_until = now + how.spin_for;
  Deadline next_liveness = now + how.liveness_interval;
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
      next_liveness = now + how.liveness_interval;
    }
    if (now >= deadline) return ready() ? std::error_code{} : make_error_code(errc::timed_out);
    if (now < spin_until || how.mode == WaitMode::spin) {
      RINGDROP_CPU_RELAX();
    } else if (how.mode == WaitMode::spin_yield) {
      sched_yield();
    } else {
      // acquire: pairs with nothing in particular; seq is only compared by
      // the kernel. The ring state is re-read by ready() below.
      const uint32_t token = line.seq.load(std::memory_order_acquire);
      line.sleeping.store(1, std::memory_order_relaxed);
      // F1 (see above): orders `sleeping = 1` before ready()'s loads.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!ready()) {
        line.sleeps.fetch_add(1, std::memory_order_relaxed);
        futex_wait(line.seq, token, std::min(deadline, next_liveness) - now);
      }
      line.sleeping.store(0, std::memory_order_relaxed);
    }
  }
}

}  // namespace ringdrop::detail

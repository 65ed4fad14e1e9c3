// platform.hpp — the few places where ringdrop touches the CPU or the kernel
// directly. Everything Linux- or architecture-specific lives behind these
// names, so a port replaces this file and nothing else.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define RINGDROP_CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define RINGDROP_CPU_RELAX() asm volatile("yield" ::: "memory")
#else
#define RINGDROP_CPU_RELAX() ((void)0)
#endif

namespace ringdrop::detail {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "a futex word must be a plain, lock-free 32-bit integer");

/// Sleeps while `*word == expected`, for at most `timeout`. Shared (not
/// FUTEX_PRIVATE): the word may live in memory mapped by several processes.
/// Returns on wake-up, on timeout, on a signal, or at once if the word has
/// already changed; the caller re-checks its condition in every case.
void futex_wait(std::atomic<uint32_t>& word, uint32_t expected,
                std::chrono::nanoseconds timeout) noexcept;

/// Wakes every process sleeping on `word`.
void futex_wake_all(std::atomic<uint32_t>& word) noexcept;

}  // namespace ringdrop::detail

namespace ringdrop::detail {

#if defined(__x86_64__) || defined(__i386__)
/// Whether the CPU has PREFETCHW (CPUID 0x80000001 ECX bit 8: AMD since
/// the K6-2, Intel since Broadwell). False until detect_prefetchw() asks.
/// relaxed: a hint's switch; a thread that reads false a moment too long
/// only skips a prefetch.
inline std::atomic<bool> has_prefetchw{false};

/// Asks the CPU, once per process. Called where a ring end that prefetches
/// opens, not at start-up: under a hypervisor CPUID is a VM exit (~1-2 us),
/// which every program linking the library would pay even if it never
/// opens a ring. A claim then reads a plain flag, as it read a constant
/// before, not a function-local static's guard as well.
inline void detect_prefetchw() noexcept {
  static const bool asked = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    has_prefetchw.store(__get_cpuid(0x80000001, &a, &b, &c, &d) != 0 && (c & (1u << 8)) != 0,
                        std::memory_order_relaxed);
    return true;
  }();
  (void)asked;
}
#else
inline void detect_prefetchw() noexcept {}
#endif

/// Asks for the cache line at `p` for writing, ahead of a locked write to
/// it (a CAS): the line is taken from the core that has it now, while this
/// one goes on, instead of the CAS stalling for the transfer. A hint: it
/// never faults and may do nothing. GCC turns __builtin_prefetch(p, 1) into
/// PREFETCHW only under -mprfchw, else into a read prefetch, which leaves
/// the CAS a second transfer (measured: no gain), so on x86 the instruction
/// is written out.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  if (has_prefetchw.load(std::memory_order_relaxed)) asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

/// A seqlock writer's mark: stores `value` in `word` (the record is being
/// rewritten) before any of the caller's later stores, the payload's. A
/// relaxed store and a release fence (Boehm, "Can seqlocks get along with
/// programming language memory models?", 2012): on x86 a plain store, as
/// stores are not reordered with stores; an xchg (acq_rel exchange) cost
/// ~30% of broadcast throughput. Under TSan, which does not model fences,
/// the exchange.
inline void seqlock_mark(std::atomic<uint64_t>& word, uint64_t value) noexcept {
#if defined(__SANITIZE_THREAD__)
  word.exchange(value, std::memory_order_acq_rel);
#else
  word.store(value, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
#endif
}

/// The second load of a seqlock reader: orders the (racy) payload reads
/// before it, then loads `word`. ThreadSanitizer does not model fences, so
/// under TSan an RMW with release semantics does the ordering instead.
inline uint64_t seqlock_recheck(std::atomic<uint64_t>& word) noexcept {
#if defined(__SANITIZE_THREAD__)
  return word.fetch_add(0, std::memory_order_acq_rel);
#else
  std::atomic_thread_fence(std::memory_order_acquire);
  return word.load(std::memory_order_relaxed);
#endif
}

}  // namespace ringdrop::detail

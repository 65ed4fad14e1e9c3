// platform.hpp — the few places where ringdrop touches the CPU or the kernel
// directly. Everything Linux- or architecture-specific lives behind these
// names, so a port replaces this file and nothing else.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
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

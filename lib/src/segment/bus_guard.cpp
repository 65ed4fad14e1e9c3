// bus_guard.cpp — the SIGBUS handler and its table (see bus_guard.hpp).
//
// The handler may run on any thread at any moment, so it only reads the
// table's atomics and makes two system calls (mmap, and sigaction when it
// chains to the default action); nothing allocates or locks.
#include "segment/bus_guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>

namespace ringdrop::detail {
namespace {

struct Guarded {
  std::atomic<uintptr_t> base{0};  // 0: a free slot
  std::atomic<size_t> size{0};
  std::atomic<uint32_t> hit{0};
};

Guarded g_table[kMaxGuarded];
struct sigaction g_previous {};

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (auto& g : g_table) {
    // acquire: pairs with the release store in bus_guard_add; size is set.
    const uintptr_t base = g.base.load(std::memory_order_acquire);
    const size_t size = g.size.load(std::memory_order_relaxed);
    if (base <= 1 || addr < base || addr - base >= size) continue;  // 1: a slot being filled
    // The whole mapping at once: the next access elsewhere would fault too.
    void* p = ::mmap(reinterpret_cast<void*>(base), size, PROT_READ | PROT_WRITE,
                     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) break;  // cannot repair: die as we would have
    // relaxed: read by this process's ring calls later, no data rides on it.
    g.hit.store(1, std::memory_order_relaxed);
    return;  // the access is retried on the zero pages
  }
  // Not ours: whoever handled SIGBUS before us, or the default action.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) return g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  ::sigaction(SIGBUS, &g_previous, nullptr);  // returning re-raises it with that action
}

void install() noexcept {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

int bus_guard_add(void* base, size_t size) noexcept {
  static std::once_flag once;
  std::call_once(once, install);
  for (int i = 0; i < kMaxGuarded; ++i) {
    auto& g = g_table[i];
    uintptr_t expected = 0;
    if (g.base.load(std::memory_order_relaxed) != 0) continue;
    // Claim the slot with a marker no address can be, then fill it in.
    if (!g.base.compare_exchange_strong(expected, 1, std::memory_order_acquire)) continue;
    g.size.store(size, std::memory_order_relaxed);
    g.hit.store(0, std::memory_order_relaxed);
    // release: a handler that sees the base sees the size.
    g.base.store(reinterpret_cast<uintptr_t>(base), std::memory_order_release);
    return i;
  }
  return -1;
}

void bus_guard_remove(int slot) noexcept {
  if (slot < 0) return;
  // release: the slot is free only after we are done with it.
  g_table[slot].base.store(0, std::memory_order_release);
}

const std::atomic<uint32_t>* bus_guard_flag(int slot) noexcept {
  static const std::atomic<uint32_t> never{0};
  return slot >= 0 ? &g_table[slot].hit : &never;
}

}  // namespace ringdrop::detail

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

#include "core/platform.hpp"

namespace ringdrop::detail {

namespace {
uint32_t* raw(std::atomic<uint32_t>& word) noexcept {
  return reinterpret_cast<uint32_t*>(&word);  // layout checked in platform.hpp
}
}  // namespace

void futex_wait(std::atomic<uint32_t>& word, uint32_t expected,
                std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= std::chrono::nanoseconds::zero()) return;
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(secs.count());
  ts.tv_nsec = static_cast<long>((timeout - secs).count());
  // FUTEX_WAIT's timeout is relative and measured on CLOCK_MONOTONIC.
  // EAGAIN (word changed), EINTR and ETIMEDOUT all mean "re-check".
  syscall(SYS_futex, raw(word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t>& word) noexcept {
  syscall(SYS_futex, raw(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace ringdrop::detail

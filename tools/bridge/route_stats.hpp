// route_stats.hpp — what one route of a bridge has done, and what it is
// doing now: written by the route's thread, read by the thread that writes
// the bridge's statistics file (bridge_status.hpp), which other processes
// read.
//
// Every atomic here is a counter or a time for people to look at: nothing
// is synchronized through them, so each is read and written relaxed.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace ringdrop::bridge {

enum class RouteState : uint32_t {
  starting,      ///< opening its ring or channel
  connecting,    ///< first connection to the broker
  running,       ///< connected; messages move when there are any
  blocked,       ///< the broker raised an alarm (connection.blocked): publishing paused
  full,          ///< inbound: the ring is full; the broker holds the rest (prefetch)
  reconnecting,  ///< the connection failed; retrying with backoff
  stopped,
};
std::string_view to_string(RouteState s) noexcept;

struct RouteStats {
  std::atomic<uint32_t> state{0};
  std::atomic<int64_t> state_since_ns{0};    ///< CLOCK_REALTIME
  std::atomic<int64_t> last_progress_ns{0};  ///< a message moved (or was settled)
  std::atomic<int64_t> last_loop_ns{0};      ///< the route's loop last went round
  std::atomic<uint64_t> bridged{0};          ///< out: confirmed by the broker; in: committed to ringdrop
  std::atomic<uint64_t> published{0};        ///< out: publishes, re-publishes included
  std::atomic<uint64_t> returned{0};         ///< out: unroutable (basic.return)
  std::atomic<uint64_t> nacked{0};           ///< out: refused by the broker (basic.nack)
  std::atomic<uint64_t> dead_lettered{0};    ///< set aside with a reason (returned, nacked, malformed, ...)
  std::atomic<uint64_t> deduplicated{0};     ///< in: seen before, acknowledged without delivering
  std::atomic<uint64_t> looped{0};           ///< in: carried out by this bridge, not brought back
  std::atomic<uint64_t> late_replies{0};     ///< out (replies): past their call's deadline, dropped
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> in_flight{0};        ///< out: published, unconfirmed; in: delivered, unacknowledged

  void set_state(RouteState s, int64_t now_ns) noexcept {
    if (state.exchange(static_cast<uint32_t>(s), std::memory_order_relaxed) != static_cast<uint32_t>(s)) {
      state_since_ns.store(now_ns, std::memory_order_relaxed);
    }
  }
  void add(std::atomic<uint64_t>& counter, uint64_t n = 1) noexcept { counter.fetch_add(n, std::memory_order_relaxed); }

  void set_error(std::string why) {
    std::lock_guard lock(mutex_);
    last_error_ = std::move(why);
  }
  std::string last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }

 private:
  mutable std::mutex mutex_;
  std::string last_error_;
};

}  // namespace ringdrop::bridge

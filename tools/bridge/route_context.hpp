// route_context.hpp — what every route's thread has: the configuration, its
// statistics, the bridge's stop request, a log line, clocks and backoff.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>

#include "bridge_config.hpp"
#include "reply_book.hpp"
#include "route_stats.hpp"

namespace ringdrop::bridge {

/// The bridge's stop request (SIGTERM): routes finish what is in flight
/// and return. A route waiting (backoff, a full ring) wakes at once.
class StopSignal {
 public:
  void request() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
  }
  bool requested() const {
    std::lock_guard lock(mutex_);
    return stop_;
  }
  /// Waits up to `d`; true if a stop was requested.
  bool wait_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, d, [&] { return stop_; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
};

int64_t real_now_ns() noexcept;
int64_t mono_now_ns() noexcept;

/// Reconnection delays: 1 s, doubling, at most 30 s; reset on success.
class Backoff {
 public:
  std::chrono::milliseconds next() noexcept {
    const auto d = delay_;
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(30'000));
    return d;
  }
  void reset() noexcept { delay_ = std::chrono::milliseconds(1000); }

 private:
  std::chrono::milliseconds delay_{1000};
};

struct RouteContext {
  const BridgeConfig& config;
  RouteStats& stats;
  StopSignal& stop;
  std::string route;  ///< the route's name
  /// An inbound route with `replies` and its "<name>.replies" route: the
  /// book they share (reply_book.hpp); nullptr for the others.
  ReplyBook* replies = nullptr;

  /// One line on stderr: time, bridge, route, what happened.
  void log(std::string_view what) const;
  void set_state(RouteState s) const noexcept { stats.set_state(s, real_now_ns()); }
  void progress() const noexcept { stats.last_progress_ns.store(real_now_ns(), std::memory_order_relaxed); }
  void loop() const noexcept { stats.last_loop_ns.store(real_now_ns(), std::memory_order_relaxed); }
  /// Records `why` as the route's last error and logs it.
  void error(std::string why) const;
  /// Waits up to `d`, or until stop, keeping last_loop_ns fresh: a route
  /// that waits on purpose (backoff) is not a stuck one.
  void wait(std::chrono::milliseconds d) const;
};

/// Connects a route to the broker, as both kinds of route do: the state
/// (connecting, or reconnecting after the first time), the session, then
/// the route's own topology (`setup`: declarations, confirm.select, qos,
/// consume). On failure: the error in the route's statistics and log, the
/// backoff's next delay waited out, nullopt. On success: the backoff reset,
/// a reconnect counted, the state running, `what` logged.
std::optional<AmqpSession> connect_route(const RouteContext& ctx, Backoff& backoff, bool& ever_connected,
                                         const std::function<std::error_code(AmqpSession&)>& setup,
                                         const std::string& what);

}  // namespace ringdrop::bridge

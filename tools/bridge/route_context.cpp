#include "route_context.hpp"

#include "ringdrop/error.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>

namespace ringdrop::bridge {

namespace {

int64_t now_ns(clockid_t clock) noexcept {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

int64_t real_now_ns() noexcept { return now_ns(CLOCK_REALTIME); }
int64_t mono_now_ns() noexcept { return now_ns(CLOCK_MONOTONIC); }

std::string_view to_string(RouteState s) noexcept {
  switch (s) {
    case RouteState::starting: return "starting";
    case RouteState::connecting: return "connecting";
    case RouteState::running: return "running";
    case RouteState::blocked: return "blocked";
    case RouteState::full: return "full";
    case RouteState::reconnecting: return "reconnecting";
    case RouteState::stopped: return "stopped";
  }
  return "unknown";
}

void RouteContext::log(std::string_view what) const {
  const int64_t now = real_now_ns();
  const time_t secs = static_cast<time_t>(now / 1'000'000'000);
  tm t{};
  ::gmtime_r(&secs, &t);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &t);
  // One fprintf per line: lines of several routes' threads do not interleave.
  std::fprintf(stderr, "%s.%03dZ ringdrop-bridge %s route %s: %.*s\n", stamp,
               static_cast<int>(now / 1'000'000 % 1000), config.name.c_str(), route.c_str(),
               static_cast<int>(what.size()), what.data());
}

void RouteContext::wait(std::chrono::milliseconds d) const {
  const auto end = std::chrono::steady_clock::now() + d;
  for (;;) {
    loop();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stop.wait_for(std::min(left, std::chrono::milliseconds(1000)))) return;
  }
}

void RouteContext::error(std::string why) const {
  log(why);
  stats.set_error(std::move(why));
}

std::optional<AmqpSession> connect_route(const RouteContext& ctx, Backoff& backoff, bool& ever_connected,
                                         const std::function<std::error_code(AmqpSession&)>& setup,
                                         const std::string& what) {
  ctx.set_state(ever_connected ? RouteState::reconnecting : RouteState::connecting);
  auto s = AmqpSession::connect(ctx.config.broker);
  std::error_code ec = s.error();
  if (s) ec = setup(*s);
  if (ec) {
    const auto delay = backoff.next();
    ctx.error(ctx.config.broker.describe() + ": " + last_error_detail() + "; again in " +
              std::to_string(delay.count() / 1000) + " s");
    ctx.wait(delay);
    return std::nullopt;
  }
  backoff.reset();
  if (ever_connected) ctx.stats.add(ctx.stats.reconnects);
  ever_connected = true;
  ctx.set_state(RouteState::running);
  ctx.log("connected to " + ctx.config.broker.describe() + ", " + what);
  return std::move(*s);
}

}  // namespace ringdrop::bridge

#include "bridge.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <thread>

#include "bridge_status.hpp"
#include "inbound_route.hpp"
#include "outbound_route.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::bridge {

using detail::fail;
using detail::from_errno;

namespace {

std::error_code make_state_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail(from_errno(errno), "mkdir " + dir);
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return fail(from_errno(errno), "stat " + dir);
  if (!S_ISDIR(st.st_mode)) return fail(errc::invalid_argument, "state_dir " + dir + " is not a directory");
  return {};
}

nlohmann::json status_of(const BridgeConfig& c, const std::deque<RouteStats>& stats, int64_t started, bool stopped) {
  nlohmann::json routes = nlohmann::json::array();
  size_t i = 0;
  for (const OutRoute& r : c.out) {
    routes.push_back(route_json(r.name, "out", r.from.describe(), "exchange " + r.exchange + " key " + r.routing_key,
                                stats[i++]));
  }
  for (const InRoute& r : c.in) {
    routes.push_back(route_json(r.name, "in", r.to.describe(), "queue " + r.queue, stats[i++]));
  }
  return nlohmann::json{{"name", c.name},         {"pid", ::getpid()},         {"broker", c.broker.describe()},
                        {"started_ns", started},  {"updated_ns", real_now_ns()}, {"stopped", stopped},
                        {"routes", routes}};
}

}  // namespace

std::error_code run_bridge(const BridgeConfig& config, StopSignal& stop, const std::function<void()>& tick) {
  if (auto ec = config.check()) return ec;
  if (auto ec = make_state_dir(config.state_dir)) return ec;
  const int64_t started = real_now_ns();
  std::deque<RouteStats> stats(config.out.size() + config.in.size());  // a deque: atomics do not move
  if (auto ec = write_status(config.state_dir, status_of(config, stats, started, false))) return ec;

  std::vector<std::thread> threads;
  size_t i = 0;
  for (const OutRoute& r : config.out) {
    threads.emplace_back(run_outbound, std::cref(r), RouteContext{config, stats[i++], stop, r.name});
  }
  for (const InRoute& r : config.in) {
    threads.emplace_back(run_inbound, std::cref(r), RouteContext{config, stats[i++], stop, r.name});
  }
  while (!stop.wait_for(std::chrono::milliseconds(500))) {
    (void)write_status(config.state_dir, status_of(config, stats, started, false));  // a full disk: next time
    if (tick) tick();
  }
  for (std::thread& t : threads) t.join();
  return write_status(config.state_dir, status_of(config, stats, started, true));
}

}  // namespace ringdrop::bridge

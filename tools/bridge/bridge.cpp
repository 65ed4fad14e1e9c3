#include "bridge.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <map>
#include <thread>

#include "bridge_status.hpp"
#include "inbound_route.hpp"
#include "outbound_route.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/mpmc_ring.hpp"

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

using Books = std::map<std::string, ReplyBook, std::less<>>;  // by inbound route name; a map: books do not move

nlohmann::json status_of(const BridgeConfig& c, const std::deque<RouteStats>& stats, const Books& books,
                         int64_t started, bool stopped) {
  nlohmann::json routes = nlohmann::json::array();
  size_t i = 0;
  for (const OutRoute& r : c.out) {
    const std::string to = !r.answers.empty() ? "each requester's reply queue" : "exchange " + r.exchange + " key " + r.routing_key;
    routes.push_back(route_json(r.name, "out", r.from.describe(), to, stats[i++]));
  }
  for (const InRoute& r : c.in) {
    routes.push_back(route_json(r.name, "in", r.to.describe(), "queue " + r.queue, stats[i++]));
    // A route that answers requests: the replies its book still awaits, and
    // those it forgot for want of room (their replies become dead letters).
    if (auto it = books.find(r.name); it != books.end()) {
      routes.back()["pending_replies"] = it->second.size();
      routes.back()["evicted_replies"] = it->second.evicted();
    }
  }
  return nlohmann::json{{"name", c.name},         {"pid", ::getpid()},         {"broker", c.broker.describe()},
                        {"started_ns", started},  {"updated_ns", real_now_ns()}, {"stopped", stopped},
                        {"routes", routes}};
}

// The reply rings of an inbound route with `replies` exist before the
// first request reaches a server (which opens one to answer).
std::error_code make_reply_rings(const InRoute& r) {
  MpmcOptions o;
  o.cell_size = r.cell_size;
  o.capacity = r.capacity;
  for (const Location& where : {r.reply_ring, r.shared_reply_ring}) {
    auto ring = MpmcProducer::open(where, OpenMode::open_or_create, o);
    if (!ring) return ring.error();
  }
  return {};
}

}  // namespace

std::error_code run_bridge(const BridgeConfig& given, StopSignal& stop, const std::function<void()>& tick) {
  if (auto ec = given.check()) return ec;
  if (auto ec = make_state_dir(given.state_dir)) return ec;
  const BridgeConfig config = with_reply_routes(given);
  Books books;
  for (const InRoute& r : config.in) {
    if (!r.replies) continue;
    if (auto ec = make_reply_rings(r)) return ec;
    books.try_emplace(r.name);
  }
  auto book_of = [&](const std::string& route) -> ReplyBook* {
    if (route.empty()) return nullptr;
    auto it = books.find(route);
    return it == books.end() ? nullptr : &it->second;
  };
  const int64_t started = real_now_ns();
  std::deque<RouteStats> stats(config.out.size() + config.in.size());  // a deque: atomics do not move
  if (auto ec = write_status(config.state_dir, status_of(config, stats, books, started, false))) return ec;

  std::vector<std::thread> threads;
  size_t i = 0;
  for (const OutRoute& r : config.out) {
    ReplyBook* book = book_of(r.answers);
    threads.emplace_back(run_outbound, std::cref(r), RouteContext{config, stats[i++], stop, r.name, book});
  }
  for (const InRoute& r : config.in) {
    threads.emplace_back(run_inbound, std::cref(r), RouteContext{config, stats[i++], stop, r.name, book_of(r.name)});
  }
  while (!stop.wait_for(std::chrono::milliseconds(500))) {
    (void)write_status(config.state_dir, status_of(config, stats, books, started, false));  // a full disk: next time
    if (tick) tick();
  }
  for (std::thread& t : threads) t.join();
  return write_status(config.state_dir, status_of(config, stats, books, started, true));
}

}  // namespace ringdrop::bridge

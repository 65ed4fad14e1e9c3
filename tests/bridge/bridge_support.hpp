// bridge_support.hpp — what the bridge's broker tests share: the broker the
// fixture started (tests/bridge/broker.sh), ringdrop-bridge as a child
// process, its status file, and names no other test uses.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bridge_status.hpp"
#include "drop_support.hpp"

namespace ringdrop::test {

/// The broker of the `broker` fixture, from $RINGDROP_TEST_BROKER/env.
struct Broker {
  std::string dir;
  std::map<std::string, std::string> env;

  static std::optional<Broker> from_env() {
    const char* dir = std::getenv("RINGDROP_TEST_BROKER");
    if (!dir || !*dir) return std::nullopt;
    std::ifstream f(std::string(dir) + "/env");
    if (!f) return std::nullopt;
    Broker b{dir, {}};
    std::string line;
    while (std::getline(f, line)) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) b.env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return b;
  }
  std::string url() const {
    return "amqp://" + env.at("AMQP_USER") + ":" + env.at("AMQP_PASSWORD") + "@" + env.at("AMQP_HOST") + ":" +
           env.at("AMQP_PORT") + "/";
  }
  /// `broker.sh COMMAND DIR ARGS` against this broker (ctl, restart, down,
  /// up): its exit code. Its output goes to the test's stderr.
  int script(const std::string& command, const std::string& args = "") const {
    const std::string cmd = "bash '" + env.at("BROKER_SH") + "' " + command + " '" + dir + "' " + args + " >&2";
    return std::system(cmd.c_str());
  }
};

/// Names for one test's rings, exchanges and queues: this process's and
/// the test's, so no two tests (or runs) share one.
inline std::string unique_name(std::string_view what) {
  const auto* t = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "bt" + std::to_string(::getpid()) + "-" + t->name() + "-" + std::string(what);
  std::replace(name.begin(), name.end(), '/', '-');  // a parameterised test's name has one
  return name;
}

/// ringdrop-bridge as a child process (its log goes to the test's stderr).
class BridgeProcess {
 public:
  BridgeProcess(std::string state_dir, std::vector<std::string> args)
      : state_dir_(std::move(state_dir)), args_(std::move(args)) {
    args_.insert(args_.begin(), {"--state-dir", state_dir_});
    start();
  }
  void start() {
    std::remove((state_dir_ + "/status.json").c_str());  // wait_for judges the new process's file
    peer_.emplace(RINGDROP_BRIDGE, args_);
  }
  void kill9() { peer_->kill9(); }
  void restart() {
    kill9();
    start();
  }
  /// SIGTERM, then its exit code (nothing if it did not stop in time).
  std::optional<int> stop() {
    peer_->signal(SIGTERM);
    return peer_->wait_for(std::chrono::seconds(30));
  }
  pid_t pid() const { return peer_->pid(); }

  /// The status file (with its verdict); an empty object until there is one.
  nlohmann::json status() const {
    auto s = bridge::read_status(state_dir_);
    return s ? *s : nlohmann::json::object();
  }
  /// Route 0's statistics, or an empty object.
  nlohmann::json route(size_t i = 0) const {
    auto s = status();
    return s.contains("routes") && s["routes"].size() > i ? s["routes"][i] : nlohmann::json::object();
  }
  /// Polls the status file until `ok(route(i))`, at most `timeout`; the
  /// last route statistics either way.
  bool wait_route(const std::function<bool(const nlohmann::json&)>& ok, size_t i = 0,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto r = route(i);
      if (!r.empty() && ok(r)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the file is rewritten every 500 ms
    }
    ADD_FAILURE() << "route " << i << " never got there; last status: " << status().dump(2);
    return false;
  }
  const std::string& state_dir() const { return state_dir_; }

 private:
  std::string state_dir_;
  std::vector<std::string> args_;
  std::optional<ExecPeer> peer_;
};

inline uint64_t counter(const nlohmann::json& route, const char* key) { return route.value(key, uint64_t{0}); }

}  // namespace ringdrop::test

// ringdrop-bridge — carries messages between ringdrop (rings, drop
// channels) and RabbitMQ, at-least-once both ways (docs/bridge.md).
//
//   ringdrop-bridge --config bridge.json
//   ringdrop-bridge --broker amqp://guest:guest@mq:5672/ --name host-a --state-dir /var/lib/rdb
//       --route from=shm:orders,exchange=orders,routing_key=orders.new
//       --route queue=orders-b,bind_exchange=orders,binding_key=orders.#,to=shm:orders-in
//   ringdrop-bridge status --state-dir /var/lib/rdb [--json]
//
// SIGTERM or SIGINT stops it cleanly: each route finishes the confirms it
// waits for and acknowledges what it committed. Exit status: 0 stopped
// cleanly, 1 a failure at run time, 2 a bad command line or configuration,
// 3 (status) the bridge is not running: dead, stuck or stopped.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "bridge.hpp"
#include "bridge_config.hpp"
#include "bridge_status.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/version.h"

using namespace ringdrop;
using namespace ringdrop::bridge;

namespace {

int print_status(const std::string& state_dir, bool as_json) {
  auto s = read_status(state_dir);
  if (!s) {
    std::cerr << "ringdrop-bridge status: " << last_error_detail() << "\n";
    return 3;
  }
  const nlohmann::json& j = *s;
  std::cout << (as_json ? j.dump(2) + "\n" : ringdrop::ops::describe_bridge(j));
  return j.value("verdict", "") == "running" ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ringdrop-bridge: rings and drop channels to and from RabbitMQ, at-least-once (docs/bridge.md)"};
  app.set_version_flag("--version", std::string(RINGDROP_VERSION_STRING));
  app.footer(
      "\nExit status: 0 stopped cleanly (SIGTERM, SIGINT), 1 a failure at run time, 2 a bad command line or\n"
      "configuration, 3 (status) the bridge is not running.\n"
      "More: docs/bridge.md (installed: share/doc/ringdrop/bridge.md).");
  std::string config_file, broker_url, name, state_dir;
  std::vector<std::string> routes;
  uint32_t window = 0;
  int64_t dedupe_window = 0;
  app.add_option("--config", config_file, "a JSON configuration (docs/bridge.md)")->check(CLI::ExistingFile);
  app.add_option("--broker", broker_url, "amqp://user:password@host:port/vhost (overrides the configuration's)");
  app.add_option("--name", name, "this bridge's name, the origin of what it carries (default: the host name)");
  app.add_option("--state-dir", state_dir, "where the dedupe tables and status.json are kept");
  app.add_option("--route", routes, "a route as key=value,... with a route's JSON keys (repeatable)");
  app.add_option("--window", window, "messages an outbound route keeps published and unconfirmed at once (default 256)");
  app.add_option("--dedupe-window", dedupe_window, "seconds a message id is remembered (default 600)");
  auto* status = app.add_subcommand("status", "show a bridge's state and statistics (exit 3 unless running)");
  std::string status_dir;
  bool as_json = false;
  status->add_option("--state-dir", status_dir, "the bridge's state directory")->required();
  status->add_flag("--json", as_json, "print the status file, with the verdict, as JSON");
  CLI11_PARSE(app, argc, argv);
  if (*status) return print_status(status_dir, as_json);

  auto config = config_file.empty() ? parse_config("{}", "the command line") : load_config(config_file);
  if (!config) {
    std::cerr << "ringdrop-bridge: " << last_error_detail() << "\n";
    return 2;
  }
  if (!broker_url.empty()) {
    if (parse_broker_url(broker_url, config->broker)) {
      std::cerr << "ringdrop-bridge: " << last_error_detail() << "\n";
      return 2;
    }
  }
  if (!name.empty()) config->name = name;
  if (!state_dir.empty()) config->state_dir = state_dir;
  if (window) config->window = window;
  if (dedupe_window) config->dedupe_window = std::chrono::seconds(dedupe_window);
  for (const std::string& r : routes) {
    if (add_route(*config, r)) {
      std::cerr << "ringdrop-bridge: " << last_error_detail() << "\n";
      return 2;
    }
  }
  if (config->check()) {
    std::cerr << "ringdrop-bridge: " << last_error_detail() << "\n";
    return 2;
  }

  // SIGTERM and SIGINT are taken by one thread (blocked in all others,
  // which inherit this mask), which asks the routes to stop.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a broker that closes the socket is an error code, not a death
  StopSignal stop;
  std::thread waiter([&stop, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop.request();
  });
  // However the bridge ends, the waiter is woken (a SIGTERM of our own,
  // aimed at it) and joined before `stop` goes away.
  struct Join {
    std::thread& t;
    ~Join() {
      pthread_kill(t.native_handle(), SIGTERM);
      t.join();
    }
  } join{waiter};

  std::fprintf(stderr, "ringdrop-bridge %s: %zu routes to %s, state in %s\n", config->name.c_str(),
               config->out.size() + config->in.size(), config->broker.describe().c_str(), config->state_dir.c_str());
  if (auto ec = run_bridge(*config, stop)) {
    std::cerr << "ringdrop-bridge: " << last_error_detail() << "\n";
    return 1;
  }
  std::fprintf(stderr, "ringdrop-bridge %s: stopped\n", config->name.c_str());
  return 0;
}

// ringdrop console — the web console (docs/console.md): the host's rings,
// channels and services live, and a dead-letter screen to look at failed
// messages and retry or purge them. tools/console serves it.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli.hpp"
#include "console.hpp"

namespace ringdrop::cli {

namespace {

// The first line of `file`, trimmed: the token, kept out of the process list.
std::string read_token(const std::string& file) {
  std::ifstream in(file);
  if (!in) fail(Exit::not_found, "cannot read the token file " + file);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  // Characters that need no escaping in a link, a cookie or a header.
  const bool plain = token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-") ==
                     std::string::npos;
  if (token.size() < 16 || !plain) {
    fail(Exit::bad_input, "the token in " + file + " must be 16 characters or more of A-Z a-z 0-9 . _ ~ -");
  }
  return token;
}

// "HOST:PORT", "[::1]:PORT" or ":PORT" (loopback).
void parse_listen(const std::string& text, console::ConsoleOptions& o) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) fail(Exit::usage, "--listen " + text + ": write it as HOST:PORT (127.0.0.1:8470)");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    fail(Exit::usage, "--listen " + text + ": the port is a number from 0 to 65535");
  }
  o.host = host.empty() ? "127.0.0.1" : host;
  o.port = std::stoi(port);
}

bool loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

}  // namespace

void add_console(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("console", "Serve the web console: live state, and dead letters to look at, retry or purge");
  cmd->footer(
      "Prints the link to open (with its token) and serves until Ctrl-C or SIGTERM. It shows the rings in /dev/shm "
      "this user may open, the services registered, and the drop channels and file-backed rings of --channel, "
      "--path and NAME; nothing else. Every request needs the token; actions also need the page's CSRF token. "
      "docs/console.md has the API and the security model.\n"
      "Example: ringdrop --channel /srv/drop/orders console --schema orders.capnp --type Order");
  struct Args {
    std::vector<std::string> names;
    std::string listen = "127.0.0.1:8470", token_file, action_log, sample = "5s";
    SchemaArgs schema;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("name", a->names, "More rings, drop channels or services to show (file-backed rings, channels)");
  cmd->add_option("--listen", a->listen, "HOST:PORT to listen on (default 127.0.0.1:8470; port 0: any free one)");
  cmd->add_option("--token-file", a->token_file, "Read the token from the first line of FILE instead of making one");
  cmd->add_option("--action-log", a->action_log,
                  "Where retries and purges are logged (default $XDG_STATE_HOME/ringdrop/console-actions.log, else "
                  "~/.local/state/ringdrop/console-actions.log)");
  cmd->add_option("--sample", a->sample, "How often each ring's rate is sampled for the charts (default 5s)");
  a->schema.add_to(cmd);
  cmd->callback([&g, a] {
    console::ConsoleOptions o;
    parse_listen(a->listen, o);
    o.scope = g.inventory();
    for (const auto& n : a->names) {
      const Target t = resolve(n, g);
      if (t.kind == Target::Kind::channel) {
        o.scope.channels.push_back(t.channel);
      } else if (t.ring.is_file()) {  // an shm ring (a service's too) is in /dev/shm, which is always shown
        o.scope.ring_paths.push_back(t.ring.name());
      }
    }
    if (!a->token_file.empty()) o.token = read_token(a->token_file);
    o.action_log = a->action_log;
    o.sample = std::max(parse_duration(a->sample), std::chrono::milliseconds(1000));
    if (auto schema = a->schema.load()) o.schema = std::make_shared<const ops::SchemaType>(std::move(*schema));

    // SIGINT and SIGTERM are taken by one thread (sigwait), which stops the
    // server: blocked here, before any other thread exists, so none of the
    // server's threads is interrupted by them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const bool on_loopback = loopback(o.host);
    auto c = console::Console::open(std::move(o));
    if (!c) fail(c.error(), "start the console");
    console::Console& console = **c;
    if (!on_loopback) {
      std::fprintf(stderr, "ringdrop console: listening beyond loopback over plain HTTP: the token crosses the network "
                           "in clear; put a TLS proxy in front, or use an SSH tunnel\n");
    }
    std::printf("ringdrop console: %s\n", console.url().c_str());
    std::fflush(stdout);
    // The first signal stops the console (the requests in progress end); a
    // second one, while a long retry still runs, ends the process at once.
    std::atomic<bool> ended{false};
    std::thread waiter([&] {
      for (int n = 0;; ++n) {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        if (ended.load()) return;
        if (n > 0) std::_Exit(128 + sig);
        console.stop();
      }
    });
    const bool served = console.run();
    ended.store(true);
    pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter, which sees `ended`
    waiter.join();
    if (!served) fail(Exit::failed, "the console's server stopped with an error");
  });
}

}  // namespace ringdrop::cli

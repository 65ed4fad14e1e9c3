// ringdrop stat NAME [--watch [SECONDS]] — one ring, drop channel or service
// in full; with --watch, redrawn with rates until interrupted.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli.hpp"

namespace ringdrop::cli {

namespace {

volatile std::sig_atomic_t interrupted = 0;
void on_interrupt(int) { interrupted = 1; }

// One look at the target: the model's JSON (the human form is printed from it).
ops::Json look(const Target& t, const Globals& g) {
  if (t.kind == Target::Kind::channel) {
    auto c = ops::inspect_channel(t.channel);
    if (!c) fail(c.error(), "read channel " + t.channel);
    return ops::to_json(*c);
  }
  auto r = ops::inspect_ring(t.ring);
  if (!r) fail(r.error(), "read " + t.ring.describe());
  ops::Json j = ops::to_json(*r);
  if (t.kind == Target::Kind::service) j = {{"service", t.service}, {"ring", j}};
  (void)g;
  return j;
}

const ops::Json& ring_of(const ops::Json& j) { return j.contains("service") ? j.at("ring") : j; }

// Per-second rates of the counters that grow, between two looks.
ops::Json rates(const ops::Json& before, const ops::Json& after, double seconds) {
  static const char* kRing[] = {"committed", "consumed", "bytes_committed", "bytes_consumed", "producer_waits",
                                "consumer_waits", "redelivered", "lost", "dead_lettered", "missed"};
  static const char* kChannel[] = {"ready", "claimed", "dead_letters", "done", "receipts"};
  ops::Json out = ops::Json::object();
  const ops::Json& a = ring_of(before);
  const ops::Json& b = ring_of(after);
  const bool channel = b.contains("root");
  const auto add = [&](const char* k) {
    if (!a.contains(k) || !b.contains(k) || seconds <= 0) return;
    out[k] = (b[k].get<double>() - a[k].get<double>()) / seconds;
  };
  if (channel) {
    for (const char* k : kChannel) add(k);
  } else {
    for (const char* k : kRing) add(k);
  }
  return out;
}

void print_human(const ops::Json& j, const ops::Json* per_second) {
  const ops::Json& r = ring_of(j);
  if (j.contains("service")) std::printf("%-16s %s\n", "service", j["service"].get<std::string>().c_str());
  for (const auto& [k, v] : r.items()) {
    if (k == "peers") continue;
    std::string text = v.is_string() ? v.get<std::string>() : v.dump();
    if (k == "capacity" || k == "bytes_committed" || k == "bytes_consumed") text += " (" + human_bytes(v.get<uint64_t>()) + ")";
    if (per_second && per_second->contains(k)) {
      char rate[48];
      std::snprintf(rate, sizeof rate, "   %.1f/s", (*per_second)[k].get<double>());
      text += rate;
    }
    std::printf("%-16s %s\n", k.c_str(), text.c_str());
  }
  if (r.contains("peers")) {
    std::printf("peers:%s\n", r["peers"].empty() ? " none (stale: no live process attached)" : "");
    for (const auto& p : r["peers"]) {
      std::printf("  %-10s pid %-8d messages %-10llu bytes %-12llu waits %llu\n",
                  p["role"].get<std::string>().c_str(), p["pid"].get<int>(),
                  static_cast<unsigned long long>(p["messages"].get<uint64_t>()),
                  static_cast<unsigned long long>(p["bytes"].get<uint64_t>()),
                  static_cast<unsigned long long>(p["waits"].get<uint64_t>()));
    }
  }
}

}  // namespace

void add_stat(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("stat", "Everything about one ring, drop channel or service");
  cmd->footer(
      "With --watch, redraws every SECONDS (default 1) with per-second rates (messages, bytes, waits, "
      "redeliveries) until interrupted; --json then prints one JSON object per line.\n"
      "Examples: ringdrop stat shm:orders    ringdrop stat /srv/drop/orders --watch 2");
  struct Args {
    std::string name;
    double watch = 0;
    unsigned count = 0;
    CLI::Option* watch_opt = nullptr;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("name", a->name, "The ring, channel or service")->required();
  a->watch_opt = cmd->add_option("--watch", a->watch, "Redraw every SECONDS (default 1)")->expected(0, 1)->default_str("1");
  cmd->add_option("--count", a->count, "With --watch: stop after this many redraws (0: until interrupted)");
  cmd->callback([&g, a] {
    const Target t = resolve(a->name, g);
    if (a->watch_opt->count() == 0) {
      const ops::Json j = look(t, g);
      if (g.json) {
        print_json(j);
      } else {
        print_human(j, nullptr);
      }
      return;
    }
    if (!(a->watch > 0)) fail(Exit::usage, "--watch takes a positive number of seconds");
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    ops::Json before = look(t, g);
    auto then = std::chrono::steady_clock::now();
    for (unsigned drawn = 0; !interrupted && (a->count == 0 || drawn < a->count); ++drawn) {
      if (drawn > 0) {
        // Sleeping is the point here: a sampling interval, not a wait for an event.
        std::this_thread::sleep_for(std::chrono::duration<double>(a->watch));
        if (interrupted) break;
      }
      const ops::Json now_j = look(t, g);
      const auto now = std::chrono::steady_clock::now();
      const ops::Json per_second = rates(before, now_j, std::chrono::duration<double>(now - then).count());
      if (g.json) {
        ops::Json line = {{"at", ops::iso_time(std::chrono::system_clock::now())}, {"stat", now_j}, {"per_second", per_second}};
        std::cout << line.dump(-1, ' ', false, ops::Json::error_handler_t::replace) << std::endl;
      } else {
        if (tty) std::printf("\033[H\033[2J");
        std::printf("%s   every %gs   %s\n", t.describe().c_str(), a->watch,
                    ops::iso_time(std::chrono::system_clock::now()).c_str());
        print_human(now_j, drawn > 0 ? &per_second : nullptr);
        std::printf("\n");
        std::fflush(stdout);
      }
      before = now_j;
      then = now;
    }
  });
}

}  // namespace ringdrop::cli

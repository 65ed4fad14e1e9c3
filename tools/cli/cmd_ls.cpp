// ringdrop ls — every ring, drop channel and service, one line each.
#include <cstdio>
#include <iostream>

#include "cli.hpp"

namespace ringdrop::cli {

namespace {

std::string peers_text(const ops::RingView& r) {
  if (r.peers.empty()) return "none (stale)";
  std::string s;
  for (const auto& p : r.peers) {
    if (!s.empty()) s += ", ";
    s += p.role + " " + std::to_string(p.pid);
  }
  return s;
}

void print_rings(const ops::Inventory& inv) {
  const auto now = std::chrono::system_clock::now();
  std::printf("%-36s %-9s %9s %6s %10s %10s %5s %5s  %s\n", "RING", "KIND", "SIZE", "FILL", "COMMITTED", "CONSUMED",
              "DLQ", "AGE", "PEERS");
  for (const auto& r : inv.rings) {
    char fill[16];
    std::snprintf(fill, sizeof fill, "%.0f%%", r.fill_ratio * 100);
    std::printf("%-36s %-9s %9s %6s %10llu %10llu %5llu %5s  %s\n", r.where.describe().c_str(), r.kind_name(),
                human_bytes(r.capacity).c_str(), fill, static_cast<unsigned long long>(r.committed),
                static_cast<unsigned long long>(r.consumed), static_cast<unsigned long long>(r.dead_letters),
                human_age(now - r.created).c_str(), peers_text(r).c_str());
  }
  if (inv.rings.empty()) std::printf("(no rings)\n");
}

void print_channels(const ops::Inventory& inv) {
  if (inv.channels.empty()) return;
  std::printf("\n%-40s %8s %8s %8s %8s %8s %8s %8s\n", "CHANNEL", "INCOMING", "READY", "CLAIMED", "RETRYING", "DLQ",
              "DONE", "RECEIPTS");
  for (const auto& c : inv.channels) {
    std::printf("%-40s %8llu %8llu %8llu %8llu %8llu %8llu %8llu\n", c.root.c_str(),
                static_cast<unsigned long long>(c.counts.incoming), static_cast<unsigned long long>(c.counts.ready),
                static_cast<unsigned long long>(c.counts.claimed), static_cast<unsigned long long>(c.counts.retrying),
                static_cast<unsigned long long>(c.counts.failed), static_cast<unsigned long long>(c.counts.done),
                static_cast<unsigned long long>(c.receipts));
  }
}

void print_services(const ops::Inventory& inv) {
  if (inv.services.empty()) return;
  const auto now = std::chrono::system_clock::now();
  std::printf("\n%-24s %-36s %8s %-6s %5s  %s\n", "SERVICE", "RING", "PID", "ALIVE", "AGE", "INFO");
  for (const auto& s : inv.services) {
    std::printf("%-24s %-36s %8d %-6s %5s  %s\n", s.service.c_str(), s.ring.describe().c_str(), static_cast<int>(s.pid),
                s.alive ? "yes" : "DEAD", human_age(now - s.registered).c_str(), s.info.c_str());
  }
}

}  // namespace

void add_ls(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("ls", "List every ring in /dev/shm (and --path), drop channel (--channel) and service");
  cmd->footer(
      "A ring is stale when no live process is attached (its programs ended or crashed); `ringdrop gc` removes "
      "stale rings.\nExample: ringdrop ls --channel /srv/drop/orders");
  auto stale_only = std::make_shared<bool>(false);
  auto prefix = std::make_shared<std::string>();
  cmd->add_flag("--stale", *stale_only, "Only the rings no live process is attached to, and dead service entries");
  cmd->add_option("--prefix", *prefix, "Only the rings (shm name or path) and services whose name starts with this");
  cmd->callback([&g, stale_only, prefix] {
    ops::Inventory inv = ops::take_inventory(g.inventory());
    std::erase_if(inv.rings, [&](const ops::RingView& r) {
      return (*stale_only && !r.stale()) || r.where.name().rfind(*prefix, 0) != 0;
    });
    std::erase_if(inv.services, [&](const ServiceEntry& s) {
      return (*stale_only && s.alive) || (s.service.rfind(*prefix, 0) != 0 && s.ring.name().rfind(*prefix, 0) != 0);
    });
    if (g.json) {
      print_json(ops::to_json(inv));
    } else {
      print_rings(inv);
      print_channels(inv);
      print_services(inv);
      for (const auto& u : inv.unreadable) std::printf("\nunreadable: %s: %s", u.name.c_str(), u.why.c_str());
      if (!inv.unreadable.empty()) std::printf("\n");
      if (inv.not_permitted > 0) std::printf("(%zu segments of other users not shown)\n", inv.not_permitted);
    }
    std::fflush(stdout);
  });
}

}  // namespace ringdrop::cli

// ringdrop gc — remove what crashed programs left: rings no live process is
// attached to (older than --min-age, and empty unless --include-waiting),
// and the service registry's dead entries.
#include <cstdio>

#include "cli.hpp"

namespace ringdrop::cli {

namespace {

struct Args {
  std::string min_age = "60s";
  bool dry_run = false;
  bool include_waiting = false;
  std::string prefix;
};

// Why `r` must stay, or empty when it may go.
// A dead client's reply ring goes even with servers still attached to it,
// and with replies in it: nobody will read them.
std::string keep_reason(const ops::RingView& r, std::chrono::milliseconds min_age, bool include_waiting) {
  const bool orphaned_replies = r.orphaned_reply_ring();
  if (!r.stale() && !orphaned_replies) return "live peers attached";
  if (std::chrono::system_clock::now() - r.created < min_age) return "younger than --min-age";
  if (r.holds_messages() && !include_waiting && !orphaned_replies) {
    return "holds messages a consumer may still come for (--include-waiting)";
  }
  return {};
}

}  // namespace

void add_gc(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("gc", "Remove rings and service entries that crashed programs left");
  cmd->footer(
      "A ring goes when no live process is attached to it (the kernel-held role locks say so, whatever its pids "
      "now name), it is older than --min-age, and nothing waits in it (unless --include-waiting). A client's "
      "private reply ring (ringdrop.reply.*) goes when its client is gone (no consumer attached), whatever "
      "servers are still attached and whatever replies wait in it. Each is looked "
      "at again just before it is removed; a process that opens it by name in that instant keeps its mapping, "
      "and the next opener makes a new ring. Rings of --path are file-backed: their files are removed.\n"
      "Example: ringdrop gc --dry-run");
  auto a = std::make_shared<Args>();
  cmd->add_option("--min-age", a->min_age, "Keep rings younger than this (default 60s)");
  cmd->add_flag("--dry-run", a->dry_run, "Only list what would be removed");
  cmd->add_flag("--include-waiting", a->include_waiting, "Also remove stale rings that still hold messages");
  cmd->add_option("--prefix", a->prefix, "Only rings whose shm name (or path) starts with this");
  cmd->callback([&g, a] {
    const auto min_age = parse_duration(a->min_age);
    const ops::Inventory inv = ops::take_inventory(g.inventory());
    ops::Json removed = ops::Json::array(), kept = ops::Json::array(), failed = ops::Json::array();
    for (const auto& r : inv.rings) {
      if (r.where.name().rfind(a->prefix, 0) != 0) continue;
      std::string why = keep_reason(r, min_age, a->include_waiting);
      if (why.empty()) {
        // Again, right before: a peer may have attached since the inventory.
        auto again = ops::inspect_ring(r.where);
        if (!again) continue;  // gone meanwhile
        why = keep_reason(*again, min_age, a->include_waiting);
      }
      const std::string name = r.where.describe();
      if (!why.empty()) {
        kept.push_back({{"name", name}, {"why", why}});
        continue;
      }
      if (!a->dry_run) {
        if (auto ec = Segment::remove(r.where); ec && ec != errc::not_found) {
          failed.push_back({{"name", name}, {"error", ec.message() + " (" + last_error_detail() + ")"}});
          continue;
        }
      }
      removed.push_back(name);
    }
    size_t services = 0;
    for (const auto& s : inv.services) services += s.alive ? 0 : 1;
    if (!a->dry_run && services > 0) {
      auto reg = ServiceRegistry::open(g.inventory().registry);
      auto n = reg ? reg->remove_dead() : Result<size_t>(reg.error());
      if (n) {
        services = *n;
      } else {  // reported with the rings, after what was removed
        failed.push_back({{"name", "service registry " + g.inventory().registry.string()},
                          {"error", n.error().message() + " (" + last_error_detail() + ")"}});
        services = 0;
      }
    }
    if (g.json) {
      print_json({{"dry_run", a->dry_run}, {"removed", removed}, {"kept", kept}, {"failed", failed},
                  {"dead_services_removed", services}});
    } else {
      for (const auto& n : removed) std::printf("%s %s\n", a->dry_run ? "would remove" : "removed", n.get<std::string>().c_str());
      for (const auto& k : kept) {
        std::printf("kept %s: %s\n", k["name"].get<std::string>().c_str(), k["why"].get<std::string>().c_str());
      }
      for (const auto& f : failed) {
        std::printf("FAILED %s: %s\n", f["name"].get<std::string>().c_str(), f["error"].get<std::string>().c_str());
      }
      std::printf("%zu ring(s) %s, %zu kept; %zu dead service entr%s %s\n", removed.size(),
                  a->dry_run ? "to remove" : "removed", kept.size(), services, services == 1 ? "y" : "ies",
                  a->dry_run ? "to remove" : "removed");
    }
    if (!failed.empty()) fail(Exit::problems, std::to_string(failed.size()) + " thing(s) could not be removed");
  });
}

}  // namespace ringdrop::cli

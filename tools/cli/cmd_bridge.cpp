// ringdrop bridge — the state of ringdrop-bridge processes (docs/bridge.md):
// each one's verdict (running, stuck, dead, stopped) and its routes'
// states and counters, from its state directory's status.json.
#include <iostream>
#include <optional>

#include "bridge_view.hpp"
#include "cli.hpp"

namespace ringdrop::cli {

void add_bridge(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("bridge", "Show ringdrop-bridge processes: running, stuck, dead or stopped, and their routes");
  cmd->footer(
      "STATE_DIR is a bridge's state directory (its --state-dir). The verdict is the reader's, not the file's: "
      "a bridge whose process is gone is dead, one whose status file (rewritten every half second) is more than "
      "5 s old, or whose route's loop stopped going round, is stuck. Exit status 0 when every bridge runs, 9 when "
      "one does not, 3 when a directory holds no status file, 4 when its file is not a bridge's; with several "
      "directories, each one that cannot be read is said on stderr and the others are still shown (--json: "
      "{\"state_dir\", \"error\"} in its place).\nExample: ringdrop bridge /var/lib/ringdrop-bridge/host-a");
  auto dirs = std::make_shared<std::vector<std::string>>();
  cmd->add_option("STATE_DIR", *dirs, "A bridge's state directory (repeatable)")->required();
  cmd->callback([&g, dirs] {
    ops::Json all = ops::Json::array();
    bool all_running = true;
    std::optional<Failure> unread;  // the first directory that could not be read
    for (const auto& dir : *dirs) {
      auto s = ops::read_bridge_status(dir);
      if (!s && dirs->size() == 1) fail(s.error(), "read the bridge status in " + dir);
      if (!s) {
        const std::string why = "read the bridge status in " + dir + ": " + last_error_detail();
        if (!unread) unread.emplace(exit_for(s.error()), why);
        if (g.json) all.push_back({{"state_dir", dir}, {"error", why}});
        std::cerr << "ringdrop: " << why << std::endl;
        continue;
      }
      all_running = all_running && s->value("verdict", "") == "running";
      if (g.json) {
        all.push_back(ops::Json::parse(s->dump()));  // ops::Json keeps the keys in order
      } else {
        std::cout << ops::describe_bridge(*s);
      }
    }
    if (g.json) print_json(all);
    if (unread) throw Failure(unread->code, std::to_string(dirs->size()) + " state directories given, not every one could be read");
    if (!all_running) throw Failure(Exit::problems, "not every bridge is running");
  });
}

}  // namespace ringdrop::cli

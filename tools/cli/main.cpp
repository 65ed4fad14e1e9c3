// ringdrop — the operator's command: see every ring, drop channel and
// service on the host, look into and repair dead letters, send from the
// shell, clean up what crashed programs left, check the host.
//
//   ringdrop ls                      everything, one line each
//   ringdrop stat NAME [--watch]     one ring, channel or service in full
//   ringdrop dlq ls|show|requeue|purge
//   ringdrop send NAME               one message from the shell
//   ringdrop gc [--dry-run]          remove what dead programs left
//   ringdrop doctor                  what this host lacks
//   ringdrop bridge STATE_DIR...     ringdrop-bridge processes: running, stuck, dead or stopped
//   ringdrop console                 the web console: live state, dead letters to retry or purge
//
// Every command takes --json (one documented shape, docs/cli.md) and exits
// with a status per kind of failure (exit_codes.hpp). The model it shows is
// tools/ops, shared with the console.
#include <cstdlib>
#include <iostream>

#include "cli.hpp"
#include "ringdrop/version.hpp"

namespace {

// $RINGDROP_CONFIG, else ~/.config/ringdrop/ringdrop.toml (read if present).
std::string default_config() {
  if (const char* c = std::getenv("RINGDROP_CONFIG"); c && *c) return c;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.config/ringdrop/ringdrop.toml";
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringdrop::cli;
  CLI::App app{
      "ringdrop: every ring, drop channel and service on this host; their dead letters; sending from the shell; "
      "cleaning up after crashed programs.\nNAME is shm:<name>, file:<path>, service:<name>, a drop channel's "
      "directory, or a bare name (a ring in /dev/shm, else a registered service).",
      "ringdrop"};
  app.footer(std::string("\n") + exit_code_help() + "\nMore: docs/cli.md (installed: share/doc/ringdrop/cli.md).");
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("ringdrop ") + RINGDROP_VERSION_STRING);
  Globals g;
  app.add_flag("--json", g.json, "Print one JSON document (docs/cli.md gives each command's shape)");
  app.add_option("--channel", g.channels, "A drop channel's directory to include (repeatable; also `channel` in the config)");
  app.add_option("--path", g.paths, "A file-backed ring to include (repeatable; also `path` in the config)");
  app.add_option("--registry", g.registry, "The service registry directory (default: $RINGDROP_SERVICE_DIR, else /dev/shm/ringdrop-services-<uid>)");
  app.set_config("--config", default_config(),
                 "TOML file of defaults, e.g. channel = [\"/srv/drop/orders\"] (default: $RINGDROP_CONFIG, else ~/.config/ringdrop/ringdrop.toml)");
  add_ls(app, g);
  add_stat(app, g);
  add_dlq(app, g);
  add_send(app, g);
  add_gc(app, g);
  add_doctor(app, g);
  add_tail(app, g);
  add_call(app, g);
  add_bridge(app, g);
  add_console(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(Exit::usage);
  } catch (const Failure& f) {
    std::cout.flush();
    std::cerr << "ringdrop: " << f.what() << std::endl;
    return static_cast<int>(f.code);
  } catch (const std::exception& e) {
    std::cerr << "ringdrop: internal error: " << e.what() << std::endl;
    return static_cast<int>(Exit::failed);
  }
  return 0;
}

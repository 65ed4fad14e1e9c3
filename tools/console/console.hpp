// console.hpp — `ringdrop console`: a web console over the model the
// `ringdrop` command's --json shows (tools/ops), served by cpp-httplib.
//
//   GET  /                  the page (assets/, compiled in); /?token=T logs in
//   GET  /api/session       the CSRF token, the user, the version
//   GET  /api/overview      `ringdrop ls --json` and each ring's rate history
//   GET  /api/dead-letters  `ringdrop dlq ls --json` (store, reason, older_than, newer_than, source)
//   GET  /api/dead-letter   `ringdrop dlq show --json` (store, id)
//   POST /api/retry         `ringdrop dlq requeue --json` ({"store", "ids"} or {"store", "all", filters})
//   POST /api/purge         `ringdrop dlq purge --json`
//   GET  /api/actions       the action log, newest first
//   GET  /metrics           the inventory in the Prometheus text format
//
// Errors are {"error": "..."}: 400 bad input (JSON, a duration, an id with
// '/' or ".."), 401 no token, 403 a POST without its CSRF token or from
// another origin, 404 a store or dead letter not in scope, 409 while another
// action runs (one at a time) or when "expect" is not the count that
// matches, 413 a body over 1 MiB. gate.hpp is the security model; scope.hpp
// what may be shown.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "inventory.hpp"
#include "ringdrop/result.hpp"
#include "typed_json.hpp"

namespace ringdrop::console {

struct ConsoleOptions {
  std::string host = "127.0.0.1";
  int port = 8470;                    ///< 0: any free port
  std::string token;                  ///< empty: a random one
  std::string action_log;             ///< empty: ActionLog::default_path()
  ops::InventoryOptions scope;        ///< what it shows (scope.hpp)
  std::shared_ptr<const ops::SchemaType> schema;  ///< decodes typed bodies, if given
  std::chrono::milliseconds sample{5000};         ///< rate history interval
  std::chrono::milliseconds ring_timeout{2000};   ///< a ring retry's wait for room, per message
};

class Console {
 public:
  /// Opens the action log and binds the address. Errors: the action log's
  /// (ActionLog::open), address_in_use and the system's for the bind.
  static Result<std::unique_ptr<Console>> open(ConsoleOptions options);
  ~Console();

  int port() const noexcept;
  /// http://HOST:PORT/?token=TOKEN, the link that logs in.
  std::string url() const;
  /// Serves until stop(). Returns false if the server could not run.
  bool run();
  /// From any thread: run() returns once the requests in progress end.
  void stop();

 private:
  struct Impl;
  explicit Console(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringdrop::console

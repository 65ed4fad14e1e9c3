// action_log.hpp — what was retried or purged from the console, by whom and
// when: one JSON object a line, appended to a file that outlives the
// console (the default is $XDG_STATE_HOME/ringdrop/console-actions.log).
#pragma once

#include <cstddef>
#include <string>

#include "ops_json.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop::console {

class ActionLog {
 public:
  /// Opens (creating it and its folder, mode 0600) `path` for appending.
  /// Errors: the system's (permission_denied, not_found...).
  static Result<ActionLog> open(const std::string& path);
  /// $XDG_STATE_HOME/ringdrop/console-actions.log, else
  /// ~/.local/state/ringdrop/console-actions.log.
  static std::string default_path();

  ActionLog(ActionLog&&) noexcept;
  ~ActionLog();

  /// Appends `entry` as one line, in one write(2) (O_APPEND: whole lines,
  /// even with two consoles on one file). Errors: the system's.
  std::error_code append(const ops::Json& entry);
  /// The last `limit` entries, newest first (lines that do not parse are
  /// skipped).
  ops::Json recent(size_t limit) const;
  const std::string& path() const noexcept { return path_; }

 private:
  ActionLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

}  // namespace ringdrop::console

#include "action_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>

#include "ringdrop/error.hpp"

namespace ringdrop::console {

std::string ActionLog::default_path() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x == '/') return std::string(x) + "/ringdrop/console-actions.log";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/ringdrop/console-actions.log";
}

Result<ActionLog> ActionLog::open(const std::string& path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return detail::fail(std::error_code(errno, std::system_category()), "open the action log " + path);
  return ActionLog(path, fd);
}

ActionLog::ActionLog(ActionLog&& o) noexcept : path_(std::move(o.path_)), fd_(o.fd_) { o.fd_ = -1; }

ActionLog::~ActionLog() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code ActionLog::append(const ops::Json& entry) {
  const std::string line = entry.dump(-1, ' ', false, ops::Json::error_handler_t::replace) + "\n";
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n < 0) return detail::fail(std::error_code(errno, std::system_category()), "write the action log " + path_);
  if (static_cast<size_t>(n) != line.size()) return detail::fail(errc::no_space, "a short write to the action log " + path_);
  return {};
}

ops::Json ActionLog::recent(size_t limit) const {
  std::ifstream in(path_);
  std::deque<ops::Json> last;
  for (std::string line; std::getline(in, line);) {
    auto j = ops::Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    last.push_back(std::move(j));
    if (last.size() > limit) last.pop_front();
  }
  ops::Json out = ops::Json::array();
  for (auto it = last.rbegin(); it != last.rend(); ++it) out.push_back(std::move(*it));
  return out;
}

}  // namespace ringdrop::console

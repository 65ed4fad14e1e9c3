#include "bridge_status.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "ringdrop/error.hpp"
#include "route_context.hpp"

namespace ringdrop::bridge {

using detail::fail;
using detail::from_errno;

using nlohmann::json;

json route_json(const std::string& name, std::string_view direction, const std::string& ringdrop_end,
                const std::string& broker_end, const RouteStats& s) {
  auto get = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  return json{{"name", name},
              {"direction", direction},
              {"ringdrop", ringdrop_end},
              {"broker", broker_end},
              {"state", to_string(static_cast<RouteState>(get(s.state)))},
              {"state_since_ns", get(s.state_since_ns)},
              {"last_progress_ns", get(s.last_progress_ns)},
              {"last_loop_ns", get(s.last_loop_ns)},
              {"bridged", get(s.bridged)},
              {"published", get(s.published)},
              {"returned", get(s.returned)},
              {"nacked", get(s.nacked)},
              {"dead_lettered", get(s.dead_lettered)},
              {"deduplicated", get(s.deduplicated)},
              {"looped", get(s.looped)},
              {"late_replies", get(s.late_replies)},
              {"reconnects", get(s.reconnects)},
              {"in_flight", get(s.in_flight)},
              {"last_error", s.last_error()}};
}

std::error_code write_status(const std::string& state_dir, const json& status) {
  const std::string path = state_dir + "/status.json";
  const std::string tmp = path + ".tmp";
  // replace: a last error may quote bytes from the network that are not UTF-8.
  const std::string text = status.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return fail(from_errno(errno), "open " + tmp);
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int write_errno = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return fail(from_errno(n < 0 ? write_errno : ENOSPC), "write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(from_errno(errno), "rename " + tmp);
  return {};
}


}  // namespace ringdrop::bridge

#include "bridge_view.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <sstream>

#include "ringdrop/error.hpp"

namespace ringdrop::ops {

using nlohmann::json;

namespace {

// A status file is a few KiB a route, never deeply nested: anything else is
// refused before parsing, so nothing recursive (dump(), the destructor)
// meets a hostile depth, and a reader never takes all memory.
constexpr int kMaxDepth = 16;
constexpr off_t kMaxBytes = 16 << 20;

int64_t real_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ms from `then` to `now`, saturated (a hostile file's times overflow
// nothing); negative for a time in the future.
int64_t ms_since(int64_t now, int64_t then) noexcept {
  int64_t d = 0;
  if (__builtin_sub_overflow(now, then, &d)) return then > now ? INT64_MIN / 1'000'000 : INT64_MAX / 1'000'000;
  return d / 1'000'000;
}

// Adds the verdict and the file's age. Throws json::exception for a field
// of the wrong type.
void judge(json& j, std::chrono::milliseconds stale) {
  const int64_t now = real_now_ns();
  const int64_t age_ms = ms_since(now, j["updated_ns"].get<int64_t>());
  const auto pid = j["pid"].get<int64_t>();
  const bool alive = pid > 0 && pid <= INT32_MAX && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
  std::string verdict = "running";
  if (j.value("stopped", false)) {
    verdict = "stopped";
  } else if (!alive) {
    verdict = "dead";
  } else if (age_ms > stale.count() || age_ms < -stale.count()) {
    verdict = "stuck";  // old, or written by a clock that is not this host's
  } else if (j.contains("routes") && j["routes"].is_array()) {
    // The file is fresh; a route whose loop stopped going round is not.
    for (const auto& r : j["routes"]) {
      if (!r.is_object()) continue;
      const int64_t loop_ns = r.value("last_loop_ns", int64_t{0});  // 0: not yet started
      if (loop_ns != 0 && r.value("state", "") != "stopped" && ms_since(now, loop_ns) > stale.count()) {
        verdict = "stuck";
      }
    }
  }
  j["verdict"] = verdict;
  j["age_ms"] = age_ms;
}

bool too_deep(const std::string& text) noexcept {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

// The file's text; O_NONBLOCK, so a FIFO put there does not hang the reader.
Result<std::string> read_small_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT) return detail::fail(errc::not_found, path + ": no bridge has run with this state directory");
  if (fd < 0) return detail::fail(detail::from_errno(errno), "open " + path);
  struct stat st{};
  std::string text;
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxBytes;
  if (regular) {
    text.resize(static_cast<size_t>(st.st_size));
    const ssize_t n = ::read(fd, text.data(), text.size());
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  ::close(fd);
  if (!regular) return detail::fail(errc::bad_message, path + " is not a bridge's status file (not a regular file of its size)");
  return text;
}

void describe(const json& j, std::ostream& out) {
  out << "bridge " << j.value("name", "?") << " (pid " << j.value("pid", 0) << "): " << j.value("verdict", "?")
      << ", status " << j.value("age_ms", int64_t{0}) << " ms old, broker " << j.value("broker", "?") << "\n";
  for (const auto& r : j.value("routes", json::array())) {
    if (!r.is_object()) continue;
    out << "  " << r.value("name", "?") << " (" << r.value("direction", "?") << ", " << r.value("ringdrop", "?")
        << " / " << r.value("broker", "?") << "): " << r.value("state", "?") << ", bridged " << r.value("bridged", 0)
        << ", in flight " << r.value("in_flight", 0) << ", dead letters " << r.value("dead_lettered", 0)
        << ", deduplicated " << r.value("deduplicated", 0) << ", reconnects " << r.value("reconnects", 0);
    if (r.contains("pending_replies")) out << ", replies awaited " << r.value("pending_replies", 0);
    if (const std::string e = r.value("last_error", std::string()); !e.empty()) out << "\n    last error: " << e;
    out << "\n";
  }
}

}  // namespace

Result<json> read_bridge_status(const std::string& state_dir, std::chrono::milliseconds stale) {
  const std::string path = state_dir + "/status.json";
  auto text = read_small_file(path);
  if (!text) return text.error();
  json j = too_deep(*text) ? json(json::value_t::discarded) : json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer() ||
      !j.contains("updated_ns") || !j["updated_ns"].is_number_integer()) {
    return detail::fail(errc::bad_message, path + " is not a bridge's status file");
  }
  try {
    judge(j, stale);
  } catch (const json::exception& e) {
    return detail::fail(errc::bad_message, path + " is not a bridge's status file: " + e.what());
  }
  return j;
}

std::string describe_bridge(const json& j) {
  std::ostringstream out;
  try {
    describe(j, out);
  } catch (const json::exception&) {
    out << "\n(a field of the status file has the wrong type: --json shows it as it is)\n";
  }
  return out.str();
}

}  // namespace ringdrop::ops

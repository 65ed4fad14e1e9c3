#include "bridge_view.hpp"

#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "ringdrop/error.hpp"

namespace ringdrop::ops {

using nlohmann::json;

namespace {

int64_t real_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Adds the verdict and the file's age. Throws json::exception for a field
// of the wrong type.
void judge(json& j, std::chrono::milliseconds stale) {
  const int64_t now = real_now_ns();
  const int64_t age_ms = (now - j["updated_ns"].get<int64_t>()) / 1'000'000;
  const auto pid = j["pid"].get<int64_t>();
  const bool alive = pid > 0 && pid <= INT32_MAX && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
  std::string verdict = "running";
  if (j.value("stopped", false)) {
    verdict = "stopped";
  } else if (!alive) {
    verdict = "dead";
  } else if (age_ms > stale.count()) {
    verdict = "stuck";
  } else if (j.contains("routes") && j["routes"].is_array()) {
    // The file is fresh; a route whose loop stopped going round is not.
    for (const auto& r : j["routes"]) {
      if (!r.is_object()) continue;
      const int64_t loop_ns = r.value("last_loop_ns", int64_t{0});  // 0: not yet started
      const int64_t loop_ms = (now - loop_ns) / 1'000'000;
      if (loop_ns != 0 && r.value("state", "") != "stopped" && loop_ms > stale.count()) verdict = "stuck";
    }
  }
  j["verdict"] = verdict;
  j["age_ms"] = age_ms;
}

void describe(const json& j, std::ostream& out);

}  // namespace

Result<json> read_bridge_status(const std::string& state_dir, std::chrono::milliseconds stale) {
  const std::string path = state_dir + "/status.json";
  std::ifstream f(path);
  if (!f) return detail::fail(errc::not_found, path + ": no bridge has run with this state directory");
  std::ostringstream text;
  text << f.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
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

namespace {

void describe(const json& j, std::ostream& out) {
  out << "bridge " << j.value("name", "?") << " (pid " << j.value("pid", 0) << "): " << j.value("verdict", "?")
      << ", status " << j.value("age_ms", int64_t{0}) << " ms old, broker " << j.value("broker", "?") << "\n";
  for (const auto& r : j.value("routes", json::array())) {
    if (!r.is_object()) continue;
    out << "  " << r.value("name", "?") << " (" << r.value("direction", "?") << ", " << r.value("ringdrop", "?")
        << " / " << r.value("broker", "?") << "): " << r.value("state", "?") << ", bridged " << r.value("bridged", 0)
        << ", in flight " << r.value("in_flight", 0) << ", dead letters " << r.value("dead_lettered", 0)
        << ", deduplicated " << r.value("deduplicated", 0) << ", reconnects " << r.value("reconnects", 0);
    if (const std::string e = r.value("last_error", std::string()); !e.empty()) out << "\n    last error: " << e;
    out << "\n";
  }
}

}  // namespace

}  // namespace ringdrop::ops

#include "dead_letter_query.hpp"

#include <cmath>
#include <cstdlib>

#include "ringdrop/error.hpp"

namespace ringdrop::ops {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string s(text);
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  const std::string_view unit(end);
  double ms = 0;
  if (unit.empty() || unit == "s") ms = v * 1e3;
  else if (unit == "ms") ms = v;
  else if (unit == "m") ms = v * 60e3;
  else if (unit == "h") ms = v * 3600e3;
  else if (unit == "d") ms = v * 86400e3;
  else return std::nullopt;
  if (!std::isfinite(ms) || v < 0 || ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::string reason_summary(std::string_view text) {
  std::string_view error, first;
  for (size_t at = 0; at < text.size();) {
    const size_t nl = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, nl - at);
    if (line.substr(0, 8) == "reason: ") return std::string(line.substr(8));
    if (error.empty() && line.substr(0, 7) == "error: ") error = line.substr(7);
    if (first.empty()) first = line;
    at = nl + 1;
  }
  return std::string(error.empty() ? first : error);
}

bool DeadLetterFilter::matches(const DeadLetter& d, std::chrono::system_clock::time_point now) const {
  const auto age = now - d.failed_at;
  if (!reason.empty() && reason_summary(d.reason).find(reason) == std::string::npos) return false;
  if (older_than && age < *older_than) return false;
  if (newer_than && age >= *newer_than) return false;
  if (!source.empty()) {
    for (const char* k : {"source", "original-name", "source-kind"}) {
      const auto it = d.headers.find(k);
      if (it != d.headers.end() && it->second.find(source) != std::string::npos) return true;
    }
    return false;
  }
  return true;
}

Json DeadLetterFilter::to_json() const {
  Json j = Json::object();
  if (!reason.empty()) j["reason"] = reason;
  if (older_than) j["older_than_ms"] = older_than->count();
  if (newer_than) j["newer_than_ms"] = newer_than->count();
  if (!source.empty()) j["source"] = source;
  return j.empty() ? Json(nullptr) : j;
}

Result<std::vector<DeadLetter>> matching(const DeadLetterStore& s, const DeadLetterFilter& f) {
  auto all = s.list();
  if (!all) return all.error();
  const auto now = std::chrono::system_clock::now();
  std::vector<DeadLetter> out;
  for (auto& d : *all) {
    if (f.matches(d, now)) out.push_back(std::move(d));
  }
  return out;
}

Json listing_json(const DeadLetterStore& s, const std::vector<DeadLetter>& letters) {
  Json list = Json::array();
  for (const auto& d : letters) list.push_back(to_json(d));
  return {{"store", s.label()}, {"kind", s.is_ring() ? "ring" : "channel"}, {"dead_letters", list}};
}

Json shown_json(const DeadLetterStore& s, const DeadLetter& d, const Json& body) {
  Json j = to_json(d);
  j["store"] = s.label();
  j["body"] = body;
  return j;
}

std::string batch_error(std::error_code ec) {
  const std::string detail = detail::detail_of(ec);
  return ec.message() + (detail.empty() ? "" : " (" + detail + ")");
}

Json batch_json(const std::string& store, bool dry_run, const std::vector<BatchResult>& results) {
  Json list = Json::array();
  size_t done = 0;
  for (const auto& r : results) {
    done += r.error.empty() ? 1 : 0;
    list.push_back({{"id", r.id}, {"ok", r.error.empty()}, {"error", r.error}});
  }
  return {{"store", store}, {"dry_run", dry_run}, {"matched", results.size()}, {"done", dry_run ? 0 : done},
          {"results", list}};
}

}  // namespace ringdrop::ops

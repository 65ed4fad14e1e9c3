#include "drop/drop_ingest_rule.hpp"

#include <charconv>

#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

constexpr std::string_view kFile = "ingest";

/// A suffix a file name can end with: not empty, no '/', no NUL or control
/// character, at most 64 bytes.
bool valid_suffix(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string format_ingest_rule(const IngestOptions& o) {
  return std::string("completion ") + (o.completion == Completion::marker ? "marker" : "settle") +
         "\nsettle_ms " + std::to_string(o.settle_time.count()) + "\nmarker_suffix " + o.marker_suffix + "\n";
}

Result<IngestOptions> parse_ingest_rule(std::string_view text, const std::string& where) {
  IngestOptions o;
  bool completion = false, settle = false, suffix = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return fail(errc::corrupted, where + ": the last line has no newline");
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    const size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    const std::string_view value = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    if (key == "completion" && (value == "settle" || value == "marker")) {
      o.completion = value == "marker" ? Completion::marker : Completion::settle;
      completion = true;
    } else if (key == "settle_ms") {
      int64_t ms = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec != std::errc{} || end != value.data() + value.size() || ms < 0) {
        return fail(errc::corrupted, where + ": settle_ms is not a number of milliseconds");
      }
      o.settle_time = std::chrono::milliseconds(ms);
      settle = true;
    } else if (key == "marker_suffix" && valid_suffix(value)) {
      o.marker_suffix = std::string(value);
      suffix = true;
    } else {
      return fail(errc::corrupted, where + ": cannot read the line \"" + std::string(line.substr(0, 80)) + "\"");
    }
  }
  if (!completion || !settle || !suffix) {
    return fail(errc::corrupted, where + ": completion, settle_ms and marker_suffix are each needed");
  }
  return o;
}

std::error_code settle_ingest_rule(DropTree& t) {
  if (!valid_suffix(t.options.ingest.marker_suffix)) {
    return fail(errc::invalid_argument, "marker_suffix \"" + t.options.ingest.marker_suffix +
                                            "\": must be 1-64 characters, without '/' or control characters");
  }
  for (int tries = 0;; ++tries) {
    auto text = read_small_file(t, Dir::state, kFile, 4096);
    if (text) {
      auto rule = parse_ingest_rule(*text, t.path(Dir::state, kFile));
      if (!rule) return rule.error();
      t.options.ingest = *rule;
      return {};
    }
    if (text.error() != errc::not_found) return text.error();
    if (!t.options.create) return {};  // an older channel, opened as it is: the opener's own rule
    // Not replacing: of two creators at once, the first one's rule holds,
    // and the other reads it on the next turn.
    const auto ec = write_small_file(t, Dir::state, kFile, format_ingest_rule(t.options.ingest), false);
    if (!ec) return {};
    if (ec != errc::already_exists || tries > 0) return ec;
  }
}

}  // namespace ringdrop::detail

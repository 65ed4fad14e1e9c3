// dead_letter_query.hpp — picking dead letters and reporting on them, the
// same way for `ringdrop dlq` and the console: a filter (reason, age,
// source), a dead letter's one-line reason, and the JSON of a listing, of
// one dead letter and of a batch of requeues or purges (docs/cli.md gives
// the shapes; the console's /api returns them unchanged).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dead_letter_store.hpp"
#include "ops_json.hpp"

namespace ringdrop::ops {

/// Parses "30s", "5m", "2h", "7d", "250ms" (a bare number is seconds);
/// nullopt for anything else (a negative, an unknown unit, over ~30000 years).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// What a dead letter's reason file says went wrong: its `reason:` line (or,
/// in files written by hand, `error:`), else its first line. The file's other
/// lines (attempts, consumer, times) are not the reason.
std::string reason_summary(std::string_view reason_file);

struct DeadLetterFilter {
  std::string reason;  ///< substring of reason_summary()
  std::optional<std::chrono::milliseconds> older_than, newer_than;
  std::string source;  ///< substring of the source, original-name or source-kind header

  bool matches(const DeadLetter& d, std::chrono::system_clock::time_point now) const;
  /// {"reason", "older_than", "newer_than", "source"} of those set, else null.
  Json to_json() const;
};

/// The dead letters of `s` that `f` lets through, oldest first. Errors: list()'s.
Result<std::vector<DeadLetter>> matching(const DeadLetterStore& s, const DeadLetterFilter& f);

/// One store in a listing: {"store", "kind": "ring"|"channel", "dead_letters": [...]}.
Json listing_json(const DeadLetterStore& s, const std::vector<DeadLetter>& letters);
/// One dead letter in full: to_json(d) with "store" and "body" (describe_bytes()).
Json shown_json(const DeadLetterStore& s, const DeadLetter& d, const Json& body);

/// A failed requeue or purge in a batch's results: the error and, when the
/// library recorded one with it, its detail in parentheses.
std::string batch_error(std::error_code ec);

/// One dead letter's outcome in a batch; `error` empty when it was done.
struct BatchResult {
  std::string id;
  std::string error;
};
/// {"store", "dry_run", "matched", "done", "results": [{"id", "ok", "error"}]}.
Json batch_json(const std::string& store, bool dry_run, const std::vector<BatchResult>& results);

}  // namespace ringdrop::ops

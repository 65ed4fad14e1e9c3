// drop_name.hpp — the names of a drop channel's files, which carry its state.
//
//   message id   <publish-ns:19 digits>-<host>-<pid>-<seq>-<random:8 hex>
//   new/         <id>.<attempts>
//   work/        <id>.<attempts>.<consumer>.<lease-deadline-ms>
//   retry/       <id>.<attempts>.<not-before-ms>
//   failed/      <id>.<attempts>, <id>.reason
//
// Ids and consumer ids use only [0-9a-z-], so '.' separates fields. Times in
// names are wall-clock (CLOCK_REALTIME) milliseconds: they are compared by
// other processes, possibly on other hosts sharing the directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringdrop::detail {

/// A new message id (unique across hosts, processes and threads).
std::string new_message_id();
/// `<host>-<pid>-<random:4 hex>`.
std::string new_consumer_id();
/// This host's name reduced to [0-9a-z], at most 24 characters.
const std::string& host_tag();

/// The shape of an id: 19 digits, '-', then [0-9a-z-] (at most 128 in all).
/// A legacy file renamed into new/ as "orders.1" is not mistaken for one.
bool is_message_id(std::string_view s) noexcept;
/// A consumer id: 1-64 of [0-9a-z-], not starting with '-'.
bool is_consumer_id(std::string_view s) noexcept;
/// A single file name: not empty, "." or "..", no '/', no control
/// character, at most 255 bytes.
bool is_plain_name(std::string_view s) noexcept;

struct ReadyName {
  std::string id;
  uint32_t attempts = 0;
};
struct WorkName {
  std::string id;
  uint32_t attempts = 0;
  std::string consumer;
  int64_t lease_end_ms = 0;
};
struct RetryName {
  std::string id;
  uint32_t attempts = 0;
  int64_t not_before_ms = 0;
};

std::string ready_name(std::string_view id, uint32_t attempts);
std::string work_name(std::string_view id, uint32_t attempts, std::string_view consumer,
                      int64_t lease_end_ms);
std::string retry_name(std::string_view id, uint32_t attempts, int64_t not_before_ms);
std::string reason_name(std::string_view id);
/// The file name under state/keys/ that records `key` as processed: the key
/// itself when it is a safe lower-case name, otherwise "h-" and a 128-bit
/// hash (not cryptographic: producers are trusted not to forge collisions).
std::string key_file_name(std::string_view key);

std::optional<ReadyName> parse_ready(std::string_view name);
std::optional<WorkName> parse_work(std::string_view name);
std::optional<RetryName> parse_retry(std::string_view name);

/// The publish time an id of ours begins with (ns since the epoch), or 0.
int64_t id_time_ns(std::string_view id) noexcept;

/// Wall-clock time (CLOCK_REALTIME).
int64_t wall_ns() noexcept;
inline int64_t wall_ms() noexcept { return wall_ns() / 1'000'000; }
/// "2026-11-22T04:15:37.123Z".
std::string iso_time(int64_t ns);

}  // namespace ringdrop::detail

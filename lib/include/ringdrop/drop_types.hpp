// ringdrop/drop_types.hpp — the values of the file-drop channel: its
// options, a message's headers, dead letters, and the counts and statistics
// a channel and a consumer report.
//
// The classes that take and return them are in drop_channel.hpp
// (DropChannel, DropWriter) and drop_consumer.hpp (DropConsumer, DropClaim),
// which include this header; docs/file-drop.md describes the tree on disk.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace ringdrop {

/// Headers that travel with a message in a small text file beside it
/// (state/meta/<id>, one `key: value` per line, readable by a human).
/// Keys are 1-64 characters of [a-z0-9-]; values are at most 1024 printable
/// bytes with no line break; all of them at most 64 KiB. Anything else is
/// errc::invalid_argument.
using DropHeaders = std::map<std::string, std::string, std::less<>>;

/// Header names with a meaning to ringdrop or its users.
namespace drop_header {
inline constexpr std::string_view content_type = "content-type";
inline constexpr std::string_view correlation_id = "correlation-id";
inline constexpr std::string_view schema_id = "schema-id";
inline constexpr std::string_view producer = "producer";
/// When set, acknowledging records this key instead of the message id, so a
/// producer that publishes the same logical message twice has it processed
/// once. Any bytes are allowed; unsafe keys are hashed for the file name.
inline constexpr std::string_view idempotency_key = "idempotency-key";
// Set by ringdrop:
/// ns since the epoch; not stored, read from the id (which begins with it).
inline constexpr std::string_view published_at = "published-at";
inline constexpr std::string_view original_name = "original-name";  ///< name in incoming/
/// A ring's dead letter (ring_dead_letters.hpp): the ring it came from, as
/// Location::describe() gives it ("shm:orders"), and that ring's kind.
inline constexpr std::string_view source = "source";
inline constexpr std::string_view source_kind = "source-kind";
}  // namespace drop_header

/// When a file in incoming/ (written by a program that does not cooperate)
/// counts as complete.
enum class Completion {
  /// Its size, mtime and ctime have not changed for `settle_time`, as seen by
  /// the consumer's own clock. ctime cannot be set by the writer, so an upload
  /// that preserves the source's mtime is still seen to be growing.
  settle,
  /// A marker file `<name><marker_suffix>` exists (the writer creates it after
  /// closing the data file). The marker is removed when the file is taken.
  marker,
};

/// How a consumer notices new files.
enum class Discovery {
  /// inotify, except on network file systems (NFS, CIFS/SMB, FUSE), whose
  /// remote changes inotify does not see: there, polling only.
  automatic,
  inotify,
  polling,
};

struct IngestOptions {
  Completion completion = Completion::settle;
  std::chrono::milliseconds settle_time{2000};
  std::string marker_suffix = ".done";
};

struct DropOptions {
  /// Create the directory tree when it is missing (otherwise errc::not_found).
  bool create = true;
  /// Mode of directories this process creates, and (without the x bits) of
  /// the files it writes; the umask is not applied, so consumers running as
  /// other users of the group can take the files.
  uint32_t dir_mode = 0770;
  /// How long a claim is held before it counts as abandoned (its consumer
  /// crashed or hung) and the message goes back to new/. Extend it with
  /// DropClaim::extend() while processing takes longer.
  std::chrono::milliseconds lease{30'000};
  /// Deliveries before a message that keeps failing becomes a dead letter.
  uint32_t max_attempts = 5;
  /// A nacked message waits retry_backoff * 2^(attempts-1), at most
  /// retry_backoff_max, before it is ready again.
  std::chrono::milliseconds retry_backoff{1000};
  std::chrono::milliseconds retry_backoff_max{300'000};
  /// On ack, keep the message in done/ (with its headers) instead of deleting.
  bool archive = false;
  /// fsync each published file and the directory it lands in, so a message
  /// survives a power cut once publish() returns. Off: only a process crash.
  bool durable = true;
  /// When a file dropped into incoming/ is complete. The channel's: its
  /// creator's rule is written to state/ingest, and every later opener
  /// follows that file whatever it passes here (docs/file-drop.md).
  IngestOptions ingest;
  Discovery discovery = Discovery::automatic;
  /// Period of the full scan, which is the truth (inotify is only a hint),
  /// and the polling interval when there is no inotify.
  std::chrono::milliseconds scan_interval{1000};
  /// How long processed keys are remembered (idempotency). Must be longer
  /// than dead_letter_retention, so a requeued dead letter that was in fact
  /// processed is still recognised.
  std::chrono::hours key_retention{24 * 7};
  /// Dead letters older than this are purged by consumers' maintenance.
  std::chrono::hours dead_letter_retention{24 * 3};
  /// Receipts (receipts/: what became of each file dropped into incoming/,
  /// docs/file-drop.md) older than this are removed by maintenance.
  std::chrono::hours receipt_retention{24 * 7};
  /// Files in tmp/ older than this were left by writers that died; removed.
  std::chrono::hours stale_tmp_after{1};
};

/// One dead letter: a message that failed `max_attempts` times, was rejected,
/// or a file in incoming/ that could not be taken (a symlink, a FIFO...).
struct DeadLetter {
  std::string id;
  uint32_t attempts = 0;
  std::string path;    ///< failed/<id>.<attempts>
  std::string reason;  ///< the reason file's text (error, attempts, times)
  DropHeaders headers;
  std::chrono::system_clock::time_point failed_at;
};

/// What became of a message that has an original-name: a file a legacy
/// writer dropped into incoming/, or a message published with that header.
/// The channel keeps it as receipts/<name>.<id> (docs/file-drop.md).
struct DropReceipt {
  enum class Outcome {
    taken,          ///< moved from incoming/ into new/; not settled yet
    processed,      ///< acknowledged by a consumer
    dead_lettered,  ///< in failed/: refused at intake, rejected, or out of attempts
  };
  std::string id;
  std::string name;  ///< the original-name
  Outcome outcome = Outcome::taken;
  std::string reason;  ///< why it was dead-lettered (empty otherwise)
  std::string at;      ///< when the outcome was: ISO-8601 UTC, milliseconds
  bool settled() const noexcept { return outcome != Outcome::taken; }
};

/// Messages in each state, from one listing of each directory.
struct DropCounts {
  uint64_t incoming = 0, ready = 0, claimed = 0, retrying = 0, failed = 0, done = 0;
};

/// Counters of one consumer (all its claims included).
struct DropConsumerStats {
  uint64_t claimed = 0;           ///< claims handed to the caller
  uint64_t acked = 0;
  uint64_t nacked = 0;            ///< sent to retry/
  uint64_t dead_lettered = 0;     ///< moved to failed/ by this consumer
  uint64_t duplicates_skipped = 0;///< claimed, but its key was already processed
  uint64_t leases_reclaimed = 0;  ///< expired claims of others moved back
  uint64_t retries_promoted = 0;  ///< retry/ -> new/
  uint64_t ingested = 0;          ///< incoming/ -> new/
  uint64_t refused = 0;           ///< unsafe entries moved to failed/
  uint64_t lost_races = 0;        ///< a rename another consumer won first
  uint64_t scans = 0;
  uint64_t inotify_overflows = 0;
  /// Entries a scan or claim could not move (e.g. another user's file in a
  /// sticky directory, an I/O error). They are skipped, not fatal: the rest
  /// of the channel flows, and they are tried again at the next scan.
  /// last_error_detail() names the latest.
  uint64_t errors = 0;
};

}  // namespace ringdrop

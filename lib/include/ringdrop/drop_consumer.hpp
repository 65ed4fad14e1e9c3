// ringdrop/drop_consumer.hpp — taking messages from a drop channel.
//
// Any number of consumers, in any number of processes, compete for one
// channel. A consumer claims a message by renaming it from new/ into work/;
// the rename succeeds for exactly one of them. The claim holds a lease: if
// the consumer crashes or hangs past it, any other consumer moves the message
// back to new/ with its delivery count raised, and it is delivered again
// (at-least-once). A message that fails max_attempts times, by nack or by
// expired lease, becomes a dead letter instead of killing worker after
// worker. A message whose key (its idempotency-key header, or its id) is
// recorded in state/keys/ as processed is not delivered again, so a copy
// claimed after the first was acked — a redelivery, or a second publish
// under one key — is skipped (idempotent consumption; docs/file-drop.md says
// when keys are recorded, and why copies processed at the same moment are
// not prevented).
//
// How a consumer finds work: each full scan (every `scan_interval`, and on
// demand) takes complete files from incoming/, promotes retries whose time
// has come, reclaims expired leases and lists new/. Between scans inotify
// events (when available) add new names at once; an inotify queue overflow
// causes a full scan. inotify is a hint and the scan is the truth: a missed
// event delays a message by at most one scan interval, never loses it.
//
// Maintenance — stale tmp/ files, processed keys and dead letters past their
// retention — runs inside scans, about once a minute; there is no daemon.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_types.hpp"  // DropConsumerStats, DropHeaders...
#include "ringdrop/export.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop {

/// A read-only memory mapping of a claimed file. Empty for an empty file.
class RINGDROP_API MappedFile {
 public:
  MappedFile() = default;
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

 private:
  friend class DropClaim;
  MappedFile(const std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

namespace detail {
struct DropConsumerState;
}

/// One claimed message. Settle it with ack(), nack() or reject(); one that
/// is destroyed unsettled is nacked ("abandoned").
class RINGDROP_API DropClaim {
 public:
  const std::string& id() const noexcept { return id_; }
  /// 1 on the first delivery, 2 on the first redelivery...
  uint32_t attempt() const noexcept { return attempt_; }
  const DropHeaders& headers() const noexcept { return headers_; }
  /// Current path under work/ (it changes when the lease is extended).
  std::string path() const;
  uint64_t size() const noexcept { return size_; }
  /// A read-only descriptor of the file, valid until the claim is settled.
  int fd() const noexcept { return fd_; }
  /// The whole content, copied.
  Result<std::vector<std::byte>> read() const;
  /// The whole content, mapped read-only (no copy). A file truncated by
  /// someone else while mapped raises SIGBUS when the lost pages are read:
  /// prefer read() for files from untrusted uploaders.
  Result<MappedFile> map() const;
  std::chrono::system_clock::time_point lease_expires() const noexcept { return lease_end_; }

  /// Heartbeat: the lease now ends `lease` from now (default: the channel's).
  /// lease_lost when it had already expired and another consumer took it.
  std::error_code extend(std::chrono::milliseconds lease = std::chrono::milliseconds(0));
  /// Done: records a producer's idempotency key, then archives or deletes
  /// the message. lease_lost when the lease had expired and the message went
  /// back: its key (or id) is then recorded, so the other copy is skipped,
  /// not processed again.
  std::error_code ack();
  /// Failed this time: retry after the backoff, or dead letter (with
  /// `reason`) when this was the last attempt.
  std::error_code nack(std::string_view reason);
  /// Failed for good: dead letter now, with `reason`.
  std::error_code reject(std::string_view reason);
  bool settled() const noexcept { return fd_ < 0; }

  DropClaim(DropClaim&& other) noexcept;
  DropClaim& operator=(DropClaim&& other) noexcept;
  ~DropClaim();

 private:
  friend class DropConsumer;
  DropClaim(std::shared_ptr<detail::DropConsumerState> state, std::string id, uint32_t attempt,
            std::string work_name, int fd, uint64_t size, DropHeaders headers,
            std::chrono::system_clock::time_point lease_end) noexcept;
  std::error_code settle_to_failed(std::string_view reason);
  void close_fd() noexcept;

  std::shared_ptr<detail::DropConsumerState> state_;
  std::string id_;
  uint32_t attempt_ = 0;
  std::string work_name_;
  int fd_ = -1;
  uint64_t size_ = 0;
  DropHeaders headers_;
  std::chrono::system_clock::time_point lease_end_;
};

class RINGDROP_API DropConsumer {
 public:
  /// A consumer of `channel` with a fresh consumer id (`<host>-<pid>-<rand>`).
  static Result<DropConsumer> open(const DropChannel& channel);

  /// The oldest ready message, waiting up to `timeout` (timed_out) or until
  /// `deadline`. try_claim looks once (would_block).
  Result<DropClaim> claim(std::chrono::nanoseconds timeout);
  Result<DropClaim> claim_until(Deadline deadline);
  Result<DropClaim> try_claim();

  /// Runs a full scan now (ingest, retries, expired leases, listing).
  std::error_code scan();

  DropConsumerStats stats() const noexcept;
  const std::string& consumer_id() const noexcept;
  /// Whether inotify is in use (false: polling every scan_interval).
  bool uses_inotify() const noexcept;

  DropConsumer(DropConsumer&&) noexcept;
  DropConsumer& operator=(DropConsumer&&) noexcept;
  ~DropConsumer();

 private:
  struct Impl;
  explicit DropConsumer(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringdrop

// ringdrop/drop_channel.hpp — a watched directory as a message channel.
//
// Many legacy programs can do exactly one thing: write a file into a
// directory (a batch job, an FTP or SMB upload, a COBOL program). A drop
// channel turns such a directory into a message channel with the guarantees
// of a broker — at-least-once delivery, competing consumers, leases, retries,
// dead letters, idempotent consumption — and no broker. It is also the way to
// move large data between processes: pass the file, not the bytes.
//
//   auto ch = DropChannel::open("/srv/drop/orders").value();
//   ch.publish(bytes_of("hello"), {{"content-type", "text/plain"}});
//
//   auto rx = DropConsumer::open(ch).value();     // see drop_consumer.hpp
//   auto msg = rx.claim(5s);                      // a DropClaim, or an errc
//   if (msg) { use(msg->read().value()); msg->ack(); }
//
// On disk (docs/file-drop.md is the full description, written so a legacy
// program can take part by hand). One channel is one directory tree on one
// file system, so every change of state is one atomic rename:
//
//   incoming/  drop zone for writers that do not cooperate
//   tmp/       where cooperating writers write before publishing
//   new/       ready:    <id>.<attempts>
//   work/      claimed:  <id>.<attempts>.<consumer>.<lease-deadline-ms>
//   retry/     backing off after a nack: <id>.<attempts>.<not-before-ms>
//   done/      archive of acknowledged messages (when `archive` is on)
//   failed/    dead letters: <id>.<attempts> and <id>.reason
//   state/     layout marker, headers (state/meta/<id>), processed keys
//              (state/keys/<key>)
//
// A message id is `<publish-ns>-<host>-<pid>-<seq>-<random>`: unique across
// hosts and processes, and sorting by name sorts by publish time, which is
// the (best-effort) delivery order. The number of deliveries so far, the
// claiming consumer and the lease deadline travel in the name, so a rename
// records the whole state and a crash leaves nothing half-done.
//
// Thread safety: a DropChannel may publish from several threads at once.
// A DropConsumer belongs to one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ringdrop/drop_types.hpp"  // DropOptions, DropHeaders, DeadLetter, DropCounts...
#include "ringdrop/export.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop {

namespace detail {
struct DropTree;
}

class DropWriter;

class RINGDROP_API DropChannel {
 public:
  /// Opens the channel rooted at `root`, creating the tree if asked.
  /// Errors: not_found (missing, create off), permission_denied (a directory
  /// this process cannot write), invalid_argument (not a directory, bad
  /// options), incompatible_layout (a channel of another layout version).
  static Result<DropChannel> open(std::string root, DropOptions options = {});

  /// Publishes `payload` as one message; returns its id. The message is
  /// complete when it appears in new/ (write to tmp/, fsync, close, then a
  /// rename into new/ that never replaces).
  /// Errors: invalid_argument (headers), no_space (the disk or a quota is
  /// full; nothing was published and nothing is left behind).
  Result<std::string> publish(std::span<const std::byte> payload, const DropHeaders& headers = {});

  /// Starts a message too large to hold in memory: write into the returned
  /// writer (or its fd), then commit().
  Result<DropWriter> begin_publish(DropHeaders headers = {});

  /// Publishes an existing file by moving it into the channel: no bytes are
  /// copied. The file must be a regular file with one link (otherwise
  /// unsafe_file), on the channel's file system (otherwise invalid_argument:
  /// copy it in with begin_publish). On failure the file is moved back.
  Result<std::string> publish_file(const std::string& path, const DropHeaders& headers = {});

  /// Dead letters, oldest first.
  Result<std::vector<DeadLetter>> dead_letters() const;
  Result<DeadLetter> dead_letter(std::string_view id) const;
  /// Puts a dead letter back into new/ with its attempt count reset.
  std::error_code requeue(std::string_view id);
  /// Deletes a dead letter and its reason and headers.
  std::error_code purge(std::string_view id);
  /// Purges dead letters that failed more than `age` ago; returns how many.
  Result<std::size_t> purge_dead_letters(std::chrono::seconds age);
  /// Stores `payload` straight into failed/ as a dead letter: for rings and
  /// services that keep their dead letters in this channel (a ring's
  /// max_deliveries, a consumer's reject). `headers` are kept as a published
  /// message's are; `attempts` (its deliveries), `reason` and `who` (the
  /// consumer that gave up, or "") go into its reason file. Returns its id.
  /// Written to tmp/ and moved, as publish() does: it appears whole or not at
  /// all. Errors: as publish() (no_space, permission_denied, ...); on any
  /// error nothing is left behind.
  Result<std::string> put_dead_letter(std::span<const std::byte> payload, const DropHeaders& headers,
                                      uint32_t attempts, std::string_view reason, std::string_view who = {});

  /// The receipt of message `id` whose original-name is `name`: a file
  /// dropped into incoming/ as `name` (its id is in the receipt's file name,
  /// receipts/<name>.<id>), or a message published with the header
  /// original-name: `name` (publish() returned its id). With a timeout,
  /// waits (inotify on receipts/, or a scan each scan_interval) until the
  /// message is settled: processed or dead-lettered. Errors: not_found (no
  /// receipt, with no timeout; or a channel made before receipts/),
  /// timed_out (none, or not settled, in time; the detail says which),
  /// bad_message (the file is not a receipt).
  Result<DropReceipt> receipt(std::string_view name, std::string_view id,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds::zero()) const;
  Result<DropCounts> counts() const;

  const std::string& root() const noexcept;
  const DropOptions& options() const noexcept;

  DropChannel(DropChannel&&) noexcept;
  DropChannel& operator=(DropChannel&&) noexcept;
  ~DropChannel();

 private:
  friend class DropConsumer;
  explicit DropChannel(std::shared_ptr<detail::DropTree> tree) noexcept;
  std::shared_ptr<detail::DropTree> tree_;
};

/// A message being written into tmp/. Destroying it without commit() removes
/// the partial file; nothing is published.
class RINGDROP_API DropWriter {
 public:
  /// The open file, for write(2), splice(2), copy_file_range(2)...
  int fd() const noexcept { return fd_; }
  const std::string& id() const noexcept { return id_; }
  /// Appends `bytes` (no_space when the disk is full).
  std::error_code write(std::span<const std::byte> bytes);
  /// fsyncs (when durable), closes and publishes; returns the id.
  Result<std::string> commit();
  /// Removes the partial file. Also done by the destructor.
  void abort() noexcept;

  DropWriter(DropWriter&&) noexcept;
  DropWriter& operator=(DropWriter&&) noexcept;
  ~DropWriter();

 private:
  friend class DropChannel;
  DropWriter(std::shared_ptr<detail::DropTree> tree, std::string id, DropHeaders headers, int fd);
  std::error_code close_file();  // fsync (when durable) and close: the bytes are down
  std::shared_ptr<detail::DropTree> tree_;
  std::string id_;
  DropHeaders headers_;
  int fd_ = -1;
};

}  // namespace ringdrop

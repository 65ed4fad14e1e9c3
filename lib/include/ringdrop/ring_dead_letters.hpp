// ringdrop/ring_dead_letters.hpp — where a ring's poison messages go, and
// how to look at them and send them back.
//
// A message that crashes every consumer that takes it would otherwise go
// round for ever: handed to the next consumer, which dies, and the next.
// A ring counts deliveries instead, at most `max_deliveries` in all
// (RingOptions; 5 unless chosen at creation). An MPMC message whose consumer
// died while holding it is delivered again (the `redeliver` policy); an SPSC
// record a consumer died on is read again by the next one. Once a message
// has had its deliveries, the next consumer to find it does not deliver it
// but sets it aside as a dead letter and goes on (mpmc_ring.hpp,
// spsc_ring.hpp say how each counts). A consumer can also reject the message
// it holds (reject()): a dead letter at once, with its reason.
//
// Dead letters are kept where every process and tool can read them: a
// file-drop channel's failed/ folder (drop_channel.hpp), one file per
// message with its bytes unchanged (a typed message keeps its envelope),
// headers naming the ring (drop_header::source, source_kind) and a reason
// file with the deliveries ("attempts"), the reason, the consumer and the
// time. The place is per ring: RingOptions::dead_letters, or by default
// dead_letter_dir(ring):
//
//   Location::shm("orders")            /dev/shm/ringdrop-dlq-<uid>/orders
//   Location::file("/var/lib/x.ring")  /var/lib/x.ring.dlq
//
// The store is opened (and created) at the first dead letter, so a ring that
// never has one never touches the disk. If it cannot be written — missing
// parent, no permission, a symlink, a full disk — the message stays in the
// ring where it was (not delivered, not lost) and the read reports why.
//
//   auto dl = RingDeadLetters::open(Location::shm("orders")).value();
//   for (const DeadLetter& d : dl.list().value()) std::cout << d.id << ": " << d.reason << "\n";
//   dl.requeue(id, 1s);   // back into the ring, deliveries counted from 0
//   dl.purge(id);
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringdrop/drop_channel.hpp"
#include "ringdrop/export.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop {

/// The default dead-letter directory of a ring (see above).
RINGDROP_API std::string dead_letter_dir(const Location& ring);

/// The dead letters of one ring.
class RINGDROP_API RingDeadLetters {
 public:
  /// Opens the store of `ring` at `dir` ("" for dead_letter_dir(ring)); the
  /// ring itself need not exist. Errors: not_found (no dead letter was ever
  /// stored there), unsafe_file (the directory is a symbolic link), and
  /// DropChannel::open's.
  static Result<RingDeadLetters> open(const Location& ring, std::string dir = {});
  /// open(), making the store if there is none yet, as a ring's consumer
  /// does at its first dead letter (the same rules: a `dir` named must
  /// exist; the default is made). For put().
  static Result<RingDeadLetters> create(const Location& ring, std::string dir = {});

  /// Stores `message` as a dead letter of the ring, for a process that
  /// moves messages into or out of the ring on others' behalf and cannot
  /// deliver one (ringdrop-bridge: a message the broker refused, or one
  /// that arrived malformed). Headers name the ring (`kind` its kind), as
  /// the ring's own dead letters do; `attempts`, `reason` and `who` go into
  /// the reason file. Returns its id. Errors: DropChannel::put_dead_letter's.
  Result<std::string> put(std::span<const std::byte> message, uint32_t attempts, std::string_view reason,
                          std::string_view who, RingKind kind = RingKind::mpmc);

  /// Oldest first.
  Result<std::vector<DeadLetter>> list() const;
  /// A dead letter's bytes, as the ring held them.
  Result<std::vector<std::byte>> payload(std::string_view id) const;
  /// Sends dead letter `id` back into its ring (a producer of its kind
  /// there, waiting up to `timeout` for room), then removes it. Its
  /// deliveries count from 0 again. A crash between the two leaves it in
  /// both places: requeue is at-least-once, as the ring is. An SPSC ring has
  /// one producer: while it runs, requeue gets role_taken. Errors:
  /// not_found, the ring's (role_taken, timed_out, ...); the dead letter
  /// stays on any error.
  std::error_code requeue(std::string_view id, std::chrono::nanoseconds timeout);
  /// Removes dead letter `id`.
  std::error_code purge(std::string_view id);

  const Location& ring() const noexcept { return ring_; }
  const std::string& dir() const noexcept { return channel_.root(); }

 private:
  RingDeadLetters(Location ring, DropChannel channel) noexcept
      : ring_(std::move(ring)), channel_(std::move(channel)) {}
  Location ring_;
  DropChannel channel_;
};

}  // namespace ringdrop

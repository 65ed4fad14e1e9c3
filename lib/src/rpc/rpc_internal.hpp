// rpc_internal.hpp — what the request/response files share inside the
// library: private reply rings (named, swept when their client died) and
// the ring options of a shared reply queue.
#pragma once

#include <cstddef>

#include "ringdrop/reply_queue.hpp"

namespace ringdrop::detail {

/// A fresh private reply ring's location: shm "ringdrop.reply.<pid>.<random>".
Location private_reply_location();

/// Removes the private reply rings whose client is dead: the process named
/// in the ring's name no longer exists and no consumer is attached (a
/// server may still be, as a producer that answered it). A ring whose
/// creator lives, or that a consumer holds, is never touched. Returns how
/// many were removed; errors are skipped (another client may race us).
size_t remove_dead_private_reply_rings() noexcept;

/// The MPMC options a shared reply queue is created with.
MpmcOptions reply_queue_ring_options(const ReplyQueueOptions& options);

/// An end (MpmcProducer or MpmcConsumer) of the reply queue at `where`: the
/// existing ring, whatever sizes its creator chose, or a new one with
/// `options` (the first to open it chooses; a creator racing us wins).
template <class End>
Result<End> open_reply_queue_end(const Location& where, const ReplyQueueOptions& options) {
  MpmcOptions any = reply_queue_ring_options(options);
  any.capacity = 0;  // opening: the ring's own sizes
  any.cell_size = 0;
  for (int attempt = 0;; ++attempt) {
    auto end = End::open(where, OpenMode::open, any);
    if (end || end.error() != errc::not_found || attempt == 2) return end;
    auto made = End::open(where, OpenMode::create, reply_queue_ring_options(options));
    if (made || made.error() != errc::already_exists) return made;
  }
}

}  // namespace ringdrop::detail

// reply_book.hpp — where the replies of bridged requests go back to.
//
// Request/response across hosts (docs/bridge.md, "Calls between hosts"):
//
//   host A: client --request--> ring --outbound (reply_queue Q)--> broker
//           AMQP reply-to = Q; header x-ringdrop-reply-to = the client's own reply ring
//   host B: broker --inbound (replies)--> ring --> server
//           the request's reply-to becomes this bridge's reply ring R; the
//           book remembers, under the request's id, Q and the client's ring
//   host B: server --reply--> R --outbound "<route>.replies"--> broker
//           looked up in the book by the reply's correlation id (or its
//           request-id header): published to Q through the default exchange,
//           the client's ring in x-ringdrop-reply-to
//   host A: broker --inbound "<route>.replies" (queue Q)--> the client's ring
//
// The book is memory: a bounded table the inbound route (which writes) and
// its reply route (which reads) share. A reply whose request the book does
// not know — the bridge restarted while the request was at the server, or
// the request fell out of the table — becomes a dead letter of the reply
// ring with that reason, and its caller times out: a call's own rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ringdrop::bridge {

/// Where one request's reply goes, and what it carries back.
struct ReplyAddress {
  std::string queue;       ///< the AMQP reply-to: a queue, through the default exchange
  std::string ringdrop;    ///< x-ringdrop-reply-to: the caller's reply ring on its host ("" none)
  std::string request_id;  ///< the caller's own message id (the server saw the local one)
};

class ReplyBook {
 public:
  /// Remembers at most `capacity` requests; the oldest go first.
  explicit ReplyBook(size_t capacity = 65536) : capacity_(capacity == 0 ? 1 : capacity) {}

  /// The id a request gets on this side (the server's message id, and so
  /// the id its reply comes back with): one per caller and request — the
  /// same for a retry, which an idempotent server answers from its memory —
  /// and apart for two callers that chose the same message id. Never 0.
  static uint64_t local_id(std::string_view queue, std::string_view ringdrop, std::string_view request_id) noexcept;

  /// Remembers where the reply of request `local` goes. A request put again
  /// (a retry) is remembered once more: each put is one reply to carry.
  void put(uint64_t local, ReplyAddress to);
  /// Where the reply of request `local` goes; the request is forgotten
  /// once every put has had its reply. nullopt if the book does not know it.
  std::optional<ReplyAddress> take(uint64_t local);
  /// Undoes one put (its request was not delivered after all).
  void forget(uint64_t local);
  /// Requests remembered now.
  size_t size() const;
  /// Requests forgotten because the book was full, ever.
  uint64_t evicted() const;

 private:
  struct Entry {
    ReplyAddress to;
    uint32_t replies = 0;  // puts not yet taken
  };
  void drop_one(uint64_t local);

  mutable std::mutex mutex_;
  size_t capacity_;
  std::unordered_map<uint64_t, Entry> to_;
  std::deque<uint64_t> order_;  // ids as first put; may hold ids already taken (skipped when evicting)
  uint64_t evicted_ = 0;
};

}  // namespace ringdrop::bridge

// ringdrop/reply_queue.hpp — replies that outlive their caller: a shared,
// named reply queue that any instance of a calling service takes from.
//
//   // every instance of the "orders" service, at start:
//   ClientOptions co;
//   co.reply_queue = "orders";                      // shm:ringdrop.replies.orders
//   auto pricing = Client::connect("pricing", co).value();
//   auto replies = ReplyQueue::open("orders").value();
//
//   // sending: save the state under a correlation id of your own
//   store.save(order.id, state);
//   pricing.send_request<Ask>(fill, deadline_after(30s), {.correlation_id = order.id});
//
//   // any instance, any time later (the sender may have crashed meanwhile):
//   auto r = replies.take(deadline_after(1s));
//   if (r) {
//     auto state = store.load(r->correlation_id());
//     if (r->ok()) carry_on(state, r->get<Quote>()); else give_up(state, r->status());
//     replies.ack();                                // only now is it gone
//   }
//
// How it works. The queue is an MPMC ring named
// "ringdrop.replies.<name>", created by whichever client or consumer opens
// it first (with its sizes; later openers take the ring as it is), with
// OnConsumerDeath::redeliver: the consumers compete, and a
// reply whose consumer died before ack() goes to another one (its
// delivery_count() says how many got it before), up to max_deliveries; a
// reply that killed that many consumers is set aside as a dead letter of
// the ring (ring_dead_letters.hpp: `ringdrop dlq ls shm:ringdrop.replies.<name>`).
//
// Once, with one exception: at-least-once is a guarantee about requests. A
// server killed after sending a reply but before releasing its request
// leaves the request to be redelivered and run again (by another server,
// which does not remember the first answer): a second reply comes, with the
// same correlation id and request_id(). Handling that must not happen
// twice checks its store by request_id() (or correlation id) first.
//
// A ring has 64 peer slots: each ReplyQueue holds two (its consumer, and a
// producer that keeps the queue from reporting its producers gone), each
// server that answered it one. Clients hold none.
//
// A server answers a request whose reply-to names such a queue as it
// answers any other, with two differences, because the reply is data the
// caller's group keeps, not an answer a waiting caller may give up on:
//   - the reply goes to the queue even after the request's deadline; a
//     request already past its deadline when a server takes it is not run,
//     and its reply says so (errc::deadline_exceeded, negated, as its
//     status code), so the state saved for it is not left waiting;
//   - the reply's expiration (the envelope's deadline) is the request's
//     header `reply-ttl-ms` (ClientOptions::reply_ttl) counted from when
//     the reply is sent; none by default. take() dead-letters an expired reply (reason
//     "expired ...") and counts it in `expired` instead of yielding it.
// The reply's correlation id is the request's own correlation id when the
// request set one (an order number), else the request's message id; its
// header `request-id` always holds the request's message id.
//
// A ReplyQueue is used by one thread at a time; take one reply, then ack()
// or reject() it before the next take().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/rpc.hpp"

namespace ringdrop {

/// The ring behind the reply queue `name` (shm:ringdrop.replies.<name>).
/// `name` is a service name (ServiceRegistry::valid_service_name).
RINGDROP_API Location reply_queue_location(std::string_view name);
/// Whether a request's reply-to names a shared reply queue.
RINGDROP_API bool is_reply_queue(std::string_view reply_to) noexcept;

/// The queue's ring, when this process creates it (clients and consumers
/// should agree; the first one to open it chooses).
struct ReplyQueueOptions {
  uint32_t cell_size = 4096;  ///< the largest reply is 16 less
  uint32_t cells = 1024;      ///< a power of two: the most replies waiting
  WaitStrategy wait;
  /// A reply whose handling killed this many consumers becomes a dead
  /// letter (1 to 1000); "" keeps dead letters in the ring's default store.
  uint32_t max_deliveries = 5;
  std::string dead_letters;
};

struct ReplyQueueStats {
  uint64_t taken = 0;        ///< yielded by take() (a redelivery again)
  uint64_t acked = 0;
  uint64_t rejected = 0;     ///< set aside by reject()
  uint64_t redelivered = 0;  ///< yielded with delivery_count() > 1
  uint64_t expired = 0;      ///< dead-lettered by take(): past their expiration
  uint64_t malformed = 0;    ///< dead-lettered by take(): did not parse or were not responses
};

/// One reply taken from the queue, held until ReplyQueue::ack() or reject().
/// It views ring memory: valid until then.
class RINGDROP_API SharedReply {
 public:
  /// The request's own correlation id if it set one, else its message id.
  uint64_t correlation_id() const noexcept { return message_.envelope().getCorrelationId(); }
  /// The request's message id (Client::send_request returned it).
  uint64_t request_id() const noexcept { return request_id_; }
  uint64_t type_id() const noexcept { return message_.type_id(); }
  /// The server's answer: ok, or its error (code > 0 the handler's own,
  /// < 0 a ringdrop errc negated, as rpc.hpp describes).
  Status status() const;
  bool ok() const noexcept { return message_.envelope().getError().getCode() == 0; }
  /// How many consumers got it, this one included (> 1: one died holding it).
  uint32_t delivery_count() const noexcept { return deliveries_; }
  const IncomingMessage& message() const noexcept { return message_; }
  /// The payload as `T` (check type_id() first: it throws kj::Exception on
  /// a payload that is not a T struct, as Cap'n Proto does).
  template <class T>
  typename T::Reader get() const {
    return message_.envelope().getPayload().template getAs<T>();
  }

 private:
  friend class ReplyQueue;
  SharedReply(IncomingMessage m, uint64_t request_id, uint32_t deliveries)
      : message_(std::move(m)), request_id_(request_id), deliveries_(deliveries) {}
  IncomingMessage message_;
  uint64_t request_id_;
  uint32_t deliveries_;
};

class RINGDROP_API ReplyQueue {
 public:
  /// Opens the queue `name`, creating its ring if missing. Errors: invalid_argument
  /// (not a service name), the ring's (incompatible_layout, foreign_segment...).
  static Result<ReplyQueue> open(std::string_view name, const ReplyQueueOptions& options = {});

  ReplyQueue(ReplyQueue&&) noexcept;
  ReplyQueue& operator=(ReplyQueue&&) noexcept;
  ~ReplyQueue();

  /// The next reply, waiting until `deadline` (timed_out). Expired and
  /// malformed replies are dead-lettered on the way, not yielded; if that
  /// fails (the dead-letter store cannot be written), take() returns the
  /// store's error, keeps that reply held, and tries to set it aside again
  /// at the next call. invalid_argument while a reply taken before is
  /// neither acked nor rejected.
  Result<SharedReply> take(Deadline deadline);
  /// Handled: the reply taken last leaves the queue. invalid_argument if
  /// none is held.
  std::error_code ack();
  /// Sets the reply taken last aside as a dead letter with `reason`.
  /// Errors: as MpmcConsumer::reject.
  std::error_code reject(std::string_view reason);

  ReplyQueueStats stats() const noexcept;
  const Location& location() const noexcept;

 private:
  struct State;
  explicit ReplyQueue(std::unique_ptr<State> s) noexcept;
  std::unique_ptr<State> s_;
};

}  // namespace ringdrop

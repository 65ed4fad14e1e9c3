// ringdrop/rpc_client.hpp — calling a service: blocking with a deadline,
// asynchronous with correlation ids, and one-way notifications.
//
//   auto client = Client::connect("pricing").value();       // found in the registry
//   auto quote = client.call<Ask, Quote>(
//       [](Ask::Builder a) { a.setSymbol("EURUSD"); }, deadline_after(100ms));
//   if (quote) use(quote->get().getPrice());
//   else if (quote.error() == errc::remote_error) log(client.last_remote_error().message);
//
//   client.call_async<Ask, Quote>(fill, deadline, [](Result<Reply<Quote>> r) { ... });
//   client.poll(deadline_after(1s));                          // delivers replies to callbacks
//
// Every call has a deadline; there is no call without one. It ends in
// exactly one of:
//   - the reply;
//   - errc::timed_out: no answer by the deadline (any answer arriving later
//     is discarded and counted in `late_replies`);
//   - errc::peer_gone: every server of the request ring died (or left)
//     while the call was in flight — checked each liveness interval, so a
//     crashed server is reported within ~50 ms, not at the deadline;
//   - errc::bad_message: the reply did not parse, or carried another type;
//   - errc::remote_error (the server's code and text in last_remote_error())
//     or the errc the server's library sent back (unknown_type...);
//   - errc::circuit_open: the circuit breaker (circuit_breaker.hpp) failed
//     the call fast, without sending it;
//   - the request ring's own errors when sending (timed_out when it stays
//     full, message_too_large...).
//
// How it works. The client creates its own reply ring (MPMC, one consumer:
// the client; servers attach as producers when they first answer) named
// "ringdrop.reply.<pid>.<random>" at its first call, and removes it when
// destroyed; a client that starts removes the rings of clients that were
// killed (their process gone and no consumer attached). The client
// also attaches to it as a producer itself, so the ring never reports that
// its producers are gone: server liveness is judged on the request ring
// instead (MpmcProducer::consumers_gone). Requests are built in place in
// the request ring; replies are copied out of the reply ring once (so they
// outlive the ring slot and async replies can wait for their caller).
//
// Async calls and blocking calls share the reply ring: a blocking call
// delivers the replies of async calls it meets before its own to their
// callbacks, and returns as soon as it has its own: the replies behind it,
// and async calls whose deadline passes meanwhile, wait for the next
// call(), call_async() or poll(). poll() delivers replies until nothing is
// in flight or its deadline passes; call_async() first takes the replies
// already waiting (so unpolled replies never fill the reply ring).
// Callbacks run on the thread that calls call(), call_async() or poll().
// Replies already in the ring are taken before any call is declared
// overdue. A Client is used by one thread at a time; after fork() the
// child must not use it.
//
// Replies that must outlive the caller (any instance of the calling
// service may take them): send_request() with a shared reply queue, see
// reply_queue.hpp.
//
// Retries (RetryPolicy) apply to blocking calls marked idempotent; async
// calls are tried once.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>
#include <string>
#include <string_view>

#include "ringdrop/circuit_breaker.hpp"
#include "ringdrop/reply_queue.hpp"
#include "ringdrop/rpc.hpp"
#include "ringdrop/segment.hpp"
#include "ringdrop/service_registry.hpp"

namespace ringdrop {

struct ClientOptions {
  RetryPolicy retry;
  CircuitBreakerOptions breaker;
  /// The reply ring: cells of this size (the largest reply is 16 less),
  /// this many of them (a power of two; the most replies waiting at once).
  uint32_t reply_cell_size = 4096;
  uint32_t reply_cells = 64;
  /// How the client waits for replies, and how often it checks that the
  /// service's servers are alive.
  WaitStrategy wait;
  /// Where connect(service) looks the service up.
  std::filesystem::path registry = ServiceRegistry::default_directory();
  /// A shared reply queue (reply_queue.hpp) for send_request(): its name
  /// (created if missing, with `reply_queue_options`); "": none.
  std::string reply_queue;
  ReplyQueueOptions reply_queue_options;
  /// How long a reply may wait in the shared queue before it expires (is
  /// dead-lettered instead of taken), from when the server sends it;
  /// rounded up to milliseconds; 0: never.
  std::chrono::nanoseconds reply_ttl{0};
};

struct ClientStats {
  uint64_t calls = 0;          ///< sent (blocking and async; a retried call once)
  uint64_t ok = 0;
  uint64_t timed_out = 0;
  uint64_t peer_gone = 0;
  uint64_t remote_errors = 0;  ///< answered with an error (any code)
  uint64_t bad_replies = 0;    ///< replies that did not parse or had the wrong type
  uint64_t retries = 0;        ///< tries after the first
  uint64_t late_replies = 0;   ///< arrived after their call ended: discarded
  uint64_t rejected = 0;       ///< failed fast with circuit_open
  uint64_t notifications = 0;
  uint64_t requests_sent = 0;  ///< by send_request(), to the shared reply queue
  uint64_t in_flight = 0;
  CircuitStats breaker{};
};

class RINGDROP_API Client {
 public:
  /// Finds `service` in the registry (errc::not_found if no live server
  /// registered it) and connects to its request ring.
  static Result<Client> connect(std::string_view service, const ClientOptions& options = {});
  /// Connects to a request ring by location (no registry).
  static Result<Client> connect(const Location& request_ring, const ClientOptions& options = {});

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  /// Sends a `Req` built by `fill` (as send_message: `fill(Req::Builder)`;
  /// called once per try) and waits for its `Resp` until `deadline`.
  template <class Req, class Resp, class Fill>
  Result<Reply<Resp>> call(Fill&& fill, Deadline deadline, const CallOptions& options = {}) {
    auto r = call_raw(capnp::typeId<Req>(), capnp::typeId<Resp>(), payload_of<Req>(fill), deadline, options);
    if (!r) return r.error();
    return Reply<Resp>(std::move(*r));
  }

  /// Sends a `Req` and returns its call id at once; `done(Result<Reply<Resp>>)`
  /// runs exactly once, from a later call(), call_async() or poll() on this
  /// thread, with the reply or the call's error. Calls still in flight when the client is
  /// destroyed are dropped: their callbacks never run.
  template <class Req, class Resp, class Fill, class Done>
  Result<uint64_t> call_async(Fill&& fill, Deadline deadline, Done&& done, const CallOptions& options = {}) {
    return call_async_raw(
        capnp::typeId<Req>(), capnp::typeId<Resp>(), payload_of<Req>(fill), deadline,
        [done = std::forward<Done>(done)](Result<OwnedMessage> r) mutable {
          if (!r) return done(Result<Reply<Resp>>(r.error()));
          done(Result<Reply<Resp>>(Reply<Resp>(std::move(*r))));
        },
        options);
  }

  /// One-way: sends a `T` notification (no reply), waiting for room in the
  /// request ring until `deadline` (the ring's back-pressure).
  template <class T, class Fill>
  std::error_code notify(Fill&& fill, Deadline deadline, MessageOptions options = {}) {
    options.kind = MessageKind::NOTIFICATION;
    return notify_raw(capnp::typeId<T>(), payload_of<T>(fill), deadline, options);
  }

  /// Sends a `Req` whose reply goes to the shared reply queue
  /// (ClientOptions::reply_queue) instead of this client: any process of
  /// the group takes it there with ReplyQueue::take(), even if this one has
  /// died meanwhile. Returns the request's message id (the reply's
  /// request_id()). Nothing waits for the reply: `deadline` bounds the wait
  /// for room in the request ring, and is the request's own (a server that
  /// takes it later does not run it, and answers errc::deadline_exceeded in
  /// the queue instead); its reply goes to the queue whenever it comes. Errors: invalid_argument (no reply queue), the request
  /// ring's (timed_out, peer_gone, message_too_large...).
  template <class Req, class Fill>
  Result<uint64_t> send_request(Fill&& fill, Deadline deadline, const RequestOptions& options = {}) {
    return send_request_raw(capnp::typeId<Req>(), payload_of<Req>(fill), deadline, options);
  }

  /// Delivers replies (and timeouts, and peer_gone) of async calls until
  /// none is in flight (returns success) or `until` passes (timed_out).
  std::error_code poll(Deadline until);

  size_t in_flight() const noexcept;
  ClientStats stats() const;
  /// The server's error of the last call that ended in remote_error.
  const RemoteError& last_remote_error() const noexcept;
  /// The service's request ring, and this client's reply ring (created at
  /// the first call).
  const Location& request_ring() const noexcept;
  const Location& reply_ring() const noexcept;

  // The untyped calls the templates above are built on, for callers that
  // know type ids only at run time (the C ABI). `payload(env)` fills the
  // envelope's payload; the reply's type is checked against `resp_type`.
  using PayloadFn = std::function<void(Envelope::Builder)>;
  using DoneFn = std::function<void(Result<OwnedMessage>)>;
  Result<OwnedMessage> call_raw(uint64_t req_type, uint64_t resp_type, const PayloadFn& payload,
                                Deadline deadline, const CallOptions& options);
  Result<uint64_t> call_async_raw(uint64_t req_type, uint64_t resp_type, const PayloadFn& payload,
                                  Deadline deadline, DoneFn done, const CallOptions& options);
  std::error_code notify_raw(uint64_t type, const PayloadFn& payload, Deadline deadline,
                             const MessageOptions& options);
  Result<uint64_t> send_request_raw(uint64_t type, const PayloadFn& payload, Deadline deadline,
                                    const RequestOptions& options);

 private:
  struct State;
  explicit Client(std::unique_ptr<State> s) noexcept;

  template <class T, class Fill>
  static PayloadFn payload_of(Fill& fill) {
    return [&fill](Envelope::Builder env) {
      detail::call_fill<T>(fill, env.getPayload().template initAs<T>(), env);
    };
  }

  std::unique_ptr<State> s_;
};

/// Whether `ring` is a Client's private reply ring ("ringdrop.reply.<pid>.<random>")
/// whose client is gone: the process that created it (the pid in its name)
/// no longer exists, and no consumer is attached (servers that answered it
/// may still be, as producers). Such rings are removed by the next Client
/// that connects, and by `ringdrop gc`. A ring whose creator lives is never
/// one (it may be attaching right now).
RINGDROP_API bool is_abandoned_reply_ring(const Location& ring);

/// Publish with async responses: sends one `Req` (built by `fill`, once per
/// service) to the service of every client at once, then gathers answers
/// until `deadline`. One result per client, in order: its reply, or how its
/// call ended (timed_out for a service that had not answered by then,
/// circuit_open, peer_gone...).
template <class Req, class Resp, class Fill>
std::vector<Result<Reply<Resp>>> gather(std::span<Client* const> clients, Fill&& fill, Deadline deadline,
                                        const CallOptions& options = {}) {
  using Slot = std::optional<Result<Reply<Resp>>>;
  // Shared with the callbacks, which outlive this call if a client's ring fails.
  auto slots = std::make_shared<std::vector<Slot>>(clients.size());
  for (size_t i = 0; i < clients.size(); ++i) {
    auto id = clients[i]->template call_async<Req, Resp>(
        fill, deadline, [slots, i](Result<Reply<Resp>> r) { (*slots)[i].emplace(std::move(r)); }, options);
    if (!id) (*slots)[i].emplace(id.error());
  }
  for (Client* c : clients) (void)c->poll(deadline);
  std::vector<Result<Reply<Resp>>> out;
  for (auto& slot : *slots) out.push_back(slot ? std::move(*slot) : Result<Reply<Resp>>(errc::timed_out));
  return out;
}

}  // namespace ringdrop

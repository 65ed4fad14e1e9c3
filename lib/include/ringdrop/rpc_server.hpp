// ringdrop/rpc_server.hpp — serving a service: a request loop that
// dispatches by payload type to handlers and answers on each caller's
// reply ring.
//
//   auto server = Server::open("pricing").value();   // creates/opens the ring, registers it
//   server.handle<Ask, Quote>([](Ask::Reader ask, Quote::Builder quote) {
//     if (ask.getSymbol().size() == 0) return Status::error(400, "no symbol");
//     quote.setPrice(1.0841);
//     return Status::ok();
//   });
//   server.on_notification<Tick>([](Tick::Reader t) { ... });
//   while (running) server.serve(deadline_after(100ms));
//
// Several server processes may serve one service: each opens the same
// request ring (MPMC: every request goes to exactly one of them) and
// registers it under the same name. The request ring is created with
// OnConsumerDeath::redeliver, so a request whose server died mid-way is
// delivered to another one (at-least-once), and a caller waiting for it
// hears peer_gone only when no server is left.
//
// For each request, in order:
//   1. malformed: counted, dropped (there is no reliable reply-to);
//   2. its deadline already passed: counted in `expired`, not run, not
//      answered (its caller has stopped waiting);
//   3. idempotent and answered before (same message id, within the last
//      `remembered_replies`): the remembered reply is sent again, the
//      handler is not run twice;
//   4. no handler for its type: answered with errc::unknown_type;
//   5. the handler runs; its Status (or the text of an exception it threw,
//      with code kHandlerThrew) travels back in the reply's envelope.
// The reply is built on the heap, in a scratch first segment the server
// reuses (so a slow handler never holds a slot of the caller's reply ring,
// where other servers' answers queue behind it), then copied into the
// caller's reply ring once; the request's slot is released only after the
// reply was sent, so a crash in between redelivers rather than loses it.
//
// A request whose reply-to names a shared reply queue (reply_queue.hpp) is
// answered there even after its deadline, with the request's correlation id
// and header `request-id`, and expires per its header `reply-ttl-ms`; one
// past its deadline is answered deadline_exceeded there; one whose reply the
// queue cannot take is set aside (ServerOptions::reply_queue_timeout).
//
// Dedupe is per server process: a retry that reaches another server of the
// same service runs again. A Server is used by one thread at a time.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/rpc.hpp"
#include "ringdrop/service_registry.hpp"

namespace ringdrop {

struct ServerOptions {
  /// The request ring, when this server creates it: cell size (the largest
  /// request is 16 less) and number of cells (a power of two).
  uint32_t cell_size = 4096;
  uint32_t cells = 256;
  WaitStrategy wait;
  /// Where open(service) registers; the text listed with the registration.
  std::filesystem::path registry = ServiceRegistry::default_directory();
  std::string info;
  /// Replies of idempotent requests remembered for retries (0: none).
  size_t remembered_replies = 1024;
  /// Callers' reply rings kept open (least recently used closed first).
  size_t reply_rings = 32;
  /// How long a reply may wait for room in a caller's reply ring (never
  /// past the request's deadline); then it is dropped as undeliverable.
  std::chrono::nanoseconds reply_timeout = std::chrono::milliseconds(100);
  /// The same for a reply to a shared reply queue (reply_queue.hpp), which
  /// is sent even after its request's deadline. A reply that finds no room
  /// by then is not dropped: its request is set aside as a dead letter of
  /// the request ring, to be requeued (and run again) once there is room.
  std::chrono::nanoseconds reply_queue_timeout = std::chrono::seconds(1);
  /// The reusable first segment replies are built in; larger replies
  /// spill to the heap.
  size_t scratch_bytes = 64 * 1024;
  /// Poison requests (ring_dead_letters.hpp): a request whose handling
  /// killed this many servers is set aside as a dead letter of the request
  /// ring, and its caller answered with errc::dead_lettered. Chosen when the
  /// ring is created (1 to 1000); "" keeps dead letters in the ring's
  /// default store.
  uint32_t max_deliveries = 5;
  std::string dead_letters;
};

struct ServerStats {
  uint64_t requests = 0;       ///< requests taken from the ring
  uint64_t replies = 0;        ///< replies delivered
  uint64_t notifications = 0;  ///< one-way messages handled
  uint64_t handler_errors = 0; ///< handlers that returned an error or threw
  uint64_t unknown_type = 0;   ///< messages no handler knew
  uint64_t malformed = 0;      ///< messages that did not parse
  uint64_t expired = 0;        ///< requests past their deadline: not run
  uint64_t duplicates = 0;     ///< repeats answered from memory
  uint64_t undeliverable = 0;  ///< replies whose ring was gone, full or too small
  /// Requests this server set aside as dead letters of the request ring:
  /// poison ones (their callers told), and those whose reply a shared reply
  /// queue could not take (full past reply_queue_timeout, or gone).
  uint64_t dead_lettered = 0;
};

class RINGDROP_API Server {
 public:
  /// Opens (or creates) the request ring "ringdrop.svc.<service>" and
  /// registers it under `service` for as long as the server lives.
  static Result<Server> open(std::string_view service, const ServerOptions& options = {});
  /// Serves the request ring at `where` (opened or created), unregistered.
  static Result<Server> open_ring(const Location& where, const ServerOptions& options = {});

  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;
  ~Server();

  /// Requests of type `Req` are answered with a `Resp` built by
  /// `fn(Req::Reader, Resp::Builder) -> Status`.
  template <class Req, class Resp, class Fn>
  void handle(Fn&& fn) {
    add_handler(capnp::typeId<Req>(), [fn = std::forward<Fn>(fn)](const IncomingMessage& m,
                                                                     Envelope::Builder reply) mutable {
      reply.setTypeId(capnp::typeId<Resp>());
      return fn(m.envelope().getPayload().template getAs<Req>(),
                reply.getPayload().template initAs<Resp>());
    });
  }

  /// One-way messages of type `T` go to `fn(T::Reader)`.
  template <class T, class Fn>
  void on_notification(Fn&& fn) {
    add_notification(capnp::typeId<T>(), [fn = std::forward<Fn>(fn)](const IncomingMessage& m) mutable {
      fn(m.envelope().getPayload().template getAs<T>());
    });
  }

  /// Handles one message, waiting for it until `deadline`. {} when one was
  /// handled (answered, even with an error); timed_out when none came;
  /// bad_message, unknown_type (a notification nobody handles) or
  /// deadline_exceeded when a message was taken but not run; other ring
  /// errors (corrupted...) as they come.
  std::error_code serve_one(Deadline deadline);
  /// Handles messages until `until`: {} then, or the first error that is
  /// not about a single message (a damaged ring).
  std::error_code serve(Deadline until);

  ServerStats stats() const noexcept;
  const Location& request_ring() const noexcept;

  // The untyped registrations the templates above are built on, for callers
  // that know type ids only at run time (the C ABI). A handler sets the
  // reply's type id itself (`reply.setTypeId`) and fills its payload.
  using HandlerFn = std::function<Status(const IncomingMessage&, Envelope::Builder)>;
  using NotificationFn = std::function<void(const IncomingMessage&)>;
  void add_handler(uint64_t type, HandlerFn fn);
  void add_notification(uint64_t type, NotificationFn fn);

 private:
  struct State;
  explicit Server(std::unique_ptr<State> s) noexcept;
  std::unique_ptr<State> s_;
};

}  // namespace ringdrop

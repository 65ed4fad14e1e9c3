// The request/response part of the C ABI: handles over Client and Server,
// with type ids chosen at run time and payloads as flat Cap'n Proto bytes.
#include <climits>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include "c_message.hpp"
#include "ringdrop/rpc_client.hpp"
#include "ringdrop/rpc_server.hpp"

using namespace ringdrop;
using c::copy_options;
using c::give_stats;
using c::invalid;
using c::wait_mode_ok;
using c::wait_of;

static_assert(RINGDROP_HANDLER_FAILED == kHandlerThrew, "one code for handlers that failed without a code");
static_assert(RINGDROP_CIRCUIT_CLOSED == static_cast<int>(CircuitState::closed) &&
                  RINGDROP_CIRCUIT_OPEN == static_cast<int>(CircuitState::open) &&
                  RINGDROP_CIRCUIT_HALF_OPEN == static_cast<int>(CircuitState::half_open),
              "the C circuit states are CircuitState's values");


// ------------------------------------------------------------------ handles

struct ringdrop_client {
  Client client;
};

struct ringdrop_server {
  Server server;
  std::string location;  ///< for ringdrop_server_request_ring
};

/// What a handler fills: the response envelope the server built (its
/// payload), or an error that replaces it.
struct ringdrop_reply {
  Envelope::Builder envelope;
  int32_t error_code = 0;
  std::string error_text;
};

namespace {

/// Every field's default, for the library's own copy of the struct (the
/// plain ringdrop_client_options_init symbol fills the first version's only).
void init_every_client_option(ringdrop_client_options* o) { ringdrop_client_options_init_size(o, sizeof *o); }

Result<ClientOptions> client_options(const ringdrop_client_options* c) {
  ringdrop_client_options o;
  if (auto ec = copy_options(c, o, init_every_client_option, "ringdrop_client_options_init")) return ec;
  if (o.retry_backoff_ns < 0 || o.retry_max_backoff_ns < 0 || o.breaker_cool_down_ns < 0) {
    return invalid("options: backoffs and the cool-down must not be negative");
  }
  if (!wait_mode_ok(o.wait_mode)) return invalid("options->wait_mode must be one of RINGDROP_WAIT_*");
  ClientOptions co;
  co.retry.attempts = o.retry_attempts;
  co.retry.backoff = std::chrono::nanoseconds(o.retry_backoff_ns);
  co.retry.max_backoff = std::chrono::nanoseconds(o.retry_max_backoff_ns);
  co.retry.multiplier = o.retry_multiplier;
  co.breaker.failure_threshold = o.breaker_threshold;
  co.breaker.cool_down = std::chrono::nanoseconds(o.breaker_cool_down_ns);
  if (o.reply_cell_size != 0) co.reply_cell_size = o.reply_cell_size;
  if (o.reply_cells != 0) co.reply_cells = o.reply_cells;
  co.wait = wait_of(o.wait_mode, o.spin_ns, o.liveness_ns);
  if (o.registry_dir) co.registry = o.registry_dir;
  if (o.reply_ttl_ns < 0) return invalid("options->reply_ttl_ns must not be negative");
  if (o.reply_queue) co.reply_queue = o.reply_queue;
  co.reply_ttl = std::chrono::nanoseconds(o.reply_ttl_ns);
  return co;
}

Result<ServerOptions> server_options(const ringdrop_server_options* c) {
  ringdrop_server_options o;
  if (auto ec = copy_options(c, o, ringdrop_server_options_init, "ringdrop_server_options_init")) return ec;
  if (o.reply_timeout_ns < 0) return invalid("options->reply_timeout_ns must not be negative");
  if (!wait_mode_ok(o.wait_mode)) return invalid("options->wait_mode must be one of RINGDROP_WAIT_*");
  ServerOptions so;
  if (o.cell_size != 0) so.cell_size = o.cell_size;
  if (o.cells != 0) so.cells = o.cells;
  so.wait = wait_of(o.wait_mode, o.spin_ns, o.liveness_ns);
  if (o.registry_dir) so.registry = o.registry_dir;
  if (o.info) so.info = o.info;
  so.remembered_replies = static_cast<size_t>(o.remembered_replies);
  if (o.reply_rings != 0) so.reply_rings = o.reply_rings;
  so.reply_timeout = std::chrono::nanoseconds(o.reply_timeout_ns);
  if (o.scratch_bytes != 0) so.scratch_bytes = static_cast<size_t>(o.scratch_bytes);
  return so;
}

/// ringdrop_call_options as CallOptions (`headers` holds what it points at).
std::error_code call_options(const ringdrop_call_options* c, CallOptions& out, c::HeaderList& headers) {
  ringdrop_call_options o;
  if (auto ec = copy_options(c, o, ringdrop_call_options_init, "ringdrop_call_options_init")) return ec;
  if (o.attempt_timeout_ns < 0) return invalid("options->attempt_timeout_ns must not be negative");
  if (o.schema_version > UINT16_MAX) return invalid("options->schema_version must be at most 65535");
  if (auto ec = c::headers_of(o.header_keys, o.header_values, o.header_count, headers)) return ec;
  out.idempotent = o.idempotent != 0;
  out.attempt_timeout = std::chrono::nanoseconds(o.attempt_timeout_ns);
  out.schema_version = static_cast<uint16_t>(o.schema_version);
  out.headers = headers;
  return {};
}

Result<Location> location_of(const char* text) {
  if (!text) return invalid("location is NULL");
  auto where = Location::parse(text);
  if (!where) {
    return detail::fail(errc::invalid_argument,
                        std::string("location \"") + text + "\" is neither shm:<name> nor file:<path>");
  }
  return *where;
}

/// The ring says message_too_large without a word; say which message.
std::error_code explained(std::error_code ec, const char* what) {
  if (ec == errc::message_too_large && last_error_detail().empty()) {
    return detail::fail(ec, std::string(what) + " is larger than the request ring's cells can hold");
  }
  return ec;
}

/// The payload, filled into each try's request envelope.
Client::PayloadFn fill_with(const c::Payload& p) {
  return [&p](Envelope::Builder env) { p.copy_to(env.getPayload()); };
}

/// A handle borrowing the server's message `m` for one handler call.
std::error_code borrow(ringdrop_message& h, const IncomingMessage& m) {
  h.m = &m;
  return c::index_fields(h);
}

/// Runs a C request handler: the reply's type, payload or error.
Status run_c_handler(ringdrop_handler_fn fn, void* user, uint64_t resp_type, const IncomingMessage& m,
                     Envelope::Builder reply) {
  reply.setTypeId(resp_type);
  ringdrop_message request;
  if (auto ec = borrow(request, m)) {
    return Status{-static_cast<int32_t>(errc::bad_message), last_error_detail()};
  }
  const auto payload = c::flat_payload(request);
  ringdrop_reply r{reply, 0, {}};
  const int rc = fn(user, &request, payload.data(), payload.size(), &r);
  if (r.error_code > 0) return Status::error(r.error_code, std::move(r.error_text));
  if (rc > 0) return Status::error(rc, "the handler returned " + std::to_string(rc));
  if (rc < 0) {
    return Status::error(RINGDROP_HANDLER_FAILED, std::string("the handler returned ") + std::to_string(rc) +
                                                      " (" + ringdrop_strerror(rc) + ")");
  }
  return Status::ok();
}

void fill_client_stats(const ClientStats& s, ringdrop_client_stats& out) {
  out.calls = s.calls;
  out.ok = s.ok;
  out.timed_out = s.timed_out;
  out.peer_gone = s.peer_gone;
  out.remote_errors = s.remote_errors;
  out.bad_replies = s.bad_replies;
  out.retries = s.retries;
  out.late_replies = s.late_replies;
  out.rejected = s.rejected;
  out.notifications = s.notifications;
  out.in_flight = s.in_flight;
  out.breaker_state = static_cast<int>(s.breaker.state);
  out.breaker_consecutive_failures = s.breaker.consecutive_failures;
  out.breaker_opened = s.breaker.opened;
  out.breaker_trials = s.breaker.trials;
  out.requests_sent = s.requests_sent;
}

void fill_server_stats(const ServerStats& s, ringdrop_server_stats& out) {
  out.requests = s.requests;
  out.replies = s.replies;
  out.notifications = s.notifications;
  out.handler_errors = s.handler_errors;
  out.unknown_type = s.unknown_type;
  out.malformed = s.malformed;
  out.expired = s.expired;
  out.duplicates = s.duplicates;
  out.undeliverable = s.undeliverable;
}

std::error_code call_with(ringdrop_client* client, unsigned long long req_type, const void* req_payload,
                          unsigned long long req_size, unsigned long long resp_type, long long timeout_ns,
                          const ringdrop_call_options* options, ringdrop_message** reply) {
  if (!reply) return invalid("call: reply (the out parameter) is NULL");
  *reply = nullptr;
  const auto timeout = c::timeout_of(timeout_ns);
  if (!client || !timeout) return invalid("call: client is NULL, or the timeout negative");
  CallOptions co;
  c::HeaderList headers;
  if (auto ec = call_options(options, co, headers)) return ec;
  auto p = c::Payload::parse(req_payload, req_size);
  if (!p) return p.error();
  auto r = client->client.call_raw(req_type, resp_type, fill_with(*p),
                                                       deadline_after(*timeout), co);
  if (!r) return explained(r.error(), "the request");
  auto h = c::owning(std::move(*r));
  if (auto ec = c::index_fields(*h)) return ec;
  *reply = h.release();
  return {};
}

}  // namespace

extern "C" {

// ------------------------------------------------------------------ client

static_assert(offsetof(ringdrop_client_options, reply_queue) == RINGDROP_CLIENT_OPTIONS_FIRST_SIZE,
              "the struct's first version ends where reply_queue begins");

RINGDROP_API void ringdrop_client_options_init_size(ringdrop_client_options* o, unsigned long size) {
  if (!o || size < RINGDROP_CLIENT_OPTIONS_FIRST_SIZE) return;  // every version holds the first one's fields
  const unsigned long n = size < sizeof *o ? size : sizeof *o;
  std::memset(o, 0, n);  // never past what the caller says it has; later fields default to 0/NULL
  const ClientOptions d;
  o->size = n;
  o->retry_attempts = d.retry.attempts;
  o->retry_backoff_ns = d.retry.backoff.count();
  o->retry_max_backoff_ns = d.retry.max_backoff.count();
  o->retry_multiplier = d.retry.multiplier;
  o->breaker_threshold = d.breaker.failure_threshold;
  o->breaker_cool_down_ns = d.breaker.cool_down.count();
  o->reply_cell_size = d.reply_cell_size;
  o->reply_cells = d.reply_cells;
  o->wait_mode = RINGDROP_WAIT_SPIN_BLOCK;
  o->spin_ns = -1;
  o->liveness_ns = -1;
}

// The plain symbol, for programs built before the struct grew (and
// bindings that call it by name): the first version's fields only. The
// parentheses keep ringdrop.h's macro of the same name out.
RINGDROP_API void(ringdrop_client_options_init)(ringdrop_client_options* o) {
  ringdrop_client_options_init_size(o, RINGDROP_CLIENT_OPTIONS_FIRST_SIZE);
}

RINGDROP_API void ringdrop_call_options_init(ringdrop_call_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->size = sizeof *o;
}

RINGDROP_API int ringdrop_client_connect(const char* service, const ringdrop_client_options* options,
                                         ringdrop_client** client) {
  return c::guard([&]() -> std::error_code {
    if (!client) return invalid("connect: client (the out parameter) is NULL");
    *client = nullptr;
    if (!service) return invalid("connect: service is NULL");
    auto o = client_options(options);
    if (!o) return o.error();
    auto connected = Client::connect(std::string_view(service), *o);
    if (!connected) return connected.error();
    *client = new ringdrop_client{std::move(*connected)};
    return {};
  });
}

RINGDROP_API int ringdrop_client_connect_ring(const char* location, const ringdrop_client_options* options,
                                              ringdrop_client** client) {
  return c::guard([&]() -> std::error_code {
    if (!client) return invalid("connect_ring: client (the out parameter) is NULL");
    *client = nullptr;
    auto where = location_of(location);
    if (!where) return where.error();
    auto o = client_options(options);
    if (!o) return o.error();
    auto connected = Client::connect(*where, *o);
    if (!connected) return connected.error();
    *client = new ringdrop_client{std::move(*connected)};
    return {};
  });
}

RINGDROP_API void ringdrop_client_close(ringdrop_client* client) { delete client; }

RINGDROP_API int ringdrop_client_call(ringdrop_client* client, unsigned long long req_type, const void* req_payload,
                                      unsigned long long req_size, unsigned long long resp_type,
                                      long long timeout_ns, ringdrop_message** reply) {
  return c::guard([&] {
    return call_with(client, req_type, req_payload, req_size, resp_type, timeout_ns, nullptr, reply);
  });
}

RINGDROP_API int ringdrop_client_call_ex(ringdrop_client* client, unsigned long long req_type,
                                         const void* req_payload, unsigned long long req_size,
                                         unsigned long long resp_type, long long timeout_ns,
                                         const ringdrop_call_options* options, ringdrop_message** reply) {
  return c::guard([&] {
    return call_with(client, req_type, req_payload, req_size, resp_type, timeout_ns, options, reply);
  });
}

RINGDROP_API int ringdrop_client_call_async(ringdrop_client* client, unsigned long long req_type,
                                            const void* req_payload, unsigned long long req_size,
                                            unsigned long long resp_type, long long timeout_ns,
                                            const ringdrop_call_options* options, ringdrop_call_done_fn done,
                                            void* user, unsigned long long* call_id) {
  return c::guard([&]() -> std::error_code {
    if (call_id) *call_id = 0;
    const auto timeout = c::timeout_of(timeout_ns);
    if (!client || !done || !timeout) return invalid("call_async: client or done is NULL, or the timeout negative");
    CallOptions co;
    c::HeaderList headers;
    if (auto ec = call_options(options, co, headers)) return ec;
    auto p = c::Payload::parse(req_payload, req_size);
    if (!p) return p.error();
    // The id is known once the call is sent; the callback runs later.
    auto id = std::make_shared<uint64_t>(0);
    Client::DoneFn finish = [done, user, id](Result<OwnedMessage> r) {
      if (!r) return done(user, *id, c::to_code(r.error()), nullptr);
      std::unique_ptr<ringdrop_message> h;
      int rc = RINGDROP_OK;
      try {
        h = c::owning(std::move(*r));
        rc = c::to_code(c::index_fields(*h));
      } catch (const std::bad_alloc&) {
        rc = RINGDROP_ENOMEM;
      }
      if (rc != RINGDROP_OK) return done(user, *id, rc, nullptr);
      done(user, *id, RINGDROP_OK, h.release());
    };
    auto sent = client->client.call_async_raw(req_type, resp_type, fill_with(*p),
                                                                 deadline_after(*timeout), std::move(finish), co);
    if (!sent) return explained(sent.error(), "the request");
    *id = *sent;
    if (call_id) *call_id = *sent;
    return {};
  });
}

RINGDROP_API int ringdrop_client_poll(ringdrop_client* client, long long timeout_ns) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = c::timeout_of(timeout_ns);
    if (!client || !timeout) return invalid("poll: client is NULL, or the timeout negative");
    return client->client.poll(deadline_after(*timeout));
  });
}

RINGDROP_API int ringdrop_client_notify(ringdrop_client* client, unsigned long long type_id, const void* payload,
                                        unsigned long long payload_size, const ringdrop_message_options* options,
                                        long long timeout_ns) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = c::timeout_of(timeout_ns);
    if (!client || !timeout) return invalid("notify: client is NULL, or the timeout negative");
    MessageOptions mo;
    c::HeaderList headers;
    if (auto ec = c::message_options(options, mo, headers)) return ec;
    mo.kind = MessageKind::NOTIFICATION;
    auto p = c::Payload::parse(payload, payload_size);
    if (!p) return p.error();
    return explained(client->client.notify_raw(type_id, fill_with(*p), deadline_after(*timeout), mo),
                     "the notification");
  });
}

RINGDROP_API int ringdrop_client_send_request(ringdrop_client* client, unsigned long long req_type,
                                              const void* req_payload, unsigned long long req_size,
                                              long long timeout_ns, unsigned long long correlation_id,
                                              const ringdrop_call_options* options,
                                              unsigned long long* message_id) {
  return c::guard([&]() -> std::error_code {
    if (message_id) *message_id = 0;
    const auto timeout = c::timeout_of(timeout_ns);
    if (!client || !timeout) return invalid("send_request: client is NULL, or the timeout negative");
    CallOptions co;
    c::HeaderList headers;
    if (auto ec = call_options(options, co, headers)) return ec;
    RequestOptions ro;
    ro.correlation_id = correlation_id;
    ro.schema_version = co.schema_version;
    ro.headers = co.headers;
    auto p = c::Payload::parse(req_payload, req_size);
    if (!p) return p.error();
    auto id = client->client.send_request_raw(req_type, fill_with(*p), deadline_after(*timeout), ro);
    if (!id) return explained(id.error(), "the request");
    if (message_id) *message_id = *id;
    return {};
  });
}

RINGDROP_API int ringdrop_client_last_remote_error(const ringdrop_client* client, int* code, const char** text) {
  return c::guard([&]() -> std::error_code {
    if (!client || !code || !text) return invalid("last_remote_error: NULL argument");
    const RemoteError& e = client->client.last_remote_error();
    *code = e.code;
    *text = e.message.c_str();
    return {};
  });
}

RINGDROP_API int ringdrop_client_get_stats(const ringdrop_client* client, ringdrop_client_stats* stats) {
  return c::guard([&]() -> std::error_code {
    if (!client || !stats) return invalid("client_get_stats: NULL argument");
    ringdrop_client_stats ours{};
    fill_client_stats(client->client.stats(), ours);
    return give_stats(ours, stats);
  });
}

// ------------------------------------------------------------------ server

RINGDROP_API void ringdrop_server_options_init(ringdrop_server_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  const ServerOptions d;
  o->size = sizeof *o;
  o->cell_size = d.cell_size;
  o->cells = d.cells;
  o->wait_mode = RINGDROP_WAIT_SPIN_BLOCK;
  o->spin_ns = -1;
  o->liveness_ns = -1;
  o->remembered_replies = d.remembered_replies;
  o->reply_rings = static_cast<unsigned int>(d.reply_rings);
  o->reply_timeout_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d.reply_timeout).count();
  o->scratch_bytes = d.scratch_bytes;
}

RINGDROP_API int ringdrop_server_open(const char* service, const ringdrop_server_options* options,
                                      ringdrop_server** server) {
  return c::guard([&]() -> std::error_code {
    if (!server) return invalid("server_open: server (the out parameter) is NULL");
    *server = nullptr;
    if (!service) return invalid("server_open: service is NULL");
    auto o = server_options(options);
    if (!o) return o.error();
    auto opened = Server::open(std::string_view(service), *o);
    if (!opened) return opened.error();
    std::string location = opened->request_ring().describe();
    *server = new ringdrop_server{std::move(*opened), std::move(location)};
    return {};
  });
}

RINGDROP_API int ringdrop_server_open_ring(const char* location, const ringdrop_server_options* options,
                                           ringdrop_server** server) {
  return c::guard([&]() -> std::error_code {
    if (!server) return invalid("server_open_ring: server (the out parameter) is NULL");
    *server = nullptr;
    auto where = location_of(location);
    if (!where) return where.error();
    auto o = server_options(options);
    if (!o) return o.error();
    auto opened = Server::open_ring(*where, *o);
    if (!opened) return opened.error();
    std::string described = opened->request_ring().describe();
    *server = new ringdrop_server{std::move(*opened), std::move(described)};
    return {};
  });
}

RINGDROP_API void ringdrop_server_close(ringdrop_server* server) { delete server; }

RINGDROP_API int ringdrop_server_request_ring(const ringdrop_server* server, const char** location) {
  return c::guard([&]() -> std::error_code {
    if (!server || !location) return invalid("server_request_ring: NULL argument");
    *location = server->location.c_str();
    return {};
  });
}

RINGDROP_API int ringdrop_reply_set_payload(ringdrop_reply* reply, const void* payload,
                                            unsigned long long payload_size) {
  return c::guard([&]() -> std::error_code {
    if (!reply) return invalid("reply_set_payload: reply is NULL");
    auto p = c::Payload::parse(payload, payload_size);
    if (!p) return p.error();
    try {
      auto target = reply->envelope.getPayload();
      if (p->empty()) {
        target.clear();
      } else {
        p->copy_to(target);
      }
    } catch (const kj::Exception& e) {
      return detail::from_capnp(e, "copying the response payload");
    }
    return {};
  });
}

RINGDROP_API int ringdrop_reply_set_error(ringdrop_reply* reply, int code, const char* text) {
  return c::guard([&]() -> std::error_code {
    if (!reply) return invalid("reply_set_error: reply is NULL");
    if (code <= 0) return invalid("reply_set_error: code must be > 0 (the negative range is the library's)");
    reply->error_code = code;
    reply->error_text = text ? text : "";
    return {};
  });
}

RINGDROP_API int ringdrop_server_handle(ringdrop_server* server, unsigned long long req_type,
                                        unsigned long long resp_type, ringdrop_handler_fn handler, void* user) {
  return c::guard([&]() -> std::error_code {
    if (!server || !handler) return invalid("server_handle: server or handler is NULL");
    server->server.add_handler(
        req_type, [handler, user, resp_type](const IncomingMessage& m, Envelope::Builder reply) {
          return run_c_handler(handler, user, resp_type, m, reply);
        });
    return {};
  });
}

RINGDROP_API int ringdrop_server_on_notification(ringdrop_server* server, unsigned long long type_id,
                                                 ringdrop_notification_fn handler, void* user) {
  return c::guard([&]() -> std::error_code {
    if (!server || !handler) return invalid("server_on_notification: server or handler is NULL");
    server->server.add_notification(type_id, [handler, user](const IncomingMessage& m) {
      ringdrop_message message;
      if (auto ec = borrow(message, m)) throw std::runtime_error(last_error_detail());
      const auto payload = c::flat_payload(message);
      handler(user, &message, payload.data(), payload.size());
    });
    return {};
  });
}

RINGDROP_API int ringdrop_server_serve_one(ringdrop_server* server, long long timeout_ns) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = c::timeout_of(timeout_ns);
    if (!server || !timeout) return invalid("serve_one: server is NULL, or the timeout negative");
    return server->server.serve_one(deadline_after(*timeout));
  });
}

RINGDROP_API int ringdrop_server_serve(ringdrop_server* server, long long timeout_ns) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = c::timeout_of(timeout_ns);
    if (!server || !timeout) return invalid("serve: server is NULL, or the timeout negative");
    return server->server.serve(deadline_after(*timeout));
  });
}

RINGDROP_API int ringdrop_server_get_stats(const ringdrop_server* server, ringdrop_server_stats* stats) {
  return c::guard([&]() -> std::error_code {
    if (!server || !stats) return invalid("server_get_stats: NULL argument");
    ringdrop_server_stats ours{};
    fill_server_stats(server->server.stats(), ours);
    return give_stats(ours, stats);
  });
}

}  // extern "C"

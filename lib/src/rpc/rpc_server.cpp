// Request/response, the server's side: take a request, run its handler,
// answer on the caller's reply ring (see rpc_server.hpp for the order).
#include "ringdrop/rpc_server.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/lru_map.hpp"
#include "ringdrop/reply_queue.hpp"

namespace ringdrop {

namespace {

std::string type_text(uint64_t type) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(type));
  return text;
}



}  // namespace

struct Server::State {
  ServerOptions options;
  Location where;
  MpmcConsumer requests;
  MpmcProducer keeper;  // so the request ring never reports its producers gone
  std::optional<ServiceRegistration> registration;
  std::unordered_map<uint64_t, HandlerFn> handlers;
  std::unordered_map<uint64_t, NotificationFn> notifications;
  detail::LruMap<std::string, MpmcProducer> reply_rings;
  detail::LruMap<uint64_t, std::vector<capnp::word>> remembered;
  std::unique_ptr<capnp::word[]> scratch;  // zeroed; MallocMessageBuilder re-zeroes what it used
  size_t scratch_words;
  ServerStats stats;

  State(ServerOptions o, Location w, MpmcConsumer r, MpmcProducer k)
      : options(std::move(o)), where(std::move(w)), requests(std::move(r)), keeper(std::move(k)),
        reply_rings(std::max<size_t>(options.reply_rings, 1)), remembered(options.remembered_replies),
        scratch(new capnp::word[std::max<size_t>(options.scratch_bytes / 8, 64)]()),
        scratch_words(std::max<size_t>(options.scratch_bytes / 8, 64)) {}

  std::error_code handle(const IncomingMessage& m);
  void answer_set_aside(std::span<const std::byte> request, uint32_t deliveries);
  std::error_code notify(const IncomingMessage& m);
  std::error_code answer(const IncomingMessage& m);
  Status run_handler(const IncomingMessage& m, Envelope::Builder reply);
  using WriteFn = std::function<void(std::span<std::byte>)>;
  // Where a reply goes and what it carries back of its request.
  struct Caller {
    std::string reply_to;
    uint64_t request_id;
    uint64_t correlation_id;  // the request's own, else its id
    Deadline deadline;        // the request's
    bool shared;              // reply_to is a shared reply queue (reply_queue.hpp)
    std::string request_id_text;
    std::chrono::milliseconds ttl{0};  // a shared queue's reply expires this long after it is sent; 0: never
    mutable std::pair<std::string_view, std::string_view> header[1];

    // The reply's deadline: the request's, or, in a shared queue, its
    // expiration counted from now (when the reply is built or finished).
    Deadline reply_deadline() const {
      if (!shared) return deadline;
      return ttl.count() > 0 ? deadline_after(ttl) : Deadline::max();
    }
    // The reply's envelope fields (its headers point into this Caller).
    MessageOptions reply_options() const {
      MessageOptions mo;
      mo.kind = MessageKind::RESPONSE;
      mo.correlation_id = correlation_id;
      mo.deadline = reply_deadline();
      if (shared) {
        header[0] = {rpc_header::request_id, request_id_text};
        mo.headers = header;
      }
      return mo;
    }
  };
  Caller caller_of(const IncomingMessage& m) const;
  std::error_code deliver(const Caller& to, kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments,
                          bool is_error = false);
  std::error_code deliver(const Caller& to, size_t size, const WriteFn& write, bool is_error);
  std::error_code deliver_flat(const Caller& to, const std::vector<capnp::word>& words);
  // Set when a reply to a shared queue could not be delivered: the request
  // is then set aside as a dead letter of the request ring with this
  // reason, not released (its group keeps state waiting for the reply).
  std::optional<std::string> keep_request;
  void settle_request();
  Result<MpmcProducer*> reply_ring(const std::string& name);
};

// A reply that carries only an error (the handler's builder may be half
// written when it threw, so errors start from a fresh message).
static void build_error(capnp::MessageBuilder& b, const MessageOptions& reply, int32_t code,
                        const std::string& text) {
  auto env = b.initRoot<Envelope>();
  fill_envelope(env, 0, reply);
  auto err = env.initError();
  err.setCode(code);
  err.setMessage(text);
}

// A private reply ring's reply is an answer its caller waits for until the
// request's deadline; a shared queue's is data the caller's group keeps: it
// goes even after that deadline, and expires per the request's reply-ttl-ms.
Server::State::Caller Server::State::caller_of(const IncomingMessage& m) const {
  const auto to_text = m.envelope().getReplyTo();  // read (and checked) by open(): cannot throw
  Caller to{std::string(to_text.cStr(), to_text.size()), m.id(), m.id(), m.deadline(), false, {}, {}, {}};
  to.shared = is_reply_queue(to.reply_to);
  if (!to.shared) return to;  // a private ring's caller matches its reply by the request's id
  to.request_id_text = std::to_string(m.id());  // a shared queue's reply names its request
  if (m.envelope().getCorrelationId() != 0) to.correlation_id = m.envelope().getCorrelationId();
  const std::string_view ttl = m.header(rpc_header::reply_ttl_ms);
  uint64_t ms = 0;
  auto [end, ec] = std::from_chars(ttl.data(), ttl.data() + ttl.size(), ms);
  if (!ttl.empty() && ec == std::errc{} && end == ttl.data() + ttl.size() && ms < (uint64_t{1} << 40)) {
    to.ttl = std::chrono::milliseconds(ms);  // anything else: no expiration
  }
  return to;
}

Status Server::State::run_handler(const IncomingMessage& m, Envelope::Builder reply) {
  auto it = handlers.find(m.type_id());
  if (it == handlers.end()) {
    ++stats.unknown_type;
    return Status{-static_cast<int32_t>(errc::unknown_type), "no handler for type " + type_text(m.type_id())};
  }
  try {
    Status st = it->second(m, reply);
    if (st.is_ok()) return st;
    ++stats.handler_errors;
    if (st.code < 0) {  // the negative range is the library's: never pass one off as ours
      return Status{kHandlerThrew, "the handler returned code " + std::to_string(st.code) + ": " + st.message};
    }
    return st;
  } catch (const kj::Exception& e) {
    ++stats.handler_errors;
    return Status{kHandlerThrew, std::string("the handler failed: ") + e.getDescription().cStr()};
  } catch (const std::exception& e) {
    ++stats.handler_errors;
    return Status{kHandlerThrew, std::string("the handler threw: ") + e.what()};
  } catch (...) {
    ++stats.handler_errors;
    return Status{kHandlerThrew, "the handler threw something that is not a std::exception"};
  }
}

std::error_code Server::State::answer(const IncomingMessage& m) {
  ++stats.requests;
  const Caller to = caller_of(m);
  if (m.deadline() <= Clock::now()) {
    ++stats.expired;
    if (to.shared) {  // nobody waits, but the caller's group keeps state for it: say it was not run
      capnp::MallocMessageBuilder b;
      build_error(b, to.reply_options(), -static_cast<int32_t>(errc::deadline_exceeded),
                  "the request arrived after its deadline: not run");
      (void)deliver(to, b.getSegmentsForOutput(), true);
    }
    return detail::fail(errc::deadline_exceeded, "a request arrived after its deadline: not run");
  }
  const bool idempotent = m.envelope().getIdempotent();
  if (idempotent) {
    if (auto* words = remembered.find(m.id())) {
      ++stats.duplicates;
      return deliver_flat(to, *words);
    }
  }
  capnp::MallocMessageBuilder b(kj::arrayPtr(scratch.get(), scratch_words));
  auto env = b.initRoot<Envelope>();
  fill_envelope(env, 0, to.reply_options());
  Status st = run_handler(m, env);
  if (to.shared && to.ttl.count() > 0) env.setDeadlineNs(to_envelope_time(to.reply_deadline()));  // from now
  std::optional<capnp::MallocMessageBuilder> failed;
  capnp::MessageBuilder* out = &b;
  if (!st.is_ok()) {
    build_error(failed.emplace(), to.reply_options(), st.code, st.message);
    out = &*failed;
  }
  auto segments = out->getSegmentsForOutput();
  if (!idempotent) return deliver(to, segments);
  // Flattened once: remembered for repeats, and sent from there.
  std::vector<capnp::word> flat(detail::flat_size(segments) / sizeof(capnp::word));
  detail::write_flat(segments, std::as_writable_bytes(std::span(flat)));
  auto* kept = remembered.put(m.id(), std::move(flat));
  return kept ? deliver_flat(to, *kept) : deliver(to, segments);
}

std::error_code Server::State::deliver_flat(const Caller& to, const std::vector<capnp::word>& words) {
  const auto bytes = std::as_bytes(std::span(words));
  return deliver(to, bytes.size(), [&](std::span<std::byte> out) {
    std::memcpy(out.data(), bytes.data(), bytes.size());
  }, false);
}

std::error_code Server::State::deliver(const Caller& to,
                                       kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments,
                                       bool is_error) {
  return deliver(to, detail::flat_size(segments), [&](std::span<std::byte> out) { detail::write_flat(segments, out); },
                 is_error);
}

Result<MpmcProducer*> Server::State::reply_ring(const std::string& name) {
  if (auto* p = reply_rings.find(name)) return p;
  auto caller = Location::parse(name);
  if (!caller) return detail::fail(errc::invalid_argument, "a request's reply-to is not a ring: \"" + name + "\"");
  MpmcOptions ro;
  ro.wait = options.wait;
  auto p = MpmcProducer::open(*caller, OpenMode::open, ro);
  if (!p) return p.error();
  return reply_rings.put(name, std::move(*p));
}

std::error_code Server::State::deliver(const Caller& to, size_t size, const WriteFn& write, bool is_error) {
  auto ring = reply_ring(to.reply_to);
  if (!ring) {
    ++stats.undeliverable;
    if (to.shared) keep_request = "its reply queue " + to.reply_to + " cannot be opened: " + ring.error().message();
    return {};  // a private ring: the caller is gone, nobody to tell
  }
  // From now: however long the handler took, the reply gets its full wait.
  const Deadline wait = to.shared ? deadline_after(options.reply_queue_timeout)
                                  : std::min(to.deadline, deadline_after(options.reply_timeout));
  auto span = (*ring)->reserve(size, wait);
  if (!span && span.error() == errc::message_too_large && !is_error) {
    // Too big for the caller's reply cells: tell it so rather than let it
    // time out (once: if even that does not fit, the reply is undeliverable).
    capnp::MallocMessageBuilder b;
    build_error(b, to.reply_options(), -static_cast<int32_t>(errc::message_too_large),
                "the reply (" + std::to_string(size) + " bytes) does not fit the caller's reply ring");
    return deliver(to, b.getSegmentsForOutput(), true);
  }
  if (!span) {
    ++stats.undeliverable;
    if (span.error() == errc::peer_gone) reply_rings.erase(to.reply_to);
    if (to.shared) {
      keep_request = "its reply could not be put in the reply queue " + to.reply_to + " (" +
                     span.error().message() + "): requeue the request once the queue has room (it runs again)";
    }
    return {};
  }
  write(*span);
  if (auto ec = (*ring)->commit(size)) return ec;
  ++stats.replies;
  return {};
}

std::error_code Server::State::notify(const IncomingMessage& m) {
  auto it = notifications.find(m.type_id());
  if (it == notifications.end()) {
    ++stats.unknown_type;
    return detail::fail(errc::unknown_type, "no handler for notifications of type " + type_text(m.type_id()));
  }
  ++stats.notifications;
  try {
    it->second(m);
  } catch (const std::exception& e) {
    ++stats.handler_errors;
    return detail::fail(errc::remote_error, std::string("a notification handler threw: ") + e.what());
  } catch (const kj::Exception& e) {
    ++stats.handler_errors;
    return detail::fail(errc::remote_error, std::string("a notification handler failed: ") + e.getDescription().cStr());
  }
  return {};
}

// A request that killed `deliveries` servers was set aside by this one: its
// caller learns so now, not at its deadline.
void Server::State::answer_set_aside(std::span<const std::byte> request, uint32_t deliveries) {
  auto m = IncomingMessage::open(request);
  if (!m || m->kind() != MessageKind::REQUEST) return;  // nobody waits for an answer
  const auto to_text = m->envelope().getReplyTo();
  if (to_text.size() == 0) return;
  ++stats.dead_lettered;
  const Caller to = caller_of(*m);
  capnp::MallocMessageBuilder b;
  build_error(b, to.reply_options(), -static_cast<int32_t>(errc::dead_lettered),
              "the request was set aside after it crashed " + std::to_string(deliveries) +
                  " servers; it is kept as a dead letter of " + where.describe());
  (void)deliver(to, b.getSegmentsForOutput(), true);
  keep_request.reset();  // it is a dead letter already
}

// Releases the request just handled, or sets it aside when its reply to a
// shared queue could not be delivered (kept if even that fails: released,
// and the reply stays counted undeliverable).
void Server::State::settle_request() {
  if (keep_request) {
    const std::string why = std::move(*keep_request);
    keep_request.reset();
    if (!requests.reject(why)) {
      ++stats.dead_lettered;
      return;
    }
  }
  requests.release();
}

std::error_code Server::State::handle(const IncomingMessage& m) {
  switch (m.kind()) {
    case MessageKind::REQUEST:
      if (m.envelope().getReplyTo().size() == 0) break;
      return answer(m);
    case MessageKind::NOTIFICATION:
    case MessageKind::EVENT:
      return notify(m);
    default:
      break;
  }
  ++stats.malformed;
  return detail::fail(errc::bad_message, "a request ring carried a response, or a request without reply-to");
}

// ------------------------------------------------------------------ server

Server::Server(std::unique_ptr<State> s) noexcept : s_(std::move(s)) {}
Server::Server(Server&&) noexcept = default;
Server& Server::operator=(Server&&) noexcept = default;
Server::~Server() = default;

Result<Server> Server::open_ring(const Location& where, const ServerOptions& options) {
  MpmcOptions ro;
  ro.wait = options.wait;
  ro.cell_size = options.cell_size;
  ro.capacity = uint64_t{options.cell_size} * options.cells;
  ro.on_consumer_death = OnConsumerDeath::redeliver;  // a dead server's request goes to another
  ro.max_deliveries = options.max_deliveries;        // ... but not for ever
  ro.dead_letters = options.dead_letters;
  auto requests = MpmcConsumer::open(where, OpenMode::open_or_create, ro);
  if (!requests) return requests.error();
  auto keeper = MpmcProducer::open(where, OpenMode::open, ro);
  if (!keeper) return keeper.error();
  auto state = std::make_unique<State>(options, where, std::move(*requests), std::move(*keeper));
  State* s = state.get();  // stays put: the Server holds it by pointer
  s->requests.on_dead_letter([s](std::span<const std::byte> request, uint32_t deliveries) {
    s->answer_set_aside(request, deliveries);
  });
  return Server(std::move(state));
}

Result<Server> Server::open(std::string_view service, const ServerOptions& options) {
  if (!ServiceRegistry::valid_service_name(service)) {
    return detail::fail(errc::invalid_argument, "\"" + std::string(service) + "\" is not a service name");
  }
  auto registry = ServiceRegistry::open(options.registry);
  if (!registry) return registry.error();
  // The ring first, then the registration: a client that finds the entry
  // can open the ring.
  const Location where = Location::shm("ringdrop.svc." + std::string(service));
  auto server = open_ring(where, options);
  if (!server) return server.error();
  auto registration = registry->register_service(service, where, options.info);
  if (!registration) return registration.error();
  server->s_->registration.emplace(std::move(*registration));
  return server;
}

void Server::add_handler(uint64_t type, HandlerFn fn) { s_->handlers[type] = std::move(fn); }
void Server::add_notification(uint64_t type, NotificationFn fn) { s_->notifications[type] = std::move(fn); }

std::error_code Server::serve_one(Deadline deadline) {
  State& s = *s_;
  for (;;) {
    auto view = s.requests.read(deadline);
    if (!view) return view.error();
    // After the reply is sent (a crash before redelivers), however the
    // handling ends.
    struct Settle {
      State& s;
      ~Settle() { s.settle_request(); }
    } settle{s};
    if (view->empty()) continue;        // a sender's build failed: nothing to do
    auto m = IncomingMessage::open(*view);
    if (!m) {
      ++s.stats.malformed;
      return m.error();
    }
    try {
      return s.handle(*m);
    } catch (const kj::Exception& e) {  // e.g. the reply could not be built
      ++s.stats.malformed;
      return detail::from_capnp(e, "answering a request");
    }
  }
}

std::error_code Server::serve(Deadline until) {
  for (;;) {
    auto ec = serve_one(until);
    if (ec == errc::timed_out) return {};
    if (!ec || ec == errc::bad_message || ec == errc::unknown_type || ec == errc::deadline_exceeded ||
        ec == errc::remote_error) {
      continue;
    }
    return ec;
  }
}

ServerStats Server::stats() const noexcept { return s_->stats; }
const Location& Server::request_ring() const noexcept { return s_->where; }

}  // namespace ringdrop

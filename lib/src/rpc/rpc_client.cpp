// Request/response, the caller's side: send, match replies by correlation
// id, end every call exactly once (reply, timeout, peer gone, error).
#include "ringdrop/rpc_client.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/reply_queue.hpp"
#include "rpc/rpc_internal.hpp"

namespace ringdrop {

namespace {

bool retryable(std::error_code ec) noexcept { return ec == errc::timed_out || ec == errc::peer_gone; }

}  // namespace

// ------------------------------------------------------------------ state

struct Client::State {
  struct Pending {
    Deadline deadline;
    uint64_t resp_type = 0;
    DoneFn done;                                 // async calls
    std::optional<Result<OwnedMessage>> result;  // blocking calls: set when it ends
  };

  ClientOptions options;
  Location request_loc;
  Location reply_loc;
  std::string reply_to;  // reply_loc.describe(), every request's reply-to (made once, not per call)
  MpmcProducer requests;
  // The private reply ring, made at the first call (a client that only
  // sends to a shared reply queue never makes one).
  std::optional<MpmcConsumer> replies;
  std::optional<MpmcProducer> reply_keeper;  // so the reply ring never reports its producers gone
  std::string reply_queue_to;  // the shared reply queue's describe(), the requests' reply-to; "": none
  std::string reply_ttl_text;  // options.reply_ttl in ms, "" for none
  CircuitBreaker breaker;
  SenderState sender;
  std::unordered_map<uint64_t, Pending> pending;
  ClientStats stats;
  RemoteError last_remote;
  Deadline next_liveness = Deadline::min();
  pid_t owner = ::getpid();

  State(ClientOptions o, Location req, MpmcProducer p)
      : options(std::move(o)), request_loc(std::move(req)), reply_loc(detail::private_reply_location()),
        reply_to(reply_loc.describe()), requests(std::move(p)), breaker(options.breaker) {}
  ~State() {
    if (replies && ::getpid() == owner) (void)Segment::remove(reply_loc);  // mappings stay valid until closed
  }

  std::error_code open_private();

  Result<OwnedMessage> settle(Result<OwnedMessage> r, uint64_t resp_type);
  void count_failure(std::error_code ec) noexcept;
  void complete(uint64_t id, Result<OwnedMessage> r);
  void end_all(std::error_code why, bool only_overdue, Clock::time_point now);
  Deadline earliest(Deadline until) const;
  std::error_code pump(Deadline until, uint64_t watch);
  std::error_code drain(uint64_t watch = 0);
  // Whether blocking call `watch` has its end; never for 0 (poll() waits
  // for no single call, so its drain takes every reply there is).
  bool ended(uint64_t watch) const { return watch != 0 && pending.at(watch).result.has_value(); }
  size_t open_calls() const;
  void take(std::span<const std::byte> view);
  std::error_code send(uint64_t id, uint64_t type, const PayloadFn& payload, Deadline deadline,
                       const CallOptions& o, uint16_t attempt);
};

// What a reply says, as the call's result.
Result<OwnedMessage> Client::State::settle(Result<OwnedMessage> r, uint64_t resp_type) {
  if (!r) {
    ++stats.bad_replies;
    return r;
  }
  auto err = r->message().envelope().getError();
  if (err.getCode() != 0) {
    ++stats.remote_errors;
    last_remote = {err.getCode(), err.getMessage().cStr()};
    const int code = err.getCode();
    if (code < 0 && code >= -static_cast<int>(errc::dead_lettered)) {  // one of ours: the last errc
      return detail::fail(static_cast<errc>(-code), "the server says: " + last_remote.message);
    }
    return detail::fail(errc::remote_error, "the server says (" + std::to_string(code) + "): " + last_remote.message);
  }
  if (r->message().type_id() != resp_type) {
    ++stats.bad_replies;
    char text[96];
    std::snprintf(text, sizeof text, "the reply carries type 0x%016llx, not the expected 0x%016llx",
                  static_cast<unsigned long long>(r->message().type_id()),
                  static_cast<unsigned long long>(resp_type));
    return detail::fail(errc::bad_message, text);
  }
  ++stats.ok;
  return r;
}

// A call that ended timed out or with its servers gone, however it got there:
// waiting for the reply, or already while sending the request.
void Client::State::count_failure(std::error_code ec) noexcept {
  if (ec == errc::timed_out) ++stats.timed_out;
  if (ec == errc::peer_gone) ++stats.peer_gone;
}

// Ends call `id` with `r`: a blocking call keeps it for its caller, an
// async one runs its callback (after leaving the table, so the callback
// may start new calls).
void Client::State::complete(uint64_t id, Result<OwnedMessage> r) {
  auto it = pending.find(id);
  if (it == pending.end()) return;
  if (!r) count_failure(r.error());
  breaker.record(r ? std::error_code{} : r.error());
  if (!it->second.done) {
    it->second.result.emplace(std::move(r));
    return;
  }
  DoneFn done = std::move(it->second.done);
  pending.erase(it);
  done(std::move(r));
}

// Ends every open call (or those past their deadline) with `why`.
void Client::State::end_all(std::error_code why, bool only_overdue, Clock::time_point now) {
  std::vector<uint64_t> ids;
  for (const auto& [id, p] : pending) {
    if (!p.result && (!only_overdue || p.deadline <= now)) ids.push_back(id);
  }
  for (uint64_t id : ids) complete(id, why);
}

Deadline Client::State::earliest(Deadline until) const {
  for (const auto& [id, p] : pending) {
    if (!p.result) until = std::min(until, p.deadline);
  }
  return until;
}

// Takes one reply off the ring: ends the call it answers, or counts it.
void Client::State::take(std::span<const std::byte> view) {
  auto copy = OwnedMessage::copy_of(view);
  if (!copy) {  // malformed: end the call it was for, if that can be told
    const auto why = copy.error();
    const uint64_t id = peek_correlation_id(view);
    replies->release();
    ++stats.bad_replies;
    auto it = pending.find(id);
    if (id != 0 && it != pending.end() && !it->second.result) complete(id, why);
    return;
  }
  replies->release();
  const uint64_t id = copy->message().envelope().getCorrelationId();  // a data field: cannot throw
  auto it = pending.find(id);
  if (it == pending.end() || it->second.result) {
    ++stats.late_replies;
    return;
  }
  complete(id, settle(std::move(copy), it->second.resp_type));
}

// Reads replies until call `watch` has ended (or, with watch 0, every call
// has), or until `until` passes. Replies already waiting are taken even
// when nothing is in flight, so late and bad ones are counted.
std::error_code Client::State::pump(Deadline until, uint64_t watch) {
  if (!replies) return {};  // no call was ever made: none is in flight
  for (;;) {
    // Replies that already came are taken before any call is declared
    // overdue: an answer that arrived in time is never reported timed_out.
    // A drain that stopped at the watched call's reply may have left some:
    // nothing is declared overdue then.
    if (auto ec = drain(watch)) return ec;
    if (ended(watch)) return {};
    const auto now = Clock::now();
    end_all(errc::timed_out, true, now);
    if (watch ? ended(watch) : open_calls() == 0) return {};
    if (now >= until) return errc::timed_out;
    if (now >= next_liveness) {
      next_liveness = now + options.wait.liveness_interval;
      if (requests.consumers_gone()) {
        end_all(detail::fail(errc::peer_gone, "every server of " + request_loc.describe() + " is gone"), false, now);
        continue;
      }
    }
    auto view = replies->read(std::min(earliest(until), next_liveness));
    if (!view) {
      if (view.error() == errc::timed_out) continue;
      return view.error();  // the reply ring is damaged: nothing to wait for
    }
    take(*view);
    if (ended(watch)) return {};
  }
}

// Takes the replies already in the ring, without waiting: all of them, or
// those up to the one that ends call `watch`. The call waited for has its
// answer: back to the caller then. Another try_read first would CAS the
// next reply cell, a line the server has prefetched to write its next reply
// into: a cache-line round trip between the cores on every call. The
// replies behind wait for the next look.
std::error_code Client::State::drain(uint64_t watch) {
  if (!replies) return {};
  for (;;) {
    auto view = replies->try_read();
    if (!view) return view.error() == errc::would_block ? std::error_code{} : view.error();
    take(*view);
    if (ended(watch)) return {};
  }
}

// Calls still waiting for their end (a blocking call's ended entry waits
// only for its caller to collect it).
size_t Client::State::open_calls() const {
  size_t n = 0;
  for (const auto& [id, p] : pending) n += !p.result;
  return n;
}

// The private reply ring, created on first need.
std::error_code Client::State::open_private() {
  if (replies) return {};
  MpmcOptions ro;
  ro.wait = options.wait;
  ro.cell_size = options.reply_cell_size;
  ro.capacity = uint64_t{options.reply_cell_size} * options.reply_cells;
  ro.on_consumer_death = OnConsumerDeath::drop;  // a dead client's replies have no reader
  auto c = MpmcConsumer::open(reply_loc, OpenMode::create, ro);
  if (!c) return c.error();
  auto k = MpmcProducer::open(reply_loc, OpenMode::open, ro);
  if (!k) {
    (void)Segment::remove(reply_loc);
    return k.error();
  }
  replies.emplace(std::move(*c));
  reply_keeper.emplace(std::move(*k));
  return {};
}

std::error_code Client::State::send(uint64_t id, uint64_t type, const PayloadFn& payload, Deadline deadline,
                                    const CallOptions& o, uint16_t attempt) {
  MessageOptions mo;
  mo.kind = MessageKind::REQUEST;
  mo.reply_to = reply_to;
  mo.deadline = deadline;
  mo.attempt = attempt;
  mo.idempotent = o.idempotent;
  mo.schema_version = o.schema_version;
  mo.headers = o.headers;
  mo.message_id = id;  // the same id on every try: the server's dedupe key
  return detail::build_and_send(requests, type, deadline, payload, mo, sender);
}

// ------------------------------------------------------------------ client

Client::Client(std::unique_ptr<State> s) noexcept : s_(std::move(s)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<Client> Client::connect(std::string_view service, const ClientOptions& options) {
  auto registry = ServiceRegistry::open(options.registry);
  if (!registry) return registry.error();
  auto entry = registry->find(service);
  if (!entry) return entry.error();
  return connect(entry->ring, options);
}

Result<Client> Client::connect(const Location& request_ring, const ClientOptions& options) {
  if (!options.reply_queue.empty() && !ServiceRegistry::valid_service_name(options.reply_queue)) {
    return detail::fail(errc::invalid_argument, "\"" + options.reply_queue + "\" is not a reply queue name");
  }
  MpmcOptions ro;
  ro.wait = options.wait;
  auto requests = MpmcProducer::open(request_ring, OpenMode::open, ro);
  if (!requests) return requests.error();
  (void)detail::remove_dead_private_reply_rings();  // left by clients that were killed
  auto state = std::make_unique<State>(options, request_ring, std::move(*requests));
  if (!options.reply_queue.empty()) {
    const Location q = reply_queue_location(options.reply_queue);
    // Made now if missing, so no reply finds it absent; not held (servers
    // attach to it as producers, the group's ReplyQueues as consumers).
    auto made = detail::open_reply_queue_end<MpmcProducer>(q, options.reply_queue_options);
    if (!made) return made.error();
    state->reply_queue_to = q.describe();
    const auto ttl = std::chrono::ceil<std::chrono::milliseconds>(options.reply_ttl).count();
    if (ttl > 0) state->reply_ttl_text = std::to_string(ttl);
  }
  return Client(std::move(state));
}

Result<OwnedMessage> Client::call_raw(uint64_t req_type, uint64_t resp_type, const PayloadFn& payload,
                                      Deadline deadline, const CallOptions& o) {
  State& s = *s_;
  if (auto ec = s.open_private()) return ec;
  const uint32_t attempts = o.idempotent ? std::max<uint32_t>(1, s.options.retry.attempts) : 1;
  auto backoff = s.options.retry.backoff;
  const uint64_t id = next_message_id();
  for (uint32_t attempt = 1;; ++attempt) {
    if (auto ec = s.breaker.admit()) {
      ++s.stats.rejected;
      return detail::fail(ec, "the circuit breaker of " + s.request_loc.describe() + " is open");
    }
    // Each try waits attempt_timeout, the last one until the call's deadline.
    const bool last = attempt >= attempts;
    const Deadline try_deadline = !last && o.attempt_timeout.count() > 0
                                      ? std::min(deadline, deadline_after(o.attempt_timeout))
                                      : deadline;
    ++(attempt == 1 ? s.stats.calls : s.stats.retries);
    Result<OwnedMessage> r = errc::timed_out;
    if (auto ec = s.send(id, req_type, payload, deadline, o, static_cast<uint16_t>(attempt))) {
      if (CircuitBreaker::is_failure(ec)) s.breaker.record(ec);  // not sent for our own reasons: no verdict
      s.count_failure(ec);  // no room for the request until the deadline, or no server left
      r = ec;
    } else {
      s.pending[id] = State::Pending{try_deadline, resp_type, {}, {}};
      // However the wait ends (an async callback may throw through it), the
      // entry goes: a stale one would keep poll() waiting forever.
      struct Forget {
        State& s;
        uint64_t id;
        ~Forget() { s.pending.erase(id); }
      } forget{s, id};
      auto ec2 = s.pump(try_deadline, id);
      auto& p = s.pending.at(id);
      r = p.result ? std::move(*p.result) : Result<OwnedMessage>(ec2 ? ec2 : errc::timed_out);
    }
    if (r || !retryable(r.error()) || attempt >= attempts || Clock::now() >= deadline) return r;
    std::this_thread::sleep_until(std::min(deadline, deadline_after(backoff)));  // the policy's pause
    backoff = std::min(s.options.retry.max_backoff, backoff * s.options.retry.multiplier);
  }
}

Result<uint64_t> Client::call_async_raw(uint64_t req_type, uint64_t resp_type, const PayloadFn& payload,
                                        Deadline deadline, DoneFn done, const CallOptions& o) {
  State& s = *s_;
  if (!done) return detail::fail(errc::invalid_argument, "call_async needs a callback");
  if (auto ec = s.open_private()) return ec;
  // Make room first: replies nobody polled for would fill the reply ring
  // and leave servers waiting for space in it.
  if (auto ec = s.drain()) return ec;
  if (auto ec = s.breaker.admit()) {
    ++s.stats.rejected;
    return detail::fail(ec, "the circuit breaker of " + s.request_loc.describe() + " is open");
  }
  const uint64_t id = next_message_id();
  if (auto ec = s.send(id, req_type, payload, deadline, o, 1)) {
    if (CircuitBreaker::is_failure(ec)) s.breaker.record(ec);
    return ec;
  }
  ++s.stats.calls;
  s.pending[id] = State::Pending{deadline, resp_type, std::move(done), {}};
  return id;
}

Result<uint64_t> Client::send_request_raw(uint64_t type, const PayloadFn& payload, Deadline deadline,
                                          const RequestOptions& o) {
  // No circuit breaker: it judges answers, and nobody here waits for one.
  State& s = *s_;
  if (s.reply_queue_to.empty()) {
    return detail::fail(errc::invalid_argument, "send_request needs a shared reply queue (ClientOptions::reply_queue)");
  }
  std::vector<std::pair<std::string_view, std::string_view>> headers(o.headers.begin(), o.headers.end());
  if (!s.reply_ttl_text.empty()) headers.emplace_back(rpc_header::reply_ttl_ms, s.reply_ttl_text);
  MessageOptions mo;
  mo.kind = MessageKind::REQUEST;
  mo.reply_to = s.reply_queue_to;
  mo.deadline = deadline;
  mo.schema_version = o.schema_version;
  mo.correlation_id = o.correlation_id;
  mo.headers = headers;
  mo.message_id = next_message_id();
  if (auto ec = detail::build_and_send(s.requests, type, deadline, payload, mo, s.sender)) return ec;
  ++s.stats.requests_sent;
  return mo.message_id;
}

std::error_code Client::notify_raw(uint64_t type, const PayloadFn& payload, Deadline deadline,
                                   const MessageOptions& options) {
  auto ec = detail::build_and_send(s_->requests, type, deadline, payload, options, s_->sender);
  if (!ec) ++s_->stats.notifications;
  return ec;
}

std::error_code Client::poll(Deadline until) { return s_->pump(until, 0); }

size_t Client::in_flight() const noexcept { return s_->pending.size(); }

ClientStats Client::stats() const {
  ClientStats st = s_->stats;
  st.in_flight = s_->pending.size();
  st.breaker = s_->breaker.stats();
  return st;
}

const RemoteError& Client::last_remote_error() const noexcept { return s_->last_remote; }
const Location& Client::request_ring() const noexcept { return s_->request_loc; }
const Location& Client::reply_ring() const noexcept { return s_->reply_loc; }

}  // namespace ringdrop

#include "outbound_route.hpp"

#include <charconv>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "amqp_session.hpp"
#include "envelope_mapping.hpp"
#include "outbound_source.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/message.hpp"
#include "ringdrop/rpc.hpp"

namespace ringdrop::bridge {

namespace {

enum class Fate { unsent, sent, confirmed, failed, dropped };

struct InFlight {
  Taken taken;
  WireMessage wire;
  std::string exchange;     // where it is published: the route's, or
  std::string routing_key;  // a reply's requester's queue (reply_book.hpp)
  uint64_t tag = 0;
  int64_t deadline_mono_ns = 0;  // from its envelope's deadline (0: none): its expiration at each publish
  bool addressed = false;        // a reply whose request the book gave up (address_reply)
  Fate fate = Fate::unsent;
  bool returned = false;  // basic.return came; its ack is still to come
  bool stored = false;    // Fate::failed: its dead letter is stored
  std::string reason;     // Fate::failed: why it is a dead letter
};

class Outbound {
 public:
  Outbound(const OutRoute& route, RouteContext ctx) : route_(route), ctx_(std::move(ctx)) {
    std::random_device rd;
    id_base_ = (uint64_t{rd()} << 32) ^ rd();
  }

  void run() {
    ctx_.set_state(RouteState::starting);
    while (!ctx_.stop.requested()) {
      ctx_.loop();
      if (!source_ && !open_source()) continue;
      if (!session_ && !connect()) continue;
      const bool took = !blocked_ && fill_window();
      publish_pending();
      // Frames are waited for only when there is nothing else to do: the
      // window is full, or the source had nothing. An idle route waits
      // 1 ms, not 0: rabbitmq-c checks the broker's heartbeat only when a
      // read may wait, and an idle route must notice a dead broker.
      using std::chrono::milliseconds;
      poll(blocked_ ? milliseconds(200) : took ? milliseconds(0) : window_.empty() ? milliseconds(1) : milliseconds(100));
      settle_prefix();
      keep_leases();
      if (source_failed_ && window_.empty()) reopen_source_later();  // what it gave is settled: it can go
    }
    finish();
  }

 private:
  bool open_source() {
    auto s = OutboundSource::open(route_, [this](std::string what) { ctx_.error(std::move(what)); });
    if (!s) {
      ctx_.error("cannot open " + route_.from.describe() + ": " + last_error_detail());
      wait(backoff_source_.next());
      return false;
    }
    source_ = std::move(*s);
    return true;
  }

  bool connect() {
    auto s = connect_route(
        ctx_, backoff_, ever_connected_,
        [this](AmqpSession& session) {
          std::error_code ec = session.confirm_select();
          // The default exchange ("", a reply route's) exists and cannot be declared.
          if (!ec && !route_.exchange.empty()) ec = session.declare_exchange(route_.exchange, route_.exchange_type);
          return ec;
        },
        "publishing to " + (!route_.answers.empty() ? std::string("the requesters' reply queues") : "exchange " + route_.exchange));
    if (!s) return false;
    session_.emplace(std::move(*s));
    blocked_ = false;
    return true;
  }

  // The window: at most `window` messages, and about kWindowBytes, so that
  // a broker that stops reading (an alarm) cannot make a publish block on a
  // full socket for long.
  static constexpr size_t kWindowBytes = 256 * 1024;

  // Takes what the source has while the window has room, each message
  // published as it comes. true if it took any.
  bool fill_window() {
    bool took = false;
    while (window_.size() < ctx_.config.window && window_bytes_ < kWindowBytes && !source_failed_) {
      const auto wait = window_.empty() ? std::chrono::milliseconds(100) : std::chrono::milliseconds(0);
      auto t = source_->take(wait);
      if (!t) {
        if (t.error() != errc::timed_out) {
          // The messages taken so far stay held (their spans in the ring's
          // mapping) until they are settled; the source goes after that.
          ctx_.error("taking from " + route_.from.describe() + ": " + last_error_detail());
          source_failed_ = true;
        }
        break;
      }
      InFlight f;
      f.taken = std::move(*t);
      window_bytes_ += f.taken.bytes.size();
      map(f);
      window_.push_back(std::move(f));
      took = true;
      publish_pending();
    }
    return took;
  }

  void reopen_source_later() {
    source_.reset();
    source_failed_ = false;
    wait(backoff_source_.next());
  }

  void wait(std::chrono::milliseconds d) { ctx_.wait(d); }

  void map(InFlight& f) {
    OutboundContext c{ctx_.config.name, route_.from.describe(), mono_now_ns(), real_now_ns(), {}};
    if (route_.format == Format::typed) {
      auto w = typed_to_wire(f.taken.bytes, c);
      if (!w && !route_.answers.empty() && w.error() == errc::deadline_exceeded) return drop_late_reply(f);
      if (!w) return fail_one(f, "not bridged: " + last_error_detail());
      f.wire = std::move(*w);
      if (!f.wire.expiration.empty()) {  // the ms left, rounded up: the deadline, to the ms above
        // Saturated: a deadline centuries away (none, in effect) overflows nothing.
        int64_t left_ns = 0;
        if (__builtin_mul_overflow(std::stoll(f.wire.expiration), int64_t{1'000'000}, &left_ns) ||
            __builtin_add_overflow(c.now_mono_ns, left_ns, &f.deadline_mono_ns)) {
          f.deadline_mono_ns = INT64_MAX;
        }
      }
    } else {
      if (f.taken.id.empty()) c.fresh_id = ctx_.config.name + "-" + std::to_string(id_base_) + "-" + std::to_string(++ids_);
      f.wire = raw_to_wire(f.taken.bytes, f.taken.headers, f.taken.id, c);
    }
    f.exchange = route_.exchange;
    f.routing_key = route_.routing_key;
    if (!route_.answers.empty()) {
      address_reply(f);
    } else if (!route_.reply_queue.empty() && !f.wire.reply_to.empty()) {
      // A request: its reply comes back through our queue, then into the
      // caller's own ring, named in a header (reply_book.hpp).
      f.wire.headers.emplace_back(wire_header::reply_to, std::move(f.wire.reply_to));
      f.wire.reply_to = route_.reply_queue;
    }
    if (f.fate == Fate::failed || f.fate == Fate::dropped) return;
    if (auto ec = session_->check(f.wire)) fail_one(f, "refused before publishing: " + last_error_detail());
  }

  // A reply from one of this bridge's reply rings: to the queue its request
  // came with, found in the book by the request's local id — the reply's
  // request-id header (a shared reply queue's reply) or its correlation id
  // — which becomes the caller's own id again on the way.
  void address_reply(InFlight& f) {
    std::string* request = header_of(f.wire, rpc_header::request_id);
    const uint64_t local = request ? number(*request) : number(f.wire.correlation_id);
    std::optional<ReplyAddress> to;
    if (local != 0) to = ctx_.replies->take(local);
    if (!to) {
      return fail_one(f, "a reply to request '" + (request ? *request : f.wire.correlation_id) +
                             "', which this bridge does not know (it restarted while the request was at the server, "
                             "or the request did not come through it): nowhere to send it");
    }
    f.addressed = true;
    if (request) *request = to->request_id;
    if (number(f.wire.correlation_id) == local) f.wire.correlation_id = to->request_id;
    f.exchange.clear();  // the default exchange routes to a queue by its name
    f.routing_key = std::move(to->queue);
    if (!to->ringdrop.empty()) f.wire.headers.emplace_back(wire_header::reply_to, std::move(to->ringdrop));
  }

  static std::string* header_of(WireMessage& w, std::string_view key) {
    for (auto& [k, v] : w.headers) {
      if (k == key) return &v;
    }
    return nullptr;
  }

  // A decimal id; 0 if it is not one.
  static uint64_t number(const std::string& text) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    return ec == std::errc{} && end == text.data() + text.size() ? n : 0;
  }

  // A reply past its call's deadline: its caller stopped waiting, as on
  // one host, where it would be discarded as late. Counted, released, and
  // its request forgotten.
  void drop_late_reply(InFlight& f) {
    if (auto in = IncomingMessage::open(f.taken.bytes); in && !f.addressed) {
      const std::string_view request = in->header(rpc_header::request_id);
      uint64_t id = in->envelope().getCorrelationId();
      if (!request.empty()) id = number(std::string(request));
      ctx_.replies->forget(id);
    }
    ctx_.stats.add(ctx_.stats.late_replies);
    f.fate = Fate::dropped;
  }

  void fail_one(InFlight& f, std::string why) {
    f.fate = Fate::failed;
    f.reason = std::move(why);
  }

  // Publishes the window's unsent messages, in order: the new ones, and
  // after a reconnect all that were not confirmed.
  void publish_pending() {
    for (; first_unsent_ < window_.size(); ++first_unsent_) {
      if (window_[first_unsent_].fate != Fate::unsent) continue;
      // Read what came every few messages: connection.blocked stops the
      // rest (published when the alarm ends).
      if (++publishes_ % 16 == 0) poll(std::chrono::milliseconds(0));
      if (!session_ || blocked_) return;  // a lost session set first_unsent_ back to 0
      InFlight& f = window_[first_unsent_];
      if (!still_alive(f)) continue;
      auto tag = session_->publish(f.exchange, f.routing_key, f.wire);
      if (!tag) {
        if (session_->broken()) return;
        fail_one(f, "refused before publishing: " + last_error_detail());
        continue;
      }
      f.tag = *tag;
      f.fate = Fate::sent;
      ctx_.stats.add(ctx_.stats.published);
      ctx_.stats.add(ctx_.stats.in_flight);
    }
  }

  // A message with a deadline carries the time left as its expiration at
  // each publish, a re-publish after a reconnect included (the broker
  // drops it in the queue once that passes); one whose deadline passed
  // while it waited is not published: a dead letter, or a late reply.
  bool still_alive(InFlight& f) {
    if (f.deadline_mono_ns == 0) return true;
    const int64_t left_ns = f.deadline_mono_ns - mono_now_ns();
    if (left_ns > 0) {
      f.wire.expiration = std::to_string((left_ns + 999'999) / 1'000'000);
      return true;
    }
    if (!route_.answers.empty()) {
      drop_late_reply(f);
    } else {
      fail_one(f, "not bridged: its deadline passed " + std::to_string(-left_ns / 1'000'000) +
                      " ms before it could be published (again)");
    }
    return false;
  }

  size_t count(Fate fate) const {
    size_t n = 0;
    for (const InFlight& f : window_) n += f.fate == fate ? 1 : 0;
    return n;
  }

  // A drop claim's lease is extended while its message waits for the
  // broker; looked at every 200 ms.
  void keep_leases() {
    const int64_t now = mono_now_ns();
    if (window_.empty() || now - kept_at_ns_ < 200'000'000) return;
    kept_at_ns_ = now;
    std::vector<Taken*> t;
    t.reserve(window_.size());
    for (InFlight& f : window_) t.push_back(&f.taken);
    source_->keep(t);
  }

  void poll(std::chrono::milliseconds wait) {
    if (!session_) return;
    for (;;) {
      auto ev = session_->poll(wait);
      if (!ev) {
        lost_session();
        return;
      }
      if (ev->kind == AmqpEvent::Kind::none) return;
      handle(*ev);
      wait = std::chrono::milliseconds(0);  // then drain what has arrived
    }
  }

  void handle(const AmqpEvent& ev) {
    using K = AmqpEvent::Kind;
    switch (ev.kind) {
      case K::ack:
      case K::nack:
        for (InFlight& f : window_) {
          if (f.fate != Fate::sent || !(f.tag == ev.tag || (ev.multiple && f.tag < ev.tag))) continue;
          ctx_.stats.in_flight.fetch_sub(1, std::memory_order_relaxed);
          if (ev.kind == K::nack) {
            ctx_.stats.add(ctx_.stats.nacked);
            fail_one(f, "the broker refused it (basic.nack) on exchange " + route_.exchange);
          } else if (f.returned) {
            f.fate = Fate::failed;  // reason set by the return
          } else {
            f.fate = Fate::confirmed;
          }
        }
        break;
      case K::returned:
        for (InFlight& f : window_) {
          if (f.fate == Fate::sent && !f.returned && f.wire.message_id == ev.message.message_id) {
            f.returned = true;
            f.reason = "unroutable: the broker returned it (" + std::to_string(ev.code) + " " + ev.text +
                       ") from exchange '" + ev.exchange + "' with routing key '" + ev.routing_key + "'";
            ctx_.stats.add(ctx_.stats.returned);
            break;
          }
        }
        break;
      case K::blocked:
        blocked_ = true;
        ctx_.set_state(RouteState::blocked);
        ctx_.error("the broker blocked publishing (connection.blocked: " + ev.text + "); waiting");
        break;
      case K::unblocked:
        blocked_ = false;
        ctx_.set_state(RouteState::running);
        ctx_.log("the broker unblocked publishing");
        break;
      default: break;
    }
  }

  bool lost_session() {
    if (session_) ctx_.error("lost the broker: " + last_error_detail());
    session_.reset();
    for (InFlight& f : window_) {
      if (f.fate != Fate::sent) continue;
      ctx_.stats.in_flight.fetch_sub(1, std::memory_order_relaxed);
      f.fate = Fate::unsent;  // published again after reconnecting
      f.returned = false;
      f.reason.clear();
    }
    first_unsent_ = 0;
    return false;
  }

  // Settles the window's settled prefix: the confirmed, the late replies
  // dropped, and the failed once their dead letters are stored — in the
  // order they were taken (a ring gives back its oldest held cells). A
  // dead letter that cannot be stored stops it there: what follows stays
  // held, and the store is tried again after a backoff.
  void settle_prefix() {
    size_t n = 0;
    uint64_t confirmed = 0;
    for (; n < window_.size(); ++n) {
      InFlight& f = window_[n];
      if (f.fate == Fate::confirmed) {
        ++confirmed;
        continue;
      }
      if (f.fate == Fate::dropped) continue;
      if (f.fate != Fate::failed) break;
      if (f.stored) continue;
      if (auto ec = source_->dead_letter(f.taken, f.reason)) {
        store_delay_ = backoff_store_.next();
        ctx_.error("a dead letter could not be stored (" + last_error_detail() + "): " + f.reason +
                   "; it and what follows stay held, again in " + std::to_string(store_delay_.count() / 1000) + " s");
        store_failed_ = true;
        break;
      }
      f.stored = true;
      ctx_.stats.add(ctx_.stats.dead_lettered);
      ctx_.log("dead letter from " + route_.from.describe() + ": " + f.reason);
    }
    if (n > 0) {
      std::vector<Taken> taken;
      taken.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        window_bytes_ -= window_.front().taken.bytes.size();
        taken.push_back(std::move(window_.front().taken));  // spans stay valid: buffers move
        window_.pop_front();
      }
      first_unsent_ -= std::min(first_unsent_, n);
      if (auto ec = source_->settle(taken)) ctx_.error("settling with " + route_.from.describe() + ": " + last_error_detail());
      if (confirmed > 0) {
        ctx_.stats.add(ctx_.stats.bridged, confirmed);
        ctx_.progress();
      }
      backoff_source_.reset();  // the source works
    }
    if (store_failed_) {
      store_failed_ = false;
      wait_serving(store_delay_);
    } else if (n > 0) {
      backoff_store_.reset();
    }
  }

  // wait(), while servicing the connection (heartbeats) and the leases.
  void wait_serving(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end && !ctx_.stop.requested()) {
      ctx_.loop();
      keep_leases();
      if (session_) {
        poll(std::chrono::milliseconds(200));
      } else {
        ctx_.stop.wait_for(std::chrono::milliseconds(200));
      }
    }
  }

  // Stopping (SIGTERM): what is published gets up to 10 s for its
  // confirms and is settled as far as they go; the rest is left held (a
  // ring or a claim gives it again to the next run).
  void finish() {
    const int64_t stop_by = mono_now_ns() + 10'000'000'000;
    while (session_ && !session_->broken() && count(Fate::sent) > 0 && mono_now_ns() < stop_by) {
      ctx_.loop();
      poll(std::chrono::milliseconds(100));
    }
    if (source_) settle_prefix();
    if (!window_.empty()) {
      ctx_.stats.in_flight.fetch_sub(count(Fate::sent), std::memory_order_relaxed);
      ctx_.log(std::to_string(window_.size()) + " messages unconfirmed at stop: " +
               (source_ && !source_->holds() ? "lost (a broadcast subscription holds nothing for redelivery)"
                                             : "left for redelivery"));
    }
    window_.clear();
    source_.reset();
    session_.reset();
    ctx_.set_state(RouteState::stopped);
  }

  const OutRoute& route_;
  RouteContext ctx_;
  std::unique_ptr<OutboundSource> source_;
  std::optional<AmqpSession> session_;
  std::deque<InFlight> window_;  // in the order taken: published, unconfirmed, settled from the front
  size_t window_bytes_ = 0;
  size_t first_unsent_ = 0;       // window_[..first_unsent_) holds no unsent message
  uint64_t publishes_ = 0;
  int64_t kept_at_ns_ = 0;
  bool store_failed_ = false;
  std::chrono::milliseconds store_delay_{0};
  Backoff backoff_;
  Backoff backoff_source_;
  Backoff backoff_store_;
  bool source_failed_ = false;
  bool ever_connected_ = false;
  bool blocked_ = false;
  uint64_t id_base_ = 0;
  uint64_t ids_ = 0;
};

}  // namespace

void run_outbound(const OutRoute& route, RouteContext ctx) { Outbound(route, std::move(ctx)).run(); }

}  // namespace ringdrop::bridge

#include "outbound_route.hpp"

#include <charconv>
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
      if (blocked_) {
        poll(std::chrono::milliseconds(200));
        continue;
      }
      if (batch_.empty()) fill_batch();
      if (batch_.empty()) {
        // 1 ms, not 0: rabbitmq-c checks the broker's heartbeat only when
        // a read may wait, and an idle route must notice a dead broker.
        poll(std::chrono::milliseconds(1));
        if (source_failed_) reopen_source_later();
        continue;
      }
      publish_batch();
      if (await_confirms() && settle_batch()) {
        if (source_failed_) reopen_source_later();  // the batch is settled: the source can go
      }
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
    ctx_.set_state(ever_connected_ ? RouteState::reconnecting : RouteState::connecting);
    auto s = AmqpSession::connect(ctx_.config.broker);
    std::error_code ec = s.error();
    if (s) {
      ec = s->confirm_select();
      // The default exchange ("", a reply route's) exists and cannot be declared.
      if (!ec && !route_.exchange.empty()) ec = s->declare_exchange(route_.exchange, route_.exchange_type);
    }
    if (ec) {
      const auto delay = backoff_.next();
      ctx_.error(ctx_.config.broker.describe() + ": " + last_error_detail() + "; again in " +
                 std::to_string(delay.count() / 1000) + " s");
      wait(delay);
      return false;
    }
    session_.emplace(std::move(*s));
    backoff_.reset();
    if (ever_connected_) ctx_.stats.add(ctx_.stats.reconnects);
    ever_connected_ = true;
    blocked_ = false;
    ctx_.set_state(RouteState::running);
    ctx_.log("connected to " + ctx_.config.broker.describe() + ", publishing to " +
             (!route_.answers.empty() ? "the requesters' reply queues" : "exchange " + route_.exchange));
    return true;
  }

  // A batch: at most `window` messages and about kBatchBytes, so that a
  // broker that stops reading (an alarm) cannot make a publish block on a
  // full socket for long.
  static constexpr size_t kBatchBytes = 256 * 1024;

  void fill_batch() {
    size_t bytes = 0;
    while (batch_.size() < ctx_.config.window && bytes < kBatchBytes) {
      const auto wait = batch_.empty() ? std::chrono::milliseconds(100) : std::chrono::milliseconds(0);
      auto t = source_->take(wait);
      if (!t) {
        if (t.error() != errc::timed_out) {
          // The messages taken so far stay held (their spans in the ring's
          // mapping) until they are settled; the source goes after that.
          ctx_.error("taking from " + route_.from.describe() + ": " + last_error_detail());
          source_failed_ = true;
        }
        return;
      }
      InFlight f;
      f.taken = std::move(*t);
      bytes += f.taken.bytes.size();
      map(f);
      batch_.push_back(std::move(f));
    }
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
        f.deadline_mono_ns = c.now_mono_ns + static_cast<int64_t>(std::stoll(f.wire.expiration)) * 1'000'000;
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

  void publish_batch() {
    size_t n = 0;
    for (InFlight& f : batch_) {
      if (f.fate != Fate::unsent) continue;
      // Read what came every few messages: connection.blocked stops the
      // rest of the batch (published when the alarm ends).
      if (++n % 16 == 0) poll(std::chrono::milliseconds(0));
      if (!session_ || blocked_) return;
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

  size_t unconfirmed() const {
    size_t n = 0;
    for (const InFlight& f : batch_) n += f.fate == Fate::sent || f.fate == Fate::unsent ? 1 : 0;
    return n;
  }
  size_t count(Fate fate) const {
    size_t n = 0;
    for (const InFlight& f : batch_) n += f.fate == fate ? 1 : 0;
    return n;
  }

  // Reads frames until every message of the batch is confirmed or failed.
  // false: the session broke (the batch is published again after
  // reconnecting) or the bridge is stopping and the broker did not answer.
  bool await_confirms() {
    int64_t stop_by = 0;
    while (unconfirmed() > 0) {
      if (!session_ || session_->broken()) return lost_session();
      if (ctx_.stop.requested()) {
        if (stop_by == 0) stop_by = mono_now_ns() + 10'000'000'000;  // 10 s to finish the confirms
        if (mono_now_ns() > stop_by) return false;
      }
      ctx_.loop();
      source_->keep(batch_taken());
      poll(std::chrono::milliseconds(100));
      if (session_ && !blocked_) publish_batch();  // what an alarm held back
    }
    return true;
  }

  std::vector<Taken*> batch_taken() {
    std::vector<Taken*> t;
    for (InFlight& f : batch_) t.push_back(&f.taken);
    return t;
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
        for (InFlight& f : batch_) {
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
        for (InFlight& f : batch_) {
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
    for (InFlight& f : batch_) {
      if (f.fate != Fate::sent) continue;
      ctx_.stats.in_flight.fetch_sub(1, std::memory_order_relaxed);
      f.fate = Fate::unsent;  // published again after reconnecting
      f.returned = false;
      f.reason.clear();
    }
    return false;
  }

  // false if a dead letter could not be stored: the batch stays held
  // (nothing of it is released) and the store is tried again later.
  bool settle_batch() {
    uint64_t confirmed = 0;
    for (InFlight& f : batch_) {
      if (f.fate == Fate::confirmed) {
        ++confirmed;
        continue;
      }
      if (f.fate == Fate::dropped) continue;
      if (f.stored) continue;
      if (auto ec = source_->dead_letter(f.taken, f.reason)) {
        const auto delay = backoff_store_.next();
        ctx_.error("a dead letter could not be stored (" + last_error_detail() + "): " + f.reason +
                   "; the batch stays held, again in " + std::to_string(delay.count() / 1000) + " s");
        wait_serving(delay);
        return false;
      }
      f.stored = true;
      ctx_.stats.add(ctx_.stats.dead_lettered);
      ctx_.log("dead letter from " + route_.from.describe() + ": " + f.reason);
    }
    backoff_store_.reset();
    std::vector<Taken> taken;
    taken.reserve(batch_.size());
    for (InFlight& f : batch_) taken.push_back(std::move(f.taken));  // spans stay valid: buffers move
    batch_.clear();
    if (auto ec = source_->settle(taken)) {
      ctx_.error("settling with " + route_.from.describe() + ": " + last_error_detail());
    }
    ctx_.stats.add(ctx_.stats.bridged, confirmed);
    ctx_.progress();
    backoff_source_.reset();  // the source works
    return true;
  }

  // wait(), while servicing the connection (heartbeats) and the leases.
  void wait_serving(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end && !ctx_.stop.requested()) {
      ctx_.loop();
      source_->keep(batch_taken());
      if (session_) {
        poll(std::chrono::milliseconds(200));
      } else {
        ctx_.stop.wait_for(std::chrono::milliseconds(200));
      }
    }
  }

  void finish() {
    if (!batch_.empty()) {
      ctx_.stats.in_flight.fetch_sub(count(Fate::sent), std::memory_order_relaxed);
      ctx_.log(std::to_string(batch_.size()) + " messages unconfirmed at stop: " +
               (source_ && !source_->holds() ? "lost (a broadcast subscription holds nothing for redelivery)"
                                             : "left for redelivery"));
    }
    batch_.clear();
    source_.reset();
    session_.reset();
    ctx_.set_state(RouteState::stopped);
  }

  const OutRoute& route_;
  RouteContext ctx_;
  std::unique_ptr<OutboundSource> source_;
  std::optional<AmqpSession> session_;
  std::vector<InFlight> batch_;
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

#include "inbound_route.hpp"

#include <charconv>
#include <deque>
#include <optional>

#include "amqp_session.hpp"
#include "dedupe_table.hpp"
#include "envelope_mapping.hpp"
#include "inbound_target.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/reply_queue.hpp"

namespace ringdrop::bridge {

namespace {

enum class Outcome { done, later, broken };

struct Delivery {
  uint64_t tag = 0;
  WireMessage message;
};

class Inbound {
 public:
  Inbound(const InRoute& route, RouteContext ctx) : route_(route), ctx_(std::move(ctx)) {}

  void run() {
    ctx_.set_state(RouteState::starting);
    while (!ctx_.stop.requested()) {
      ctx_.loop();
      if (!target_ && !open_target()) continue;
      if (!session_ && !connect()) continue;
      poll(pending_.empty() ? std::chrono::milliseconds(200)
                            : full_ ? std::chrono::milliseconds(10) : std::chrono::milliseconds(0));
      deliver_pending();
      ack_done();
    }
    // What is delivered but not acknowledged, the broker requeues when the
    // connection closes; committed messages are acknowledged above.
    session_.reset();
    ctx_.set_state(RouteState::stopped);
  }

 private:
  bool open_target() {
    auto t = InboundTarget::open(route_);
    std::error_code ec = t.error();
    if (t && !dedupe_) {
      auto d = DedupeTable::open(ctx_.config.state_dir + "/" + route_.name + ".dedupe",
                                 DedupeOptions{ctx_.config.dedupe_window, ctx_.config.dedupe_capacity});
      if (d) dedupe_.emplace(std::move(*d));
      ec = d.error();
    }
    if (ec) {
      ctx_.error("cannot open " + route_.to.describe() + ": " + last_error_detail());
      ctx_.wait(backoff_.next());
      return false;
    }
    target_ = std::move(*t);
    return true;
  }

  bool connect() {
    auto s = connect_route(ctx_, backoff_, ever_connected_, [this](AmqpSession& session) { return subscribe(session); },
                           "consuming queue " + route_.queue);
    if (!s) return false;
    session_.emplace(std::move(*s));
    return true;
  }

  std::error_code subscribe(AmqpSession& s) {
    if (!route_.bind_exchange.empty()) {
      if (auto ec = s.declare_exchange(route_.bind_exchange, route_.exchange_type)) return ec;
    }
    if (auto ec = s.declare_queue(route_.queue, route_.bind_exchange, route_.binding_key)) return ec;
    if (auto ec = s.qos(target_->prefetch())) return ec;
    return s.consume(route_.queue);
  }

  void poll(std::chrono::milliseconds wait) {
    for (;;) {
      auto ev = session_->poll(wait);
      if (!ev) return lost_session();
      switch (ev->kind) {
        case AmqpEvent::Kind::none: return;
        case AmqpEvent::Kind::delivery:
          pending_.push_back(Delivery{ev->tag, std::move(ev->message)});
          ctx_.stats.add(ctx_.stats.in_flight);
          break;
        case AmqpEvent::Kind::cancelled:
          ctx_.error("the broker cancelled the consumer (queue " + route_.queue + " deleted?); declaring it again");
          if (subscribe(*session_)) return lost_session();
          break;
        default: break;
      }
      wait = std::chrono::milliseconds(0);
    }
  }

  void lost_session() {
    ctx_.error("lost the broker: " + last_error_detail());
    session_.reset();
    // Unacknowledged deliveries come again on the next connection.
    ctx_.stats.in_flight.fetch_sub(pending_.size(), std::memory_order_relaxed);
    pending_.clear();
    full_ = false;
    ack_to_ = acked_ = 0;  // delivery tags start again on the next channel
  }

  void deliver_pending() {
    full_ = false;
    while (session_ && !pending_.empty()) {
      Delivery& d = pending_.front();
      const Outcome o = take(d);
      if (o == Outcome::broken) return;  // the session is gone, and pending_ with it
      if (o == Outcome::later) {
        full_ = true;
        ctx_.set_state(RouteState::full);
        return;
      }
      ack_to_ = d.tag;
      pending_.pop_front();
      ctx_.stats.in_flight.fetch_sub(1, std::memory_order_relaxed);
    }
    if (session_) ctx_.set_state(RouteState::running);
  }

  // Handles one delivery: done (acknowledge it), later (the ring is full),
  // broken (a dead letter could not be stored: the session was dropped).
  Outcome take(const Delivery& d) {
    const WireMessage& m = d.message;
    if (const std::string* origin = m.header(wire_header::origin); origin && *origin == ctx_.config.name) {
      ctx_.stats.add(ctx_.stats.looped);
      return Outcome::done;
    }
    const std::string id = dedupe_id(m);
    const int64_t now = real_now_ns();
    if (!id.empty() && dedupe_->seen(id, now)) {
      ctx_.stats.add(ctx_.stats.deduplicated);
      return Outcome::done;
    }
    std::vector<std::byte> built;
    std::span<const std::byte> bytes = m.body;
    std::optional<uint64_t> request;  // a request whose reply goes back through the broker
    if (route_.format == Format::typed) {
      auto t = route_.replies && !m.reply_to.empty() ? request_to_typed(m, request) : wire_to_typed(m, mono_now_ns());
      if (!t) return set_aside(m, "from queue " + route_.queue + ", not a typed ringdrop message: " + last_error_detail());
      built = std::move(*t);
      bytes = built;
    }
    // Recorded as soon as it is in, before the ring wakes a consumer (a
    // wake often hands that consumer the CPU), with the table's pages made
    // writable first (no page fault in between): a bridge killed after the
    // commit has, almost always, recorded it, so its redelivery is dropped.
    if (!id.empty()) dedupe_->prepare(id);
    std::error_code ec = target_->deliver(m, bytes, [&] {
      if (!id.empty()) dedupe_->record(id, now);
    });
    if (ec && request) ctx_.replies->forget(*request);
    if (ec == errc::would_block || ec == errc::peer_gone) return Outcome::later;
    if (ec) return set_aside(m, "from queue " + route_.queue + ", not delivered to " + route_.to.describe() + ": " +
                                    last_error_detail());
    ctx_.stats.add(ctx_.stats.bridged);
    ctx_.progress();
    return Outcome::done;
  }

  // A request to answer through the broker: the server sees it with a local
  // id (ReplyBook::local_id: callers that chose the same id stay apart) and
  // one of this bridge's reply rings as its reply-to — the shared-queue one
  // when the caller waits on a shared reply queue, so the server answers as
  // to one. The book remembers, before the server can answer, where the
  // reply goes from there (reply_book.hpp).
  Result<std::vector<std::byte>> request_to_typed(const WireMessage& m, std::optional<uint64_t>& request) {
    const std::string* ring = m.header(wire_header::reply_to);
    const bool shared = ring && is_reply_queue(*ring);
    const uint64_t local = ReplyBook::local_id(m.reply_to, ring ? *ring : "", m.message_id);
    WireMessage here = m;
    here.message_id = std::to_string(local);
    here.reply_to = (shared ? route_.shared_reply_ring : route_.reply_ring).describe();
    auto t = wire_to_typed(here, mono_now_ns());
    if (!t) return t;
    ctx_.replies->put(local, ReplyAddress{m.reply_to, ring ? *ring : std::string(), m.message_id});
    request = local;
    return t;
  }

  // A message that cannot be delivered: a dead letter of the target, then
  // acknowledged. If even that fails, it stays unacknowledged (the broker
  // delivers it again after a reconnect): never silently dropped.
  Outcome set_aside(const WireMessage& m, std::string reason) {
    if (auto ec = target_->dead_letter(m, m.body, reason)) {
      ctx_.error("a dead letter could not be stored (" + last_error_detail() + "): " + reason);
      ack_done();  // what was committed before it is acknowledged, not delivered again
      lost_session();
      ctx_.wait(backoff_.next());
      return Outcome::broken;
    }
    ctx_.stats.add(ctx_.stats.dead_lettered);
    ctx_.log("dead letter: " + reason);
    return Outcome::done;
  }

  void ack_done() {
    if (!session_ || ack_to_ <= acked_) return;
    if (auto ec = session_->ack(ack_to_, true)) return lost_session();
    acked_ = ack_to_;
  }

  const InRoute& route_;
  RouteContext ctx_;
  std::unique_ptr<InboundTarget> target_;
  std::optional<DedupeTable> dedupe_;
  std::optional<AmqpSession> session_;
  std::deque<Delivery> pending_;
  Backoff backoff_;
  uint64_t ack_to_ = 0;
  uint64_t acked_ = 0;
  bool ever_connected_ = false;
  bool full_ = false;
};

}  // namespace

void run_inbound(const InRoute& route, RouteContext ctx) { Inbound(route, std::move(ctx)).run(); }

}  // namespace ringdrop::bridge

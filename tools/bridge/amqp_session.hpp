// amqp_session.hpp — one AMQP 0-9-1 connection with one channel, over
// rabbitmq-c (librabbitmq 0.11), in the terms the bridge needs.
//
// rabbitmq-c is not thread-safe: a session belongs to one thread. It has no
// helper that waits for publisher confirms, and it services heartbeats only
// inside its own calls; so the bridge's loop calls poll() regularly (well
// within the heartbeat) and reads every frame itself: basic.ack/nack (the
// confirms), basic.return (an unroutable mandatory message, which arrives
// before that message's ack), basic.deliver (a consumed message),
// connection.blocked/unblocked (a broker alarm) and basic.cancel (the
// queue was deleted under us).
//
// Errors. A broker that cannot be reached, a lost connection or a closed
// channel is errc::peer_gone (the session is then broken(): the caller makes
// a new one); the broker's refusals keep their meaning: 403 is
// permission_denied, 404 not_found, 406 invalid_argument. The detail
// (last_error_detail()) has the broker's own words.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ringdrop/result.hpp"
#include "wire_message.hpp"

namespace ringdrop::bridge {

struct BrokerAddress {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string vhost = "/";
  std::string user = "guest";
  std::string password = "guest";
  /// The heartbeat asked for; a connection silent for twice as long is dead.
  std::chrono::seconds heartbeat{10};
  /// For connecting and for each synchronous call (declare, consume...).
  std::chrono::milliseconds timeout{5000};

  std::string describe() const { return "amqp://" + host + ":" + std::to_string(port) + vhost; }
};

/// Something the broker said, as poll() read it.
struct AmqpEvent {
  enum class Kind {
    none,       ///< nothing within the timeout
    ack,        ///< confirm: `tag` (and all before it when `multiple`) is safe
    nack,       ///< the broker could not take `tag` (and before it when `multiple`)
    returned,   ///< a mandatory message could not be routed: `code`, `text`, `message`
    delivery,   ///< a consumed message: `tag`, `redelivered`, `message`
    blocked,    ///< connection.blocked: a memory or disk alarm; `text` says which
    unblocked,  ///< the alarm is over
    cancelled,  ///< the broker cancelled our consumer (its queue was deleted)
  };
  Kind kind = Kind::none;
  uint64_t tag = 0;
  bool multiple = false;
  bool redelivered = false;
  uint16_t code = 0;
  std::string text;
  std::string exchange;     ///< returned: where it was published
  std::string routing_key;  ///< returned: with which key
  WireMessage message;
};

enum class ExchangeType { direct, topic, fanout };
std::string_view to_string(ExchangeType t) noexcept;

class AmqpSession {
 public:
  /// Connects, logs in (asking for connection.blocked and consumer-cancel
  /// notifications) and opens channel 1. Errors: peer_gone (unreachable,
  /// refused, timed out), permission_denied (login refused).
  static Result<AmqpSession> connect(const BrokerAddress& address);

  /// Publisher confirms on this channel (confirm.select): every publish()
  /// is then answered by an ack or a nack, in poll().
  std::error_code confirm_select();
  /// Declares a durable exchange (created if missing; an existing one of
  /// another type or durability is invalid_argument: 406).
  std::error_code declare_exchange(std::string_view name, ExchangeType type);
  /// Declares a durable queue, and binds it to `exchange` with `key` unless
  /// `exchange` is empty.
  std::error_code declare_queue(std::string_view name, std::string_view exchange, std::string_view key);
  /// basic.qos: at most `prefetch` unacknowledged deliveries (0: no limit).
  std::error_code qos(uint16_t prefetch);
  /// basic.consume with manual acknowledgements.
  std::error_code consume(std::string_view queue);

  /// Whether `m` can be published here: its properties fit AMQP's short
  /// strings and its header frame fits frame_max. Errors: message_too_large
  /// (the headers), invalid_argument (a property over 255 bytes).
  std::error_code check(const WireMessage& m) const;
  /// basic.publish (mandatory, so an unroutable message comes back); returns
  /// the message's delivery tag for confirms (1, 2, ... on this channel).
  Result<uint64_t> publish(std::string_view exchange, std::string_view key, const WireMessage& m);
  /// basic.ack of delivery `tag` (and all before it when `multiple`).
  std::error_code ack(uint64_t tag, bool multiple);

  /// Reads what the broker sent, waiting up to `timeout` (0: only what has
  /// arrived). Also services heartbeats. Errors: peer_gone.
  Result<AmqpEvent> poll(std::chrono::milliseconds timeout);

  /// The largest frame the broker and we agreed on.
  uint32_t frame_max() const noexcept;
  /// Whether the connection or channel failed; the session is then useless.
  bool broken() const noexcept { return broken_; }

  AmqpSession(AmqpSession&&) noexcept;
  AmqpSession& operator=(AmqpSession&&) noexcept;
  ~AmqpSession();

 private:
  struct State;
  explicit AmqpSession(std::unique_ptr<State> s) noexcept;
  std::error_code broke(std::error_code ec) noexcept;
  std::unique_ptr<State> s_;
  uint64_t next_tag_ = 0;
  bool broken_ = false;
};

}  // namespace ringdrop::bridge

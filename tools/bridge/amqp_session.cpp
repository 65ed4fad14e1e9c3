#include "amqp_session.hpp"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <cstring>
#include <vector>

#include "ringdrop/error.hpp"

namespace ringdrop::bridge {

using detail::fail;
using detail::from_errno;

namespace {

constexpr amqp_channel_t kChannel = 1;

amqp_bytes_t bytes(std::string_view s) noexcept {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string text(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

// basic.ack and basic.nack carry the same two fields we read.
template <class Method>
void confirm(AmqpEvent& ev, AmqpEvent::Kind kind, const Method& m) {
  ev.kind = kind;
  ev.tag = m.delivery_tag;
  ev.multiple = m.multiple != 0;
}

timeval to_timeval(std::chrono::milliseconds ms) noexcept {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// The broker's reply codes that keep a meaning of their own; the rest
// (320 connection-forced, 505 unexpected-frame, ...) end the session.
errc from_reply_code(uint16_t code) noexcept {
  switch (code) {
    case 403: return errc::permission_denied;
    case 404: return errc::not_found;
    case 406: return errc::invalid_argument;
    default: return errc::peer_gone;
  }
}

std::error_code from_status(int status, const std::string& doing) {
  return fail(errc::peer_gone, doing + ": " + amqp_error_string2(status));
}

std::error_code from_reply(const amqp_rpc_reply_t& r, const std::string& doing) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL: return {};
    case AMQP_RESPONSE_NONE: return fail(errc::peer_gone, doing + ": the broker did not answer");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return from_status(r.library_error, doing);
    case AMQP_RESPONSE_SERVER_EXCEPTION: break;
  }
  uint16_t code = 0;
  std::string why;
  if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
    code = m->reply_code;
    why = text(m->reply_text);
  } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
    code = m->reply_code;
    why = text(m->reply_text);
  }
  return fail(from_reply_code(code), doing + ": the broker said " + std::to_string(code) + " " + why);
}

// A header value as text: strings as they are, numbers and booleans in
// decimal, anything else (nested tables, arrays, decimals) left out.
bool field_text(const amqp_field_value_t& v, std::string& out) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES: out = text(v.value.bytes); return true;
    case AMQP_FIELD_KIND_BOOLEAN: out = v.value.boolean ? "true" : "false"; return true;
    case AMQP_FIELD_KIND_I8: out = std::to_string(v.value.i8); return true;
    case AMQP_FIELD_KIND_U8: out = std::to_string(v.value.u8); return true;
    case AMQP_FIELD_KIND_I16: out = std::to_string(v.value.i16); return true;
    case AMQP_FIELD_KIND_U16: out = std::to_string(v.value.u16); return true;
    case AMQP_FIELD_KIND_I32: out = std::to_string(v.value.i32); return true;
    case AMQP_FIELD_KIND_U32: out = std::to_string(v.value.u32); return true;
    case AMQP_FIELD_KIND_I64: out = std::to_string(v.value.i64); return true;
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP: out = std::to_string(v.value.u64); return true;
    default: return false;
  }
}

WireMessage from_amqp(const amqp_message_t& m) {
  const amqp_basic_properties_t& p = m.properties;
  WireMessage w;
  auto has = [&](amqp_flags_t f) { return (p._flags & f) != 0; };
  if (has(AMQP_BASIC_CONTENT_TYPE_FLAG)) w.content_type = text(p.content_type);
  if (has(AMQP_BASIC_MESSAGE_ID_FLAG)) w.message_id = text(p.message_id);
  if (has(AMQP_BASIC_CORRELATION_ID_FLAG)) w.correlation_id = text(p.correlation_id);
  if (has(AMQP_BASIC_REPLY_TO_FLAG)) w.reply_to = text(p.reply_to);
  if (has(AMQP_BASIC_TYPE_FLAG)) w.type = text(p.type);
  if (has(AMQP_BASIC_TIMESTAMP_FLAG)) w.timestamp_s = p.timestamp;
  if (has(AMQP_BASIC_EXPIRATION_FLAG)) w.expiration = text(p.expiration);
  w.persistent = has(AMQP_BASIC_DELIVERY_MODE_FLAG) && p.delivery_mode == 2;
  if (has(AMQP_BASIC_HEADERS_FLAG)) {
    for (int i = 0; i < p.headers.num_entries; ++i) {
      const amqp_table_entry_t& e = p.headers.entries[i];
      std::string v;
      if (field_text(e.value, v)) w.headers.emplace_back(text(e.key), std::move(v));
    }
  }
  const auto* b = static_cast<const std::byte*>(m.body.bytes);
  w.body.assign(b, b + m.body.len);
  return w;
}

// The encoded size of a content header frame carrying `m`'s properties
// (AMQP 0-9-1 section 4.2.6: class, weight, body size, flags, then the
// properties present), with the frame's own 8 bytes.
size_t header_frame_size(const WireMessage& m) {
  size_t n = 8 + 2 + 2 + 8 + 2;
  auto shortstr = [&](const std::string& s) { n += s.empty() ? 0 : 1 + s.size(); };
  shortstr(m.content_type);
  shortstr(m.message_id);
  shortstr(m.correlation_id);
  shortstr(m.reply_to);
  shortstr(m.type);
  shortstr(m.expiration);
  n += 1;                                 // delivery-mode
  n += m.timestamp_s ? 8 : 0;
  n += 4;                                 // the table's length
  for (const auto& [k, v] : m.headers) n += 1 + k.size() + 1 + 4 + v.size();
  return n;
}

}  // namespace

std::string_view to_string(ExchangeType t) noexcept {
  switch (t) {
    case ExchangeType::direct: return "direct";
    case ExchangeType::topic: return "topic";
    case ExchangeType::fanout: return "fanout";
  }
  return "direct";
}

struct AmqpSession::State {
  amqp_connection_state_t conn = nullptr;
  std::string where;
  bool open = false;  // logged in with the channel open: close politely

  ~State() {
    if (open) {
      (void)amqp_channel_close(conn, kChannel, AMQP_REPLY_SUCCESS);
      (void)amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    }
    if (conn) amqp_destroy_connection(conn);
  }
};

AmqpSession::AmqpSession(std::unique_ptr<State> s) noexcept : s_(std::move(s)) {}
AmqpSession::AmqpSession(AmqpSession&&) noexcept = default;
AmqpSession& AmqpSession::operator=(AmqpSession&&) noexcept = default;
AmqpSession::~AmqpSession() = default;

std::error_code AmqpSession::broke(std::error_code ec) noexcept {
  if (ec == errc::peer_gone || ec == errc::not_found || ec == errc::permission_denied ||
      ec == errc::invalid_argument) {
    broken_ = true;  // the broker closes the channel (or the connection) on each of these
    s_->open = false;
  }
  return ec;
}

Result<AmqpSession> AmqpSession::connect(const BrokerAddress& a) {
  auto s = std::make_unique<State>();
  s->where = a.describe();
  s->conn = amqp_new_connection();
  if (!s->conn) return fail(std::make_error_code(std::errc::not_enough_memory), "amqp_new_connection");
  amqp_socket_t* socket = amqp_tcp_socket_new(s->conn);  // owned by the connection
  if (!socket) return fail(std::make_error_code(std::errc::not_enough_memory), "amqp_tcp_socket_new");
  timeval tv = to_timeval(a.timeout);
  if (int st = amqp_socket_open_noblock(socket, a.host.c_str(), a.port, &tv); st != AMQP_STATUS_OK) {
    return from_status(st, "connecting to " + s->where);
  }
  (void)amqp_set_handshake_timeout(s->conn, &tv);
  (void)amqp_set_rpc_timeout(s->conn, &tv);

  // Ask for connection.blocked (alarms) and basic.cancel (a deleted queue):
  // rabbitmq-c merges these capabilities into its defaults.
  amqp_table_entry_t caps[2];
  caps[0].key = bytes("connection.blocked");
  caps[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  caps[0].value.value.boolean = 1;
  caps[1].key = bytes("consumer_cancel_notify");
  caps[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  caps[1].value.value.boolean = 1;
  amqp_table_entry_t props[2];
  props[0].key = bytes("capabilities");
  props[0].value.kind = AMQP_FIELD_KIND_TABLE;
  props[0].value.value.table = amqp_table_t{2, caps};
  props[1].key = bytes("product");
  props[1].value.kind = AMQP_FIELD_KIND_UTF8;
  props[1].value.value.bytes = bytes("ringdrop-bridge");
  const amqp_table_t client{2, props};
  const auto heartbeat = static_cast<int>(a.heartbeat.count());
  amqp_rpc_reply_t r = amqp_login_with_properties(s->conn, a.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat,
                                                  &client, AMQP_SASL_METHOD_PLAIN, a.user.c_str(),
                                                  a.password.c_str());
  if (auto ec = from_reply(r, "logging in to " + s->where + " as " + a.user)) {
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_SOCKET_CLOSED) {
      return fail(errc::permission_denied, last_error_detail() + " (a refused login closes the socket)");
    }
    return ec;
  }
  amqp_channel_open(s->conn, kChannel);
  if (auto ec = from_reply(amqp_get_rpc_reply(s->conn), "opening a channel on " + s->where)) return ec;
  s->open = true;
  return AmqpSession(std::move(s));
}

std::error_code AmqpSession::confirm_select() {
  amqp_confirm_select(s_->conn, kChannel);
  return broke(from_reply(amqp_get_rpc_reply(s_->conn), "confirm.select on " + s_->where));
}

std::error_code AmqpSession::declare_exchange(std::string_view name, ExchangeType type) {
  amqp_exchange_declare(s_->conn, kChannel, bytes(name), bytes(to_string(type)), 0, 1, 0, 0, amqp_empty_table);
  return broke(from_reply(amqp_get_rpc_reply(s_->conn), "declaring exchange " + std::string(name)));
}

std::error_code AmqpSession::declare_queue(std::string_view name, std::string_view exchange, std::string_view key) {
  amqp_queue_declare(s_->conn, kChannel, bytes(name), 0, 1, 0, 0, amqp_empty_table);
  if (auto ec = from_reply(amqp_get_rpc_reply(s_->conn), "declaring queue " + std::string(name))) return broke(ec);
  if (exchange.empty()) return {};
  amqp_queue_bind(s_->conn, kChannel, bytes(name), bytes(exchange), bytes(key), amqp_empty_table);
  return broke(from_reply(amqp_get_rpc_reply(s_->conn),
                          "binding queue " + std::string(name) + " to " + std::string(exchange)));
}

std::error_code AmqpSession::qos(uint16_t prefetch) {
  amqp_basic_qos(s_->conn, kChannel, 0, prefetch, 0);
  return broke(from_reply(amqp_get_rpc_reply(s_->conn), "basic.qos"));
}

std::error_code AmqpSession::consume(std::string_view queue) {
  amqp_basic_consume(s_->conn, kChannel, bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  return broke(from_reply(amqp_get_rpc_reply(s_->conn), "consuming from queue " + std::string(queue)));
}

uint32_t AmqpSession::frame_max() const noexcept { return static_cast<uint32_t>(amqp_get_frame_max(s_->conn)); }

std::error_code AmqpSession::check(const WireMessage& m) const {
  for (const std::string* p : {&m.content_type, &m.message_id, &m.correlation_id, &m.reply_to, &m.type, &m.expiration}) {
    if (p->size() > 255) {
      return fail(errc::invalid_argument, "a property of " + std::to_string(p->size()) +
                                              " bytes (AMQP's short strings hold 255): " + p->substr(0, 40) + "...");
    }
  }
  for (const auto& h : m.headers) {
    if (h.first.size() > 128) return fail(errc::invalid_argument, "a header name over 128 bytes: " + h.first.substr(0, 40));
  }
  const size_t need = header_frame_size(m);
  if (need > frame_max()) {
    return fail(errc::message_too_large, "its headers make a " + std::to_string(need) +
                                             "-byte header frame; the broker's frame_max is " +
                                             std::to_string(frame_max()));
  }
  return {};
}

Result<uint64_t> AmqpSession::publish(std::string_view exchange, std::string_view key, const WireMessage& m) {
  if (auto ec = check(m)) return ec;
  amqp_basic_properties_t p{};
  auto set = [&](amqp_flags_t flag, amqp_bytes_t& field, const std::string& v) {
    if (v.empty()) return;
    p._flags |= flag;
    field = bytes(v);
  };
  set(AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type, m.content_type);
  set(AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id, m.message_id);
  set(AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id, m.correlation_id);
  set(AMQP_BASIC_REPLY_TO_FLAG, p.reply_to, m.reply_to);
  set(AMQP_BASIC_TYPE_FLAG, p.type, m.type);
  set(AMQP_BASIC_EXPIRATION_FLAG, p.expiration, m.expiration);
  p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
  p.delivery_mode = m.persistent ? 2 : 1;
  if (m.timestamp_s) {
    p._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
    p.timestamp = *m.timestamp_s;
  }
  std::vector<amqp_table_entry_t> entries(m.headers.size());
  for (size_t i = 0; i < m.headers.size(); ++i) {
    entries[i].key = bytes(m.headers[i].first);
    entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[i].value.value.bytes = bytes(m.headers[i].second);
  }
  if (!entries.empty()) {
    p._flags |= AMQP_BASIC_HEADERS_FLAG;
    p.headers = amqp_table_t{static_cast<int>(entries.size()), entries.data()};
  }
  const amqp_bytes_t body{m.body.size(), const_cast<std::byte*>(m.body.data())};
  const int st = amqp_basic_publish(s_->conn, kChannel, bytes(exchange), bytes(key), /*mandatory=*/1,
                                    /*immediate=*/0, &p, body);
  if (st != AMQP_STATUS_OK) return broke(from_status(st, "publishing to " + s_->where));
  return ++next_tag_;
}

std::error_code AmqpSession::ack(uint64_t tag, bool multiple) {
  const int st = amqp_basic_ack(s_->conn, kChannel, tag, multiple ? 1 : 0);
  return st == AMQP_STATUS_OK ? std::error_code{} : broke(from_status(st, "basic.ack to " + s_->where));
}

Result<AmqpEvent> AmqpSession::poll(std::chrono::milliseconds timeout) {
  amqp_frame_t frame;
  timeval tv = to_timeval(timeout);
  const int st = amqp_simple_wait_frame_noblock(s_->conn, &frame, &tv);
  AmqpEvent ev;
  if (st == AMQP_STATUS_TIMEOUT) return ev;
  if (st != AMQP_STATUS_OK) return broke(from_status(st, "reading from " + s_->where));
  if (frame.frame_type != AMQP_FRAME_METHOD) return ev;  // a stray body frame: nothing to act on
  const amqp_method_t& method = frame.payload.method;
  auto read_body = [&]() -> std::error_code {
    amqp_message_t m;
    amqp_rpc_reply_t r = amqp_read_message(s_->conn, frame.channel, &m, 0);
    if (auto ec = from_reply(r, "reading a message from " + s_->where)) return broke(ec);
    ev.message = from_amqp(m);
    amqp_destroy_message(&m);
    return {};
  };
  switch (method.id) {
    case AMQP_BASIC_ACK_METHOD:
      confirm(ev, AmqpEvent::Kind::ack, *static_cast<amqp_basic_ack_t*>(method.decoded));
      break;
    case AMQP_BASIC_NACK_METHOD:
      confirm(ev, AmqpEvent::Kind::nack, *static_cast<amqp_basic_nack_t*>(method.decoded));
      break;
    case AMQP_BASIC_RETURN_METHOD: {
      auto* m = static_cast<amqp_basic_return_t*>(method.decoded);
      ev.kind = AmqpEvent::Kind::returned;
      ev.code = m->reply_code;
      ev.text = text(m->reply_text);
      ev.exchange = text(m->exchange);
      ev.routing_key = text(m->routing_key);
      if (auto ec = read_body()) return ec;
      break;
    }
    case AMQP_BASIC_DELIVER_METHOD: {
      auto* m = static_cast<amqp_basic_deliver_t*>(method.decoded);
      ev.kind = AmqpEvent::Kind::delivery;
      ev.tag = m->delivery_tag;
      ev.redelivered = m->redelivered != 0;
      if (auto ec = read_body()) return ec;
      break;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD: {
      ev.kind = AmqpEvent::Kind::blocked;
      ev.text = text(static_cast<amqp_connection_blocked_t*>(method.decoded)->reason);
      break;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD: ev.kind = AmqpEvent::Kind::unblocked; break;
    case AMQP_BASIC_CANCEL_METHOD: ev.kind = AmqpEvent::Kind::cancelled; break;
    case AMQP_CHANNEL_CLOSE_METHOD: {
      auto* m = static_cast<amqp_channel_close_t*>(method.decoded);
      const std::string why = std::to_string(m->reply_code) + " " + text(m->reply_text);
      const errc code = from_reply_code(m->reply_code);
      amqp_channel_close_ok_t ok{};
      (void)amqp_send_method(s_->conn, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      amqp_maybe_release_buffers(s_->conn);
      return broke(fail(code, "the broker closed the channel: " + why));
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      auto* m = static_cast<amqp_connection_close_t*>(method.decoded);
      const std::string why = std::to_string(m->reply_code) + " " + text(m->reply_text);
      amqp_connection_close_ok_t ok{};
      (void)amqp_send_method(s_->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      amqp_maybe_release_buffers(s_->conn);
      return broke(fail(errc::peer_gone, "the broker closed the connection: " + why));
    }
    default: break;
  }
  amqp_maybe_release_buffers(s_->conn);
  return ev;
}

}  // namespace ringdrop::bridge

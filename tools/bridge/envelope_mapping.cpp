#include "envelope_mapping.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <set>

#include "ringdrop/error.hpp"
#include "ringdrop/message.hpp"

namespace ringdrop::bridge {

using detail::fail;
using detail::from_errno;

namespace {

using Kind = schema::Envelope::Kind;

constexpr std::string_view kKindNames[] = {"notification", "request", "response", "event"};

std::string_view kind_name(Kind k) noexcept {
  const auto i = static_cast<size_t>(k);
  return i < std::size(kKindNames) ? kKindNames[i] : "notification";
}

// `out` changes only when all of `s` is the number.
template <class T>
bool parse_number(std::string_view s, T& out, int base = 10) noexcept {
  if (base == 16 && s.starts_with("0x")) s.remove_prefix(2);
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return false;
  out = v;
  return true;
}

std::string hex_type(uint64_t id) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(id));
  return buf;
}

// The headers the envelope's own fields travel in, and the bridge's: not
// copied back into the envelope's header list.
bool is_mapped_header(std::string_view key) noexcept {
  static const std::set<std::string_view> mapped{
      wire_header::schema_version, wire_header::attempt,    wire_header::kind,
      wire_header::idempotent,     wire_header::error_code, wire_header::error_message,
      wire_header::sent_at_ns,     wire_header::reply_to};
  return mapped.contains(key);
}

// Origin and hops: kept from an earlier bridge (the message came into
// ringdrop through one), or this bridge's with hop 1.
void add_route_headers(WireMessage& w, std::string_view origin, uint32_t hops, const OutboundContext& ctx) {
  w.headers.emplace_back(wire_header::origin, origin.empty() ? ctx.origin : std::string(origin));
  w.headers.emplace_back(wire_header::hops, std::to_string(hops + 1));
  if (!w.header(wire_header::source)) w.headers.emplace_back(wire_header::source, ctx.source);
}

}  // namespace

Result<WireMessage> typed_to_wire(std::span<const std::byte> message, const OutboundContext& ctx) {
  auto in = IncomingMessage::open(message);
  if (!in) return in.error();
  try {
    const schema::Envelope::Reader env = in->envelope();
    WireMessage w;
    w.content_type = kTypedContentType;
    w.message_id = std::to_string(env.getMessageId());
    if (env.getCorrelationId() != 0) w.correlation_id = std::to_string(env.getCorrelationId());
    w.reply_to = env.getReplyTo().cStr();
    w.type = hex_type(env.getTypeId());
    if (env.getSentAtNs() > 0) w.timestamp_s = static_cast<uint64_t>(env.getSentAtNs() / 1'000'000'000);
    if (env.getDeadlineNs() != 0) {
      const int64_t left_ns = env.getDeadlineNs() - ctx.now_mono_ns;
      if (left_ns <= 0) {
        return fail(errc::deadline_exceeded, "its deadline passed " + std::to_string(-left_ns / 1'000'000) +
                                                 " ms before it could be bridged");
      }
      w.expiration = std::to_string((left_ns + 999'999) / 1'000'000);  // rounded up: never 0
    }
    std::string origin;
    uint32_t hops = 0;
    for (auto h : env.getHeaders()) {
      const std::string_view key = h.getKey().cStr();
      if (key == wire_header::origin) {
        origin = h.getValue().cStr();
      } else if (key == wire_header::hops) {
        (void)parse_number(std::string_view(h.getValue().cStr()), hops);
      } else {
        w.headers.emplace_back(key, h.getValue().cStr());
      }
    }
    w.headers.emplace_back(wire_header::schema_version, std::to_string(env.getSchemaVersion()));
    w.headers.emplace_back(wire_header::attempt, std::to_string(env.getAttempt()));
    w.headers.emplace_back(wire_header::kind, kind_name(env.getKind()));
    if (env.getIdempotent()) w.headers.emplace_back(wire_header::idempotent, "true");
    if (env.hasError() && env.getError().getCode() != 0) {
      w.headers.emplace_back(wire_header::error_code, std::to_string(env.getError().getCode()));
      w.headers.emplace_back(wire_header::error_message, env.getError().getMessage().cStr());
    }
    w.headers.emplace_back(wire_header::sent_at_ns, std::to_string(env.getSentAtNs()));
    add_route_headers(w, origin, hops, ctx);

    capnp::MallocMessageBuilder payload;
    payload.getRoot<capnp::AnyPointer>().set(env.getPayload());
    auto flat = capnp::messageToFlatArray(payload);
    const auto b = flat.asBytes();
    w.body.resize(b.size());
    std::memcpy(w.body.data(), b.begin(), b.size());
    return w;
  } catch (const kj::Exception& e) {
    return detail::from_capnp(e, "mapping a typed message to AMQP");
  }
}

WireMessage raw_to_wire(std::span<const std::byte> bytes, const DropHeaders& headers, std::string_view id,
                        const OutboundContext& ctx) {
  WireMessage w;
  w.content_type = kRawContentType;
  w.message_id = id.empty() ? ctx.fresh_id : std::string(id);
  std::string origin;
  uint32_t hops = 0;
  int64_t sent_ns = ctx.now_real_ns;  // or, carried before, its first send time
  for (const auto& [k, v] : headers) {
    if (k == drop_header::content_type) {
      w.content_type = v;
    } else if (k == drop_header::correlation_id) {
      w.correlation_id = v;
    } else if (k == wire_header::origin) {
      origin = v;
    } else if (k == wire_header::hops) {
      (void)parse_number(std::string_view(v), hops);
    } else if (k == wire_header::sent_at_ns) {
      if (int64_t n = 0; parse_number(std::string_view(v), n) && n > 0) sent_ns = n;
    } else {
      w.headers.emplace_back(k, v);
    }
  }
  w.timestamp_s = static_cast<uint64_t>(sent_ns / 1'000'000'000);
  w.headers.emplace_back(wire_header::sent_at_ns, std::to_string(sent_ns));
  add_route_headers(w, origin, hops, ctx);
  w.body.assign(bytes.begin(), bytes.end());
  return w;
}

Result<std::vector<std::byte>> wire_to_typed(const WireMessage& m, int64_t now_mono_ns) {
  if (m.body.size() % sizeof(capnp::word) != 0 || m.body.empty()) {
    return fail(errc::bad_message, "the body (" + std::to_string(m.body.size()) +
                                       " bytes) is not a Cap'n Proto message: its size is not a multiple of 8");
  }
  uint64_t id = 0;
  uint64_t correlation = 0;
  uint64_t type = 0;
  if (!parse_number(m.message_id, id)) return fail(errc::bad_message, "message-id '" + m.message_id + "' is not a number");
  if (!m.correlation_id.empty() && !parse_number(m.correlation_id, correlation)) {
    return fail(errc::bad_message, "correlation-id '" + m.correlation_id + "' is not a number");
  }
  if (!parse_number(m.type, type, 16)) return fail(errc::bad_message, "type '" + m.type + "' is not a type id");
  try {
    auto words = kj::heapArray<capnp::word>(m.body.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), m.body.data(), m.body.size());
    capnp::ReaderOptions limits;
    limits.traversalLimitInWords = std::max<uint64_t>(words.size() * 8, 1 << 16);  // no amplification
    limits.nestingLimit = 32;
    capnp::FlatArrayMessageReader payload(words, limits);
    // Pointers that overlap read a small body as a large one: refused, as
    // IncomingMessage::open refuses them (the copy below would not overlap).
    if (const uint64_t read = payload.getRoot<capnp::AnyPointer>().targetSize().wordCount; read > words.size()) {
      return fail(errc::bad_message, "the body's pointers overlap: " + std::to_string(words.size()) +
                                         " words would read as " + std::to_string(read));
    }

    capnp::MallocMessageBuilder b;
    auto env = b.initRoot<schema::Envelope>();
    env.setMessageId(id);
    env.setCorrelationId(correlation);
    env.setReplyTo(m.reply_to);
    env.setTypeId(type);
    uint64_t expiration_ms = 0;
    if (!m.expiration.empty()) {
      if (!parse_number(m.expiration, expiration_ms)) return fail(errc::bad_message, "expiration '" + m.expiration + "'");
      // Saturated: an expiration too far for int64 ns is no deadline, not one in the past.
      const auto room_ms = static_cast<uint64_t>((std::numeric_limits<int64_t>::max() - now_mono_ns) / 1'000'000);
      env.setDeadlineNs(expiration_ms > room_ms ? std::numeric_limits<int64_t>::max()
                                                : now_mono_ns + static_cast<int64_t>(expiration_ms) * 1'000'000);
    }
    // AMQP's seconds, unless the exact ns came along; a timestamp past
    // 2262 (int64 ns) from a foreign publisher is taken as none.
    int64_t sent = m.timestamp_s && *m.timestamp_s < uint64_t{INT64_MAX} / 1'000'000'000
                       ? static_cast<int64_t>(*m.timestamp_s) * 1'000'000'000
                       : 0;
    env.setAttempt(1);  // a message from outside ringdrop is a first try
    size_t kept = 0;
    for (const auto& [k, v] : m.headers) {
      if (k == wire_header::sent_at_ns) {
        (void)parse_number(std::string_view(v), sent);
      } else if (k == wire_header::schema_version) {
        uint16_t n = 0;
        if (parse_number(std::string_view(v), n)) env.setSchemaVersion(n);
      } else if (k == wire_header::attempt) {
        uint16_t n = 1;
        if (parse_number(std::string_view(v), n)) env.setAttempt(n);
      } else if (k == wire_header::kind) {
        for (size_t i = 0; i < std::size(kKindNames); ++i) {
          if (v == kKindNames[i]) env.setKind(static_cast<Kind>(i));
        }
      } else if (k == wire_header::idempotent) {
        env.setIdempotent(v == "true");
      } else if (k == wire_header::error_code) {
        int32_t code = 0;
        if (parse_number(std::string_view(v), code)) env.initError().setCode(code);
      }
      kept += is_mapped_header(k) ? 0 : 1;
    }
    env.setSentAtNs(sent);
    if (const std::string* why = m.header(wire_header::error_message); why && env.hasError()) {
      env.getError().setMessage(*why);
    }
    auto list = env.initHeaders(static_cast<unsigned>(kept));
    unsigned i = 0;
    for (const auto& [k, v] : m.headers) {
      if (is_mapped_header(k)) continue;
      list[i].setKey(k);
      list[i].setValue(v);
      ++i;
    }
    env.getPayload().set(payload.getRoot<capnp::AnyPointer>());
    auto flat = capnp::messageToFlatArray(b);
    const auto bytes = flat.asBytes();
    std::vector<std::byte> out(reinterpret_cast<const std::byte*>(bytes.begin()),
                               reinterpret_cast<const std::byte*>(bytes.end()));
    // What a ring's readers will check (a payload that is not a struct, a
    // capability, lists of elements that take no space): refused here, so
    // it is set aside, not delivered unreadable.
    if (auto in = IncomingMessage::open(out); !in) return in.error();
    return out;
  } catch (const kj::Exception& e) {
    return detail::from_capnp(e, "rebuilding a typed message from AMQP");
  }
}

DropHeaders wire_to_drop_headers(const WireMessage& m) {
  DropHeaders h;
  for (const auto& kv : m.headers) h.insert(kv);
  if (!m.content_type.empty()) h[std::string(drop_header::content_type)] = m.content_type;
  if (!m.correlation_id.empty()) h[std::string(drop_header::correlation_id)] = m.correlation_id;
  if (!m.message_id.empty()) h[std::string(drop_header::idempotency_key)] = m.message_id;
  return h;
}

std::string dedupe_id(const WireMessage& m) {
  if (m.message_id.empty()) return {};
  const std::string* kind = m.header(wire_header::kind);
  const std::string* attempt = m.header(wire_header::attempt);
  if (kind && *kind == "request" && attempt && *attempt != "1") return m.message_id + "#" + *attempt;
  return m.message_id;
}

uint32_t hops_of(const WireMessage& m) {
  uint32_t n = 0;
  if (const std::string* v = m.header(wire_header::hops)) (void)parse_number(std::string_view(*v), n);
  return n;
}

}  // namespace ringdrop::bridge

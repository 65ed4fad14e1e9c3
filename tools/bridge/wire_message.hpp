// wire_message.hpp — a message as AMQP 0-9-1 carries it: the basic
// properties the bridge uses, and the body. The neutral form between
// ringdrop's messages (envelope_mapping.hpp) and rabbitmq-c's structs
// (amqp_session.cpp), so each side is tested without the other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringdrop::bridge {

/// Headers the bridge sets on everything it publishes (docs/bridge.md).
namespace wire_header {
/// The bridge that first took the message out of ringdrop: a message never
/// comes back into a ring through the bridge that carried it out.
inline constexpr std::string_view origin = "x-ringdrop-origin";
/// How many bridges have carried it (1 when first published).
inline constexpr std::string_view hops = "x-ringdrop-hops";
/// The exact send time, ns since the epoch (AMQP's timestamp has seconds).
inline constexpr std::string_view sent_at_ns = "x-ringdrop-sent-at-ns";
/// Where it came from: "shm:orders", "drop:/srv/drop/orders".
inline constexpr std::string_view source = "x-ringdrop-source";
/// On a request: its caller's reply ring on the caller's host (the AMQP
/// reply-to names the queue its reply comes back through); on the reply:
/// the ring it goes into there (reply_book.hpp).
inline constexpr std::string_view reply_to = "x-ringdrop-reply-to";
/// Envelope fields that have no AMQP property (envelope.capnp's table).
inline constexpr std::string_view schema_version = "x-schema-version";
inline constexpr std::string_view attempt = "x-attempt";
inline constexpr std::string_view kind = "x-kind";
inline constexpr std::string_view idempotent = "x-idempotent";
inline constexpr std::string_view error_code = "x-error-code";
inline constexpr std::string_view error_message = "x-error-message";
}  // namespace wire_header

/// Content types of the bodies the bridge publishes.
inline constexpr std::string_view kTypedContentType = "application/vnd.ringdrop.capnp";
inline constexpr std::string_view kRawContentType = "application/octet-stream";

struct WireMessage {
  std::string content_type;
  std::string message_id;
  std::string correlation_id;
  std::string reply_to;
  std::string type;
  std::optional<uint64_t> timestamp_s;  ///< seconds since the epoch
  std::string expiration;               ///< ms, as decimal text; "" none
  bool persistent = true;               ///< delivery-mode 2
  std::vector<std::pair<std::string, std::string>> headers;  ///< long strings
  std::vector<std::byte> body;

  /// The value of header `key`, or nullptr.
  const std::string* header(std::string_view key) const noexcept {
    for (const auto& [k, v] : headers) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

}  // namespace ringdrop::bridge

// envelope_mapping.hpp — ringdrop messages to AMQP messages and back.
//
// A typed message's envelope (lib/schemas/envelope.capnp) maps one to one
// onto AMQP's basic properties and headers; the table is in that schema and
// in docs/bridge.md. Its payload travels as the AMQP body, a Cap'n Proto
// message of its own (flat, one segment table), so a consumer of the queue
// that is not ringdrop reads it with its own Cap'n Proto. Coming back, the
// envelope is rebuilt from the properties: every field the sender set
// arrives, the deadline converted (an AMQP expiration is the time left in
// ms, so a deadline means the same on a host whose monotonic clock does
// not match this one's).
//
// Raw messages (bytes a ring or drop channel carries, with no envelope) get
// the content type application/octet-stream, or the one their drop headers
// name, and their drop headers as AMQP headers.
//
// Every message the bridge publishes also carries its origin (the bridge
// that first took it out of ringdrop), its hop count and its exact send
// time in headers (wire_message.hpp's wire_header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringdrop/drop_types.hpp"
#include "ringdrop/result.hpp"
#include "wire_message.hpp"

namespace ringdrop::bridge {

enum class Format { typed, raw };

/// What the outbound side knows besides the message.
struct OutboundContext {
  std::string origin;       ///< this bridge's name
  std::string source;       ///< "shm:orders", "drop:/srv/drop/orders"
  int64_t now_mono_ns = 0;  ///< CLOCK_MONOTONIC now (for deadlines)
  int64_t now_real_ns = 0;  ///< CLOCK_REALTIME now (raw messages' send time)
  std::string fresh_id;     ///< the message id for a message without one
};

/// A typed ring message as AMQP. Errors: bad_message (not a valid envelope),
/// deadline_exceeded (its deadline passed before it was bridged).
Result<WireMessage> typed_to_wire(std::span<const std::byte> message, const OutboundContext& ctx);

/// Raw bytes (with a drop message's headers, if any) as AMQP. A drop
/// message's own id (`id`, when not empty) is the message id; otherwise
/// ctx.fresh_id.
WireMessage raw_to_wire(std::span<const std::byte> bytes, const DropHeaders& headers, std::string_view id,
                        const OutboundContext& ctx);

/// The typed ring message an AMQP message carries, rebuilt: its flat bytes.
/// Errors: bad_message (the body is not a Cap'n Proto message, or a
/// property does not parse), with the reason.
Result<std::vector<std::byte>> wire_to_typed(const WireMessage& m, int64_t now_mono_ns);

/// The headers a drop channel keeps for a raw AMQP message: its AMQP
/// headers, content-type, correlation-id, and the message id as the
/// idempotency key (so the channel's consumers process a duplicate once).
DropHeaders wire_to_drop_headers(const WireMessage& m);

/// The id dedupe uses: the message id ("" for a message without one, from
/// a publisher outside ringdrop: it is not deduplicated). A request's retry
/// (x-attempt 2, 3...: a client retrying an idempotent call keeps its id)
/// is told from its first try, so it reaches the server, which answers it
/// from its memory; its redelivery is still a duplicate.
std::string dedupe_id(const WireMessage& m);

/// The hop count of a message (0 when it has none).
uint32_t hops_of(const WireMessage& m);

}  // namespace ringdrop::bridge

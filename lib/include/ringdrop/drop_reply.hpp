// ringdrop/drop_reply.hpp — request/response over the file-drop channel,
// for work that takes minutes or hours: a request is a dropped file whose
// header `reply-to` names the reply channel's directory, and its reply is
// dropped there.
//
//   // the caller (any instance of it; the reply channel is shared):
//   requests.publish(order, {{"reply-to", "/srv/orders/replies"}, {"correlation-id", "A-1001"}});
//   ...
//   auto claim = DropConsumer::open(replies).value().claim(1h);   // any instance
//   handle(claim->headers().at("correlation-id"), claim->read());
//   claim->ack();
//
//   // the service:
//   auto request = consumer.claim(1h).value();
//   auto answer = work(request.read().value());
//   drop_reply(request, answer).value();                           // then:
//   request.ack();
//
// A reply is published before its request is acked, so a service that dies
// between the two answers the request again when it is redelivered; the
// reply's idempotency key makes the reply channel's consumers take such a
// second reply as done, not process it twice.
#pragma once

#include <span>
#include <string>

#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"

namespace ringdrop {

namespace drop_header {
/// On a request: the reply channel's directory (an absolute path).
inline constexpr std::string_view reply_to = "reply-to";
/// On a reply: the id of the request it answers.
inline constexpr std::string_view request_id = "request-id";
}  // namespace drop_header

/// Publishes `payload` as the reply to `request` into the existing drop
/// channel its `reply-to` header names, with `headers` and:
///   correlation-id   the request's correlation-id header, else its id;
///   request-id       the request's id;
///   idempotency-key  "reply-<request id>" (unless `headers` sets one).
/// Returns the reply's id. Errors: invalid_argument (no reply-to header,
/// or not an absolute path; bad headers), not_found (no channel there:
/// none is created), and publish()'s (no_space, permission_denied...).
RINGDROP_API Result<std::string> drop_reply(const DropClaim& request, std::span<const std::byte> payload,
                                            DropHeaders headers = {});

}  // namespace ringdrop

// ringdrop/rpc.hpp — what request/response clients and servers share:
// a server's answer (Status), a reply the caller owns (Reply<T>), and the
// per-call options (deadline aside: every call takes one).
//
// The wire: a request is an Envelope of kind `request` whose replyTo names
// the caller's reply ring (or a shared reply queue: reply_queue.hpp) and
// whose messageId the response carries back as its correlationId (or the
// request's own correlationId, when it set one). A response whose `error.code` is not 0 failed:
//   code > 0  the handler's own error: the caller gets errc::remote_error,
//             the code and text in Client::last_remote_error();
//   code < 0  the server library's, a ringdrop errc negated: the caller gets
//             that errc (unknown_type: no handler for the request's type;
//             bad_message: the request did not parse).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "ringdrop/message.hpp"
#include "ringdrop/owned_message.hpp"

namespace ringdrop {

/// A handler's answer: ok, or an application error that travels back.
struct Status {
  int32_t code = 0;  ///< 0: ok; > 0: the application's own code
  std::string message;

  static Status ok() { return {}; }
  /// `code` must be > 0 (the negative range belongs to the library).
  static Status error(int32_t code, std::string message) { return {code, std::move(message)}; }
  bool is_ok() const noexcept { return code == 0; }
};

/// The code a server sends when a handler throws (an exception never
/// crosses the process boundary; its what() becomes the message).
inline constexpr int32_t kHandlerThrew = 0x7fffffff;

/// The server's own error from the last call that failed with remote_error.
struct RemoteError {
  int32_t code = 0;
  std::string message;
};

/// How often a blocking call of an idempotent request is tried, and how
/// long it waits between tries. A retry reuses the request's message id, so
/// a server that already ran it answers from its memory (dedupe) instead of
/// running it again. Only timed_out and peer_gone are retried: any answer,
/// even an error, is final.
struct RetryPolicy {
  uint32_t attempts = 1;  ///< tries in all; 1: no retry
  std::chrono::nanoseconds backoff = std::chrono::milliseconds(10);  ///< before the 2nd try
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(1);
  uint32_t multiplier = 2;  ///< backoff growth per try
};

struct CallOptions {
  /// The request may be retried (per the client's RetryPolicy) and is
  /// remembered by the server so a repeat is answered, not re-run.
  bool idempotent = false;
  /// How long one try waits for its answer before the next try (the last
  /// try waits until the call's deadline); 0: all the time left to the
  /// deadline (so no retry after a timeout, only after peer_gone).
  std::chrono::nanoseconds attempt_timeout{0};
  uint16_t schema_version = 0;
  std::span<const std::pair<std::string_view, std::string_view>> headers{};
};

/// A request whose reply goes to a shared reply queue (reply_queue.hpp),
/// sent with Client::send_request: nobody waits for it, any instance of the
/// calling service takes the reply.
struct RequestOptions {
  /// Travels back as the reply's correlation id (an order number, say);
  /// 0: the request's message id does.
  uint64_t correlation_id = 0;
  uint16_t schema_version = 0;
  std::span<const std::pair<std::string_view, std::string_view>> headers{};
};

/// Header names of request/response.
namespace rpc_header {
/// On a reply sent to a shared reply queue: the request's message id, in decimal.
inline constexpr std::string_view request_id = "request-id";
/// On a request: how long its reply may wait in a shared reply queue, in
/// milliseconds from the reply's sending (the reply's expiration).
inline constexpr std::string_view reply_ttl_ms = "reply-ttl-ms";
}  // namespace rpc_header

/// A typed reply: the response payload and its envelope.
template <class T>
class Reply {
 public:
  explicit Reply(OwnedMessage m) : m_(std::move(m)) {}
  typename T::Reader get() const { return m_.message().envelope().getPayload().template getAs<T>(); }
  typename T::Reader operator*() const { return get(); }
  const IncomingMessage& message() const noexcept { return m_.message(); }

 private:
  OwnedMessage m_;
};

}  // namespace ringdrop

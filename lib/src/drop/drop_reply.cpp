// A reply to a dropped request, dropped into its reply channel (see
// drop_reply.hpp).
#include "ringdrop/drop_reply.hpp"

namespace ringdrop {

Result<std::string> drop_reply(const DropClaim& request, std::span<const std::byte> payload, DropHeaders headers) {
  const auto to = request.headers().find(drop_header::reply_to);
  if (to == request.headers().end()) {
    return detail::fail(errc::invalid_argument, "request " + request.id() + " has no reply-to header");
  }
  if (to->second.empty() || to->second.front() != '/') {
    return detail::fail(errc::invalid_argument,
                        "request " + request.id() + ": reply-to \"" + to->second + "\" is not an absolute directory");
  }
  DropOptions o;
  o.create = false;  // a request never makes a directory appear
  auto channel = DropChannel::open(to->second, o);
  if (!channel) return channel.error();
  const auto corr = request.headers().find(drop_header::correlation_id);
  headers[std::string(drop_header::correlation_id)] = corr != request.headers().end() ? corr->second : request.id();
  headers[std::string(drop_header::request_id)] = request.id();
  headers.try_emplace(std::string(drop_header::idempotency_key), "reply-" + request.id());
  return channel->publish(payload, headers);
}

}  // namespace ringdrop

// bridge_config.hpp — what a bridge carries where: its broker, its routes,
// its state. Read from a JSON file (docs/bridge.md has the format) and/or
// built from ringdrop-bridge's flags.
//
// A route's ringdrop end is written as tools write places:
//   shm:<name>      an MPMC ring in /dev/shm
//   file:<path>     an MPMC ring in a file
//   drop:<dir>      a file-drop channel
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "amqp_session.hpp"
#include "envelope_mapping.hpp"
#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop::bridge {

/// A ringdrop end of a route.
struct Endpoint {
  /// reply_to: the replies of a route's requests (reply_book.hpp): each goes
  /// into the caller's reply ring its x-ringdrop-reply-to names; `dir` is
  /// the drop channel that keeps those that cannot be delivered.
  enum class Kind { ring, drop, reply_to };
  Kind kind = Kind::ring;
  Location ring = Location::shm("?");  ///< Kind::ring
  std::string dir;                     ///< Kind::drop, Kind::reply_to

  /// Parses "shm:<name>", "file:<path>" or "drop:<dir>"; invalid_argument otherwise.
  static Result<Endpoint> parse(std::string_view text);
  std::string describe() const;
};

/// ringdrop → broker: every message of `from` published to `exchange`.
struct OutRoute {
  std::string name;
  Endpoint from;
  Format format = Format::typed;
  std::string exchange;
  ExchangeType exchange_type = ExchangeType::topic;
  std::string routing_key;
  /// Requests (typed, with a reply-to) get this queue as their AMQP
  /// reply-to, and the bridge consumes it (its route "<name>.replies")
  /// into their callers' reply rings. "": replies do not come back.
  std::string reply_queue;
  /// Set on the reply routes of an inbound route with `replies` (its name):
  /// each message goes where that route's reply book says (the default
  /// exchange, the requester's reply queue), not to exchange/routing_key.
  std::string answers;
  /// Set: `from` (a ring) is a broadcast ring, read as one of its
  /// subscribers, joined at its newest or oldest retained message
  /// (outbound_source.hpp says what that guarantees). Unset: an MPMC ring,
  /// read as one of its competing consumers.
  std::optional<StartAt> subscribe = std::nullopt;
};

/// broker → ringdrop: every message of `queue` delivered into `to`.
struct InRoute {
  std::string name;
  std::string queue;
  std::string bind_exchange;  ///< "" : the queue is not bound by the bridge
  ExchangeType exchange_type = ExchangeType::topic;
  std::string binding_key;
  Endpoint to;
  Format format = Format::typed;
  uint32_t cell_size = 0;  ///< when the bridge creates the ring (0: the ring's default)
  uint64_t capacity = 0;   ///< likewise
  /// Requests that carry an AMQP reply-to are answered through the broker:
  /// their reply-to becomes one of this bridge's reply rings, whose replies
  /// its routes "<name>.replies" and "<name>.shared-replies" publish to
  /// each requester's queue.
  bool replies = false;
  /// Set by with_reply_routes(): the reply ring for callers waiting on a
  /// private reply ring, and the one for callers with a shared reply queue
  /// (named ringdrop.replies.*, so the server answers as to a shared queue:
  /// their correlation id, `request-id`, `reply-ttl-ms`).
  Location reply_ring = Location::shm("?");
  Location shared_reply_ring = Location::shm("?");
};

struct BridgeConfig {
  /// This bridge's name: its messages' origin (x-ringdrop-origin). Each
  /// bridge of a system needs its own. Default: the host name.
  std::string name;
  BrokerAddress broker;
  /// The dedupe table and the statistics live here (made if missing).
  std::string state_dir;
  std::chrono::seconds dedupe_window{600};
  uint32_t dedupe_capacity = 1u << 20;
  /// Messages an outbound route keeps published and unconfirmed at once.
  uint32_t window = 256;
  std::vector<OutRoute> out;
  std::vector<InRoute> in;

  /// invalid_argument with the reason: no routes, duplicate route names, a
  /// route missing its exchange or queue, no state_dir...
  std::error_code check() const;
};

/// `config` with the routes that carry replies back (reply_book.hpp): for
/// an outbound route with a reply_queue, the inbound route "<name>.replies"
/// from that queue to the callers' reply rings; for an inbound route with
/// `replies`, its reply rings "ringdrop.bridge.<bridge>.<route>" and
/// "ringdrop.replies.bridge.<bridge>.<route>" ('.', '/' and '%' of the
/// names escaped as %2E, %2F, %25) and the outbound routes "<name>.replies"
/// and "<name>.shared-replies" from them. Run by run_bridge().
BridgeConfig with_reply_routes(const BridgeConfig& config);

/// Adds a route written as a flag: the JSON keys of a route as
/// `key=value,key=value` ("from=shm:orders,exchange=orders,routing_key=new").
/// Errors: invalid_argument.
std::error_code add_route(BridgeConfig& config, std::string_view spec);

/// Parses "amqp://user:password@host:port/vhost" (all but the host
/// optional; the vhost %2F-decoded, "/" by default) into `address`.
/// Errors: invalid_argument.
std::error_code parse_broker_url(std::string_view url, BrokerAddress& address);

/// Reads a JSON configuration. Errors: not_found (no such file),
/// invalid_argument (not JSON, an unknown key, a wrong type: the detail
/// names the key).
Result<BridgeConfig> load_config(const std::string& path);
/// The same, from JSON text (`origin` names it in errors).
Result<BridgeConfig> parse_config(std::string_view json, const std::string& origin);

}  // namespace ringdrop::bridge

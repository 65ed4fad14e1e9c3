#include "bridge_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <type_traits>

#include "ringdrop/error.hpp"
#include "ringdrop/reply_queue.hpp"

namespace ringdrop::bridge {

using detail::fail;
using detail::from_errno;

using nlohmann::json;

Result<Endpoint> Endpoint::parse(std::string_view text) {
  Endpoint e;
  if (text.starts_with("drop:") && text.size() > 5) {
    e.kind = Kind::drop;
    e.dir = std::string(text.substr(5));
    return e;
  }
  if (auto loc = Location::parse(text)) {
    e.ring = *loc;
    return e;
  }
  return fail(errc::invalid_argument,
              "'" + std::string(text) + "' is not a ringdrop place: shm:<name>, file:<path> or drop:<dir>");
}

std::string Endpoint::describe() const {
  switch (kind) {
    case Kind::drop: return "drop:" + dir;
    case Kind::reply_to: return "the callers' reply rings";
    default: return ring.describe();
  }
}

namespace {

// A reader that knows where it is ("routes[2].exchange") and refuses keys
// it does not know, so a typo is an error, not a silently ignored setting.
class Object {
 public:
  Object(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) throw std::invalid_argument(where_ + " must be an object");
  }
  template <class T>
  T get(const char* key, T fallback) {
    known_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end()) return fallback;
    if constexpr (std::is_unsigned_v<T>) {
      if (it->is_number_integer() && !it->is_number_unsigned()) {
        throw std::invalid_argument(where_ + "." + key + " must not be negative");
      }
    }
    try {
      return it->get<T>();
    } catch (const json::exception&) {
      throw std::invalid_argument(where_ + "." + key + " has the wrong type (" + it->type_name() + ")");
    }
  }
  bool has(const char* key) const { return j_.contains(key); }
  void done() const {
    for (const auto& [k, v] : j_.items()) {
      if (!known_.contains(k)) throw std::invalid_argument(where_ + ": unknown key '" + k + "'");
    }
  }

 private:
  const json& j_;
  std::string where_;
  std::set<std::string, std::less<>> known_;
};

Format format_of(const std::string& s, const std::string& where) {
  if (s == "typed") return Format::typed;
  if (s == "raw") return Format::raw;
  throw std::invalid_argument(where + ".format must be \"typed\" or \"raw\", not \"" + s + "\"");
}

ExchangeType exchange_type_of(const std::string& s, const std::string& where) {
  if (s == "topic") return ExchangeType::topic;
  if (s == "direct") return ExchangeType::direct;
  if (s == "fanout") return ExchangeType::fanout;
  throw std::invalid_argument(where + ".exchange_type must be topic, direct or fanout, not \"" + s + "\"");
}

Endpoint endpoint_of(const std::string& s, const std::string& where) {
  auto e = Endpoint::parse(s);
  if (!e) throw std::invalid_argument(where + ": " + last_error_detail());
  return *e;
}

// "subscribe": only an outbound route's ring can be a broadcast ring; a
// drop channel has no subscribers, and an inbound route publishes.
std::optional<StartAt> subscribe_of(Object& o, const std::string& where, const Endpoint& from) {
  if (!o.has("subscribe")) return std::nullopt;
  const std::string s = o.get<std::string>("subscribe", "");
  if (from.kind == Endpoint::Kind::drop) {
    throw std::invalid_argument(where + ".subscribe: " + from.describe() +
                                " is a drop channel; only a broadcast ring (shm: or file:) is subscribed to");
  }
  if (s == "newest") return StartAt::newest;
  if (s == "oldest") return StartAt::oldest;
  throw std::invalid_argument(where + ".subscribe must be \"newest\" or \"oldest\", not \"" + s + "\"");
}

std::string read_password_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::invalid_argument("broker.password_file " + path + " cannot be read");
  std::string p;
  std::getline(f, p);
  return p;
}

void read_broker(const json& j, BrokerAddress& b) {
  Object o(j, "broker");
  b.host = o.get<std::string>("host", b.host);
  b.port = o.get<int>("port", b.port);
  b.vhost = o.get<std::string>("vhost", b.vhost);
  b.user = o.get<std::string>("user", b.user);
  b.password = o.get<std::string>("password", b.password);
  if (o.has("password_file")) b.password = read_password_file(o.get<std::string>("password_file", ""));
  b.heartbeat = std::chrono::seconds(o.get<int>("heartbeat", static_cast<int>(b.heartbeat.count())));
  b.timeout = std::chrono::milliseconds(o.get<int>("timeout_ms", static_cast<int>(b.timeout.count())));
  o.done();
}

void read_route(const json& j, size_t i, BridgeConfig& c) {
  const std::string where = "routes[" + std::to_string(i) + "]";
  Object o(j, where);
  const std::string name = o.get<std::string>("name", "route" + std::to_string(i));
  const Format format = format_of(o.get<std::string>("format", "typed"), where);
  const ExchangeType type = exchange_type_of(o.get<std::string>("exchange_type", "topic"), where);
  if (o.has("from")) {
    OutRoute r;
    r.name = name;
    r.from = endpoint_of(o.get<std::string>("from", ""), where + ".from");
    r.format = format;
    r.exchange = o.get<std::string>("exchange", "");
    r.exchange_type = type;
    r.routing_key = o.get<std::string>("routing_key", "");
    r.subscribe = subscribe_of(o, where, r.from);
    r.reply_queue = o.get<std::string>("reply_queue", "");
    c.out.push_back(std::move(r));
  } else if (o.has("to")) {
    if (o.has("subscribe")) {
      throw std::invalid_argument(where + ".subscribe: an inbound route (\"to\") publishes; only an outbound "
                                          "route (\"from\") subscribes to a broadcast ring");
    }
    InRoute r;
    r.name = name;
    r.format = format;
    r.exchange_type = type;
    r.queue = o.get<std::string>("queue", "");
    r.bind_exchange = o.get<std::string>("bind_exchange", "");
    r.binding_key = o.get<std::string>("binding_key", "#");
    r.to = endpoint_of(o.get<std::string>("to", ""), where + ".to");
    r.cell_size = o.get<uint32_t>("cell_size", 0);
    r.capacity = o.get<uint64_t>("capacity", 0);
    r.replies = o.get<bool>("replies", false);
    if (r.replies && (r.format != Format::typed || r.to.kind != Endpoint::Kind::ring)) {
      throw std::invalid_argument(where + ".replies: only a typed route into a ring carries requests");
    }
    c.in.push_back(std::move(r));
  } else {
    throw std::invalid_argument(where + " needs \"from\" (ringdrop to the broker) or \"to\" (the broker to ringdrop)");
  }
  o.done();
}

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

std::error_code BridgeConfig::check() const {
  auto bad = [](std::string why) { return fail(errc::invalid_argument, std::move(why)); };
  if (out.empty() && in.empty()) return bad("no routes: nothing to bridge");
  if (state_dir.empty()) return bad("no state_dir: where the dedupe table and statistics are kept");
  if (name.empty()) return bad("no name: the bridge's name marks the messages it carries");
  if (window == 0 || window > 65535) return bad("window must be 1 to 65535");
  std::set<std::string, std::less<>> names;
  for (const auto& r : out) {
    if (!names.insert(r.name).second) return bad("two routes are named " + r.name);
    if (r.exchange.empty()) return bad("route " + r.name + " has no exchange");
    if (!r.reply_queue.empty() && r.format != Format::typed) {
      return bad("route " + r.name + ": a reply_queue needs typed messages (requests)");
    }
  }
  for (const auto& r : in) {
    if (!names.insert(r.name).second) return bad("two routes are named " + r.name);
    if (r.queue.empty()) return bad("route " + r.name + " has no queue");
  }
  // The reply routes' names must be free too.
  auto reserve = [&](const std::string& route, const std::string& needed) {
    return names.insert(needed).second
               ? std::error_code{}
               : bad("route " + route + "'s replies need the name " + needed + ", which another route has");
  };
  for (const auto& r : out) {
    if (r.reply_queue.empty()) continue;
    if (auto ec = reserve(r.name, r.name + ".replies")) return ec;
  }
  for (const auto& r : in) {
    if (!r.replies) continue;
    if (auto ec = reserve(r.name, r.name + ".replies")) return ec;
    if (auto ec = reserve(r.name, r.name + ".shared-replies")) return ec;
  }
  return {};
}

Result<BridgeConfig> parse_config(std::string_view text, const std::string& origin) {
  BridgeConfig c;
  c.name = host_name();
  try {
    const json j = json::parse(text);
    Object o(j, origin);
    c.name = o.get<std::string>("name", c.name);
    if (o.has("broker")) read_broker(j.at("broker"), c.broker);
    o.get<json>("broker", {});
    c.state_dir = o.get<std::string>("state_dir", "");
    c.dedupe_window = std::chrono::seconds(o.get<int64_t>("dedupe_window", c.dedupe_window.count()));
    c.dedupe_capacity = o.get<uint32_t>("dedupe_capacity", c.dedupe_capacity);
    c.window = o.get<uint32_t>("window", c.window);
    const json routes = o.get<json>("routes", json::array());
    if (!routes.is_array()) throw std::invalid_argument(origin + ".routes must be an array");
    for (size_t i = 0; i < routes.size(); ++i) read_route(routes[i], i, c);
    o.done();
  } catch (const json::parse_error& e) {
    return fail(errc::invalid_argument, origin + " is not JSON: " + e.what());
  } catch (const std::invalid_argument& e) {
    return fail(errc::invalid_argument, origin + ": " + e.what());
  }
  return c;
}

namespace {

// A name as a part of a ring's name: '.' separates the parts, '/' is not
// allowed in shm names; both (and the escape) are escaped.
std::string ring_part(std::string_view name) {
  std::string out;
  for (const char c : name) {
    if (c == '.') {
      out += "%2E";
    } else if (c == '/') {
      out += "%2F";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
  return out;
}

OutRoute answers_from(const std::string& name, const Location& ring, const std::string& book) {
  OutRoute back;
  back.name = name;
  back.from.ring = ring;
  back.exchange = "";  // the default exchange: a queue by its name
  back.answers = book;
  return back;
}

}  // namespace

BridgeConfig with_reply_routes(const BridgeConfig& config) {
  BridgeConfig c = config;
  for (const OutRoute& r : config.out) {
    if (r.reply_queue.empty()) continue;
    InRoute back;
    back.name = r.name + ".replies";
    back.queue = r.reply_queue;
    back.to.kind = Endpoint::Kind::reply_to;
    back.to.dir = config.state_dir + "/" + back.name + ".undelivered";
    c.in.push_back(std::move(back));
  }
  for (InRoute& r : c.in) {
    if (!r.replies) continue;
    const std::string tail = "bridge." + ring_part(config.name) + "." + ring_part(r.name);
    r.reply_ring = Location::shm("ringdrop." + tail);
    r.shared_reply_ring = reply_queue_location(tail);
    c.out.push_back(answers_from(r.name + ".replies", r.reply_ring, r.name));
    c.out.push_back(answers_from(r.name + ".shared-replies", r.shared_reply_ring, r.name));
  }
  return c;
}

std::error_code add_route(BridgeConfig& c, std::string_view spec) {
  json route = json::object();
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    const std::string_view item = spec.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return fail(errc::invalid_argument, "route '" + std::string(spec) + "': '" + std::string(item) +
                                              "' is not key=value");
    }
    const std::string key(item.substr(0, eq));
    const std::string value(item.substr(eq + 1));
    if (key == "replies" && (value == "true" || value == "false")) {
      route[key] = value == "true";
    } else if (key == "cell_size" || key == "capacity") {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size()) {
        return fail(errc::invalid_argument, "route '" + std::string(spec) + "': " + key + " is not a number");
      }
      route[key] = n;
    } else {
      route[key] = value;
    }
    start = end + 1;
  }
  BridgeConfig with = c;  // `c` changes only if the whole route is good
  try {
    read_route(route, c.out.size() + c.in.size(), with);
  } catch (const std::invalid_argument& e) {
    return fail(errc::invalid_argument, std::string("route '") + std::string(spec) + "': " + e.what());
  }
  c = std::move(with);
  return {};
}

std::error_code parse_broker_url(std::string_view url, BrokerAddress& out) {
  BrokerAddress a = out;  // `out` changes only if the whole URL is good
  auto bad = [&](const char* why) { return fail(errc::invalid_argument, "broker '" + std::string(url) + "': " + why); };
  if (!url.starts_with("amqp://")) return bad("must start with amqp://");
  std::string_view rest = url.substr(7);
  const size_t slash = rest.find('/');
  std::string_view vhost = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  rest = rest.substr(0, slash);
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view creds = rest.substr(0, at);
    const size_t colon = creds.find(':');
    a.user = std::string(creds.substr(0, colon));
    if (colon != std::string_view::npos) a.password = std::string(creds.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    int port = 0;
    const std::string_view p = rest.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc{} || end != p.data() + p.size() || port <= 0 || port > 65535) return bad("bad port");
    a.port = port;
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  a.host = std::string(rest);
  a.vhost = vhost.empty() || vhost == "%2F" || vhost == "%2f" ? "/" : std::string(vhost);
  out = std::move(a);
  return {};
}

Result<BridgeConfig> load_config(const std::string& path) {
  std::ifstream f(path);
  if (!f) return fail(errc::not_found, "the configuration " + path + " cannot be read");
  std::ostringstream text;
  text << f.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace ringdrop::bridge

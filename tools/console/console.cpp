#include "console.hpp"

#include <netdb.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <httplib.h>

#include "action_log.hpp"
#include "assets.hpp"
#include "dead_letter_query.hpp"
#include "gate.hpp"
#include "metrics.hpp"
#include "rate_history.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/version.hpp"
#include "scope.hpp"

namespace ringdrop::console {

namespace {

using ops::Json;
using Req = httplib::Request;
using Res = httplib::Response;

constexpr size_t kMaxBody = 1 << 20;
constexpr size_t kMaxOperator = 64;
constexpr size_t kWorkers = 32;
constexpr size_t kMaxActions = 1000;  // /api/actions?limit=

// An answer's status and sentence for a library error.
int status_of(std::error_code ec) {
  if (ec == make_error_code(errc::not_found)) return 404;
  if (ec == make_error_code(errc::invalid_argument) || ec == make_error_code(errc::bad_message)) return 400;
  if (ec == make_error_code(errc::permission_denied)) return 403;
  return 500;
}

std::string sentence(std::error_code ec, const std::string& what) { return what + ": " + ops::batch_error(ec); }

void reply(Res& res, const Json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void refuse(Res& res, int status, const std::string& why) { reply(res, {{"error", why}}, status); }

void refuse(Res& res, std::error_code ec, const std::string& what) { refuse(res, status_of(ec), sentence(ec, what)); }

std::string user_name() {
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) return pw->pw_name;
  return std::to_string(::getuid());
}

// A string field of a JSON body; "" when absent, nullopt when of another kind.
std::optional<std::string> text_field(const Json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::string();
  if (!j[key].is_string()) return std::nullopt;
  return j[key].get<std::string>();
}

// The name typed in the page: printable ASCII and at most 64 characters, so
// the action log cannot be forged with a newline or a terminal escape.
std::string operator_name(const std::string& given) {
  std::string out;
  for (const char c : given) {
    if (c >= 0x20 && c < 0x7f && out.size() < kMaxOperator) out += c;
  }
  return out;
}

}  // namespace

struct Console::Impl {
  ConsoleOptions options;
  Gate gate;
  Scope scope;
  ActionLog log;
  RateHistory rates;
  httplib::Server server;
  int port = 0;
  std::string user = user_name();
  std::mutex acting;  // one retry or purge at a time: counts and the log stay exact

  std::mutex sampler_mutex;
  std::condition_variable sampler_wake;
  bool stopping = false;
  std::atomic<bool> halting{false};  // stop() was called: a batch ends early (relaxed: a hint, nothing rides on it)
  std::atomic<bool> served{false};  // listen_after_bind() has returned
  std::thread sampler;

  Impl(ConsoleOptions o, ActionLog l)
      : options(std::move(o)), gate(options.token), scope(options.scope), log(std::move(l)) {}

  // ---- what every request passes through

  void install() {
    server.set_payload_max_length(kMaxBody);
    server.set_keep_alive_timeout(2);
    // SO_REUSEADDR alone: httplib's default adds SO_REUSEPORT, with which a
    // second console on the same port would start and share connections.
    server.set_socket_options([](int sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // More workers than httplib's 8: a browser keeps a few connections open,
    // and a slow client holds one for its read timeout.
    server.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
    server.set_pre_routing_handler([this](const Req& req, Res& res) { return admit(req, res); });
    server.set_error_handler([](const Req& req, Res& res) {
      if (!res.has_header("Content-Security-Policy")) Gate::secure(res);  // refused before admit() (413)
      if (!res.body.empty()) return;
      if (res.status == 413) return refuse(res, 413, "the body is larger than 1 MiB");
      refuse(res, res.status, res.status == 404 ? "no such page: " + req.path : "request refused (" + std::to_string(res.status) + ")");
    });
    server.set_exception_handler([](const Req&, Res& res, std::exception_ptr ep) {
      std::string what = "unknown";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      if (!res.has_header("Content-Security-Policy")) Gate::secure(res);
      refuse(res, 500, "internal error: " + what);
    });
    // httplib's patterns are regular expressions: the dots are escaped, and
    // a path that is not an asset is a 404 all the same.
    for (const char* pattern : {"/", R"(/assets/console\.css)", R"(/assets/console\.js)"}) {
      server.Get(pattern, [](const Req& req, Res& res) {
        const Asset* a = find_asset(req.path);
        if (a == nullptr) return refuse(res, 404, "no such page: " + req.path);
        res.set_content(a->body.data(), a->body.size(), std::string(a->type));
      });
    }
    server.Get("/api/session", [this](const Req&, Res& res) { session(res); });
    server.Get("/api/overview", [this](const Req&, Res& res) { overview(res); });
    server.Get("/api/dead-letters", [this](const Req& req, Res& res) { dead_letters(req, res); });
    server.Get("/api/dead-letter", [this](const Req& req, Res& res) { dead_letter(req, res); });
    server.Get("/api/actions", [this](const Req& req, Res& res) { actions(req, res); });
    server.Get("/metrics", [this](const Req&, Res& res) {
      res.set_content(prometheus_text(scope.inventory()), "text/plain; version=0.0.4; charset=utf-8");
    });
    server.Post("/api/retry", [this](const Req& req, Res& res) { act(req, res, true); });
    server.Post("/api/purge", [this](const Req& req, Res& res) { act(req, res, false); });
  }

  // The token, the CSRF rules, the login link; the security headers on all.
  httplib::Server::HandlerResponse admit(const Req& req, Res& res) {
    using H = httplib::Server::HandlerResponse;
    Gate::secure(res);
    if (req.path == "/" && req.has_param("token")) {
      if (!gate.login_link(req)) {
        res.status = 401;
        res.set_content("ringdrop console: wrong token. Open the link the console printed when it started.\n", "text/plain");
        return H::Handled;
      }
      res.status = 303;
      res.set_header("Location", "/");
      res.set_header("Set-Cookie", gate.cookie());
      return H::Handled;
    }
    switch (gate.check(req)) {
      case Gate::Verdict::pass:
        return H::Unhandled;
      case Gate::Verdict::no_token:
        if (req.path == "/") {
          res.status = 401;
          res.set_content("ringdrop console: open the link with its token that the console printed when it started.\n",
                          "text/plain");
        } else {
          refuse(res, 401, "no valid token: log in with the console's link, or send Authorization: Bearer TOKEN");
        }
        return H::Handled;
      case Gate::Verdict::bad_csrf:
        refuse(res, 403, "a POST needs the X-CSRF-Token header that /api/session gives");
        return H::Handled;
      case Gate::Verdict::foreign_origin:
        refuse(res, 403, "a POST from another origin (" + req.get_header_value("Origin") + ") is refused");
        return H::Handled;
    }
    return H::Handled;
  }

  // ---- reading

  void session(Res& res) {
    reply(res, {{"csrf", gate.csrf()},
                {"user", user},
                {"version", RINGDROP_VERSION_STRING},
                {"sample_ms", options.sample.count()},
                {"schema", options.schema ? Json(options.schema->name()) : Json(nullptr)}});
  }

  void overview(Res& res) {
    reply(res, {{"time", ops::iso_time(std::chrono::system_clock::now())},
                {"inventory", ops::to_json(scope.inventory())},
                {"rates", rates.to_json()},
                {"sample_ms", options.sample.count()}});
  }

  // The filter in a query string or a JSON body; a bad duration is refused.
  static std::optional<ops::DeadLetterFilter> filter_of(const std::function<std::string(const char*)>& field,
                                                       std::string& why) {
    ops::DeadLetterFilter f;
    f.reason = field("reason");
    f.source = field("source");
    for (auto [key, into] : {std::pair{"older_than", &f.older_than}, {"newer_than", &f.newer_than}}) {
      const std::string v = field(key);
      if (v.empty()) continue;
      *into = ops::parse_duration(v);
      if (!*into) {
        why = key + std::string(": '") + v + "' is not a duration (30s, 5m, 2h, 7d, 250ms)";
        return std::nullopt;
      }
    }
    return f;
  }

  void dead_letters(const Req& req, Res& res) {
    std::string why;
    const auto f = filter_of([&](const char* k) { return req.get_param_value(k); }, why);
    if (!f) return refuse(res, 400, why);
    std::vector<ops::DeadLetterStore> stores;
    if (req.has_param("store")) {
      auto s = scope.store(req.get_param_value("store"));
      if (!s) return refuse(res, s.error(), "open the dead letters of " + req.get_param_value("store"));
      stores.push_back(std::move(*s));
    } else {
      std::vector<ops::Unreadable> unreadable;
      stores = scope.stores(scope.inventory(), unreadable);
    }
    Json out = Json::array();
    for (const auto& s : stores) {
      auto picked = ops::matching(s, *f);
      if (!picked) return refuse(res, picked.error(), "list the dead letters of " + s.label());
      out.push_back(ops::listing_json(s, *picked));
    }
    reply(res, out);
  }

  void dead_letter(const Req& req, Res& res) {
    if (!req.has_param("store") || !req.has_param("id")) return refuse(res, 400, "give store and id");
    const std::string id = req.get_param_value("id");
    auto s = scope.store(req.get_param_value("store"));
    if (!s) return refuse(res, s.error(), "open the dead letters of " + req.get_param_value("store"));
    auto d = s->find(id);
    if (!d) return refuse(res, d.error(), "find dead letter " + id + " of " + s->label());
    auto body = s->body(id);
    if (!body) return refuse(res, body.error(), "read dead letter " + id + " of " + s->label());
    reply(res, ops::shown_json(*s, *d, ops::describe_bytes(*body, options.schema.get())));
  }

  void actions(const Req& req, Res& res) {
    size_t limit = 100;
    if (req.has_param("limit")) {
      const std::string v = req.get_param_value("limit");
      if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos || std::stoul(v) > kMaxActions) {
        return refuse(res, 400, "limit: a number from 0 to " + std::to_string(kMaxActions));
      }
      limit = std::stoul(v);
    }
    reply(res, log.recent(limit));
  }

  // ---- acting

  void act(const Req& req, Res& res, bool retry) {
    const Json j = Json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return refuse(res, 400, "the body is not a JSON object");
    const auto label = text_field(j, "store");
    const auto who = text_field(j, "operator");
    if (!label || label->empty() || !who) return refuse(res, 400, "give \"store\" (a string), and \"operator\" as a string if at all");
    std::vector<std::string> ids;
    if (j.contains("ids")) {
      if (!j["ids"].is_array()) return refuse(res, 400, "\"ids\" is an array of strings");
      for (const auto& id : j["ids"]) {
        if (!id.is_string()) return refuse(res, 400, "\"ids\" is an array of strings");
        ids.push_back(id.get<std::string>());
      }
    }
    const bool all = j.contains("all") && j["all"].is_boolean() && j["all"].get<bool>();
    if (ids.empty() == !all) return refuse(res, 400, "give \"ids\", or \"all\": true (with filters)");
    std::string why;
    const auto f = filter_of(
        [&](const char* k) {
          const auto v = text_field(j, k);
          if (!v) why = std::string(k) + " is a string";
          return v.value_or("");
        },
        why);
    if (!f || !why.empty()) return refuse(res, 400, why);
    auto s = scope.store(*label);
    if (!s) return refuse(res, s.error(), "open the dead letters of " + *label);

    std::unique_lock lock(acting, std::try_to_lock);
    if (!lock.owns_lock()) return refuse(res, 409, "another retry or purge is running: try again when it has ended");
    auto listed = ops::matching(*s, all ? *f : ops::DeadLetterFilter{});  // listed once, not once per id
    if (!listed) return refuse(res, listed.error(), "list the dead letters of " + s->label());
    std::vector<DeadLetter> picked;
    if (all) {
      picked = std::move(*listed);
    } else {
      std::map<std::string_view, const DeadLetter*> by_id;
      for (const auto& d : *listed) by_id.emplace(d.id, &d);
      std::set<std::string_view> asked;
      for (const auto& id : ids) {  // every id first: one that is not there and nothing is done
        if (!asked.insert(id).second) continue;  // named twice: done once
        if (const auto it = by_id.find(id); it != by_id.end()) {
          picked.push_back(*it->second);
          continue;
        }
        auto d = s->find(id);  // arrived since the listing, or its error: invalid_argument for what cannot be an id
        if (!d) return refuse(res, d.error(), "find dead letter " + id + " of " + s->label() + " (nothing was done)");
        picked.push_back(std::move(*d));
      }
    }
    if (j.contains("expect")) {  // the count the person confirmed: the filter may match others by now
      if (!j["expect"].is_number_unsigned() || j["expect"].get<uint64_t>() != picked.size()) {
        return refuse(res, 409, std::to_string(picked.size()) + " dead letters match now, not the " + j["expect"].dump() +
                                    " confirmed: nothing was done; look again");
      }
    }
    std::vector<ops::BatchResult> results;
    Json done_ids = Json::array();
    std::string rest;  // once a ring has no room or no consumer, the others are not tried
    for (const auto& d : picked) {
      std::string error = rest;
      if (error.empty() && halting.load(std::memory_order_relaxed)) error = rest = "not attempted: the console is stopping";
      if (error.empty()) {
        if (const std::error_code ec = retry ? s->requeue(d.id, options.ring_timeout) : s->purge(d.id)) {
          error = ops::batch_error(ec);
          if (ec == make_error_code(errc::timed_out) || ec == make_error_code(errc::peer_gone)) {
            rest = "not attempted after " + d.id + " failed: " + error;
          }
        } else {
          done_ids.push_back(d.id);
        }
      }
      results.push_back({d.id, error});
    }
    Json out = ops::batch_json(s->label(), false, results);
    Json entry = {{"time", ops::iso_time(std::chrono::system_clock::now())},
                  {"user", user},
                  {"operator", operator_name(*who)},
                  {"remote", req.remote_addr},
                  {"action", retry ? "retry" : "purge"},
                  {"store", s->label()},
                  {"ids", done_ids},
                  {"filter", all ? f->to_json() : Json(nullptr)},
                  {"matched", out["matched"]},
                  {"done", out["done"]}};
    if (auto ec = log.append(entry)) {
      std::fprintf(stderr, "ringdrop console: %s\n", sentence(ec, "log the action").c_str());
    }
    reply(res, out);
  }

  // ---- the rate sampler

  // Samples the rates until stop(); then makes sure the server stops.
  void sample_until_stopped() {
    {
      std::unique_lock lock(sampler_mutex);
      while (!stopping) {
        lock.unlock();
        rates.sample(scope.inventory(), std::chrono::steady_clock::now());
        lock.lock();
        sampler_wake.wait_for(lock, options.sample, [this] { return stopping; });
      }
    }
    // httplib's stop() does nothing to a server not yet running: a signal
    // right after the link was printed would be lost. So stop it here once
    // it runs, unless its loop has already ended. (acquire: pairs with the
    // release store after listen_after_bind(); a plain flag, no data rides on it.)
    while (!served.load(std::memory_order_acquire)) {
      if (server.is_running()) {
        server.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
};

Console::Console(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Console::~Console() {
  stop();
  if (impl_->sampler.joinable()) impl_->sampler.join();
}

Result<std::unique_ptr<Console>> Console::open(ConsoleOptions options) {
  auto log = ActionLog::open(options.action_log.empty() ? ActionLog::default_path() : options.action_log);
  if (!log) return log.error();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*log));
  impl->install();
  const auto& o = impl->options;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(o.host.c_str(), nullptr, &hints, &found); rc != 0) {
    return detail::fail(errc::invalid_argument, "listen on " + o.host + ": " + ::gai_strerror(rc));
  }
  ::freeaddrinfo(found);
  errno = 0;
  if (o.port == 0) {
    impl->port = impl->server.bind_to_any_port(o.host);
  } else {
    impl->port = impl->server.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (impl->port <= 0) {
    const int err = errno != 0 ? errno : EADDRINUSE;
    return detail::fail(std::error_code(err, std::system_category()),
                        "listen on " + o.host + ":" + std::to_string(o.port));
  }
  return std::unique_ptr<Console>(new Console(std::move(impl)));
}

int Console::port() const noexcept { return impl_->port; }

std::string Console::url() const {
  const std::string& h = impl_->options.host;
  const std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
  return "http://" + host + ":" + std::to_string(impl_->port) + "/?token=" + impl_->gate.token();
}

bool Console::run() {
  impl_->sampler = std::thread([this] { impl_->sample_until_stopped(); });
  const bool ok = impl_->server.listen_after_bind();
  impl_->served.store(true, std::memory_order_release);
  stop();
  impl_->sampler.join();
  return ok;
}

void Console::stop() {
  impl_->halting.store(true, std::memory_order_relaxed);
  {
    std::lock_guard lock(impl_->sampler_mutex);
    impl_->stopping = true;
  }
  impl_->sampler_wake.notify_all();
  impl_->server.stop();
}

}  // namespace ringdrop::console

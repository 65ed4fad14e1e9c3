#include "gate.hpp"

#include <strings.h>
#include <sys/random.h>

#include <cerrno>
#include <stdexcept>

#include <httplib.h>

namespace ringdrop::console {

namespace {

constexpr const char* kCookie = "ringdrop_console";

// The value of cookie `name` in a Cookie header ("a=1; b=2"), else empty.
std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t end = std::min(header.find(';'), header.size());
    std::string_view pair = header.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    header.remove_prefix(std::min(end + 1, header.size()));
  }
  return {};
}

}  // namespace

bool same_secret(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string Gate::random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  for (size_t got = 0; got < bytes;) {
    const ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::system_category(), "getrandom");
    got += n > 0 ? static_cast<size_t>(n) : 0;
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : raw) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

Gate::Gate(std::string token) : token_(token.empty() ? random_hex(32) : std::move(token)), csrf_(random_hex(32)) {}

bool Gate::is_token(std::string_view given) const noexcept { return !given.empty() && same_secret(given, token_); }

bool Gate::login_link(const httplib::Request& req) const {
  return req.has_param("token") && is_token(req.get_param_value("token"));
}

std::string Gate::cookie() const {
  return std::string(kCookie) + "=" + token_ + "; HttpOnly; SameSite=Strict; Path=/";
}

Gate::Verdict Gate::check(const httplib::Request& req) const {
  const std::string auth = req.get_header_value("Authorization");
  const bool bearer = auth.size() > 7 && ::strncasecmp(auth.c_str(), "bearer ", 7) == 0 &&  // the scheme is case-insensitive
                      is_token(std::string_view(auth).substr(7));
  const bool cookie = is_token(cookie_value(req.get_header_value("Cookie"), kCookie));
  if (!bearer && !cookie) return Verdict::no_token;
  if (req.method != "GET" && req.method != "HEAD") {
    if (!same_secret(req.get_header_value("X-CSRF-Token"), csrf_) || csrf_.empty()) return Verdict::bad_csrf;
    // Over plain HTTP or behind a TLS proxy that keeps the Host header.
    const std::string origin = req.get_header_value("Origin"), host = req.get_header_value("Host");
    if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) return Verdict::foreign_origin;
  }
  return Verdict::pass;
}

void Gate::secure(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

}  // namespace ringdrop::console

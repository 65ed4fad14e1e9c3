// gate.hpp — who may use the console, and the headers every answer carries.
//
// The console can move and delete messages, so nothing is served without
// the token (random at start, printed once, like Jupyter's; or read from a
// file): `GET /?token=T` trades it for a cookie (HttpOnly, SameSite=Strict)
// and sends the browser on to `/` so the token leaves the address bar;
// scripts and scrapers send `Authorization: Bearer T`. A POST also needs the
// CSRF token the page fetched from /api/session, as the X-CSRF-Token header
// (a form on another site cannot set a header), and, when the browser says
// where it comes from (Origin), to come from the console's own origin.
// Every answer forbids framing and any script or style not served by the
// console itself (Content-Security-Policy).
#pragma once

#include <string>
#include <string_view>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace ringdrop::console {

class Gate {
 public:
  /// `token` empty: a random one (32 bytes, hex).
  explicit Gate(std::string token);

  const std::string& token() const noexcept { return token_; }
  const std::string& csrf() const noexcept { return csrf_; }

  enum class Verdict { pass, no_token, bad_csrf, foreign_origin };
  /// The token (cookie or bearer) and, for a POST, the CSRF token and Origin.
  Verdict check(const httplib::Request& req) const;
  /// `?token=` in the query equals the token (the login link).
  bool login_link(const httplib::Request& req) const;
  /// The cookie that carries the token.
  std::string cookie() const;

  /// The headers every answer gets (CSP, no framing, no sniffing, no cache).
  static void secure(httplib::Response& res);
  /// `bytes` random bytes as lowercase hex (getrandom(2)).
  static std::string random_hex(size_t bytes);

 private:
  bool is_token(std::string_view given) const noexcept;
  std::string token_, csrf_;
};

/// Equal, in time that depends only on the lengths.
bool same_secret(std::string_view a, std::string_view b) noexcept;

}  // namespace ringdrop::console

#include "drop/drop_headers.hpp"

#include "drop/drop_name.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

constexpr std::size_t kMaxKey = 64;
constexpr std::size_t kMaxValue = 1024;
/// The whole file; read_headers reads no more.
constexpr std::size_t kMaxTotal = 64 * 1024;

bool good_key(std::string_view k) noexcept {
  if (k.empty() || k.size() > kMaxKey) return false;
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool good_value(std::string_view v) noexcept {
  if (v.size() > kMaxValue) return false;
  for (unsigned char c : v) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::error_code check_headers(const DropHeaders& headers) {
  std::size_t total = 0;
  for (const auto& [k, v] : headers) {
    total += k.size() + v.size() + 3;
    if (!good_key(k)) {
      return fail(errc::invalid_argument, "header name \"" + k + "\": use 1-64 of [a-z0-9-]");
    }
    if (!good_value(v)) {
      return fail(errc::invalid_argument,
                  "header " + k + ": values are at most 1024 bytes, without line breaks");
    }
  }
  if (total > kMaxTotal) {
    return fail(errc::invalid_argument, "headers take " + std::to_string(total) +
                                            " bytes; at most 64 KiB in all");
  }
  return {};
}

std::string encode_headers(const DropHeaders& headers) {
  std::string out;
  for (const auto& [k, v] : headers) out += k + ": " + v + "\n";
  return out;
}

DropHeaders decode_headers(std::string_view text) {
  DropHeaders out;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto sep = line.find(": ");
    if (sep == std::string_view::npos || !good_key(line.substr(0, sep))) continue;
    out.insert_or_assign(std::string(line.substr(0, sep)), std::string(line.substr(sep + 2)));
  }
  return out;
}

std::error_code write_headers(const DropTree& t, std::string_view id, const DropHeaders& headers) {
  return write_small_file(t, Dir::meta, id, encode_headers(headers));
}

DropHeaders read_headers(const DropTree& t, std::string_view id) {
  auto text = read_small_file(t, Dir::meta, id, kMaxTotal);
  DropHeaders h = text ? decode_headers(*text) : DropHeaders{};
  if (const int64_t ns = id_time_ns(id)) {
    h.insert_or_assign(std::string(drop_header::published_at), std::to_string(ns));
  }
  return h;
}

}  // namespace ringdrop::detail

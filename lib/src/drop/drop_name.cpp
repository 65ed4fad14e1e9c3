#include "drop/drop_name.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <vector>

#include "core/posix_file.hpp"

namespace ringdrop::detail {
namespace {

uint32_t random32() noexcept {
  uint32_t r = 0;
  if (::getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r) {
    // No entropy yet (early boot): time and address bits still make the id
    // unique together with pid and sequence number.
    r = static_cast<uint32_t>(wall_ns()) ^ static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&r));
  }
  return r;
}

std::string hex(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

bool is_id_char(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-';
}

/// Splits `name` at '.'; ids contain no '.', so the fields are unambiguous.
std::vector<std::string_view> fields(std::string_view name) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto dot = name.find('.');
    out.push_back(name.substr(0, dot));
    if (dot == std::string_view::npos) return out;
    name.remove_prefix(dot + 1);
  }
}

uint64_t fnv1a(std::string_view s, uint64_t h) noexcept {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

int64_t wall_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string iso_time(int64_t ns) {
  const time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  tm utc{};
  ::gmtime_r(&secs, &utc);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ns / 1'000'000 % 1000));
  return buf;
}

const std::string& host_tag() {
  static const std::string tag = [] {
    char buf[256] = {};
    std::string t;
    if (::gethostname(buf, sizeof buf - 1) == 0) {
      for (const char* p = buf; *p && t.size() < 24; ++p) {
        const char c = static_cast<char>(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) t += c;
      }
    }
    return t.empty() ? std::string("host") : t;
  }();
  return tag;
}

std::string new_message_id() {
  static std::atomic<uint64_t> seq{0};
  // relaxed: the counter only has to be unique, it orders nothing.
  const uint64_t n = seq.fetch_add(1, std::memory_order_relaxed);
  char ns[24];
  std::snprintf(ns, sizeof ns, "%019lld", static_cast<long long>(wall_ns()));
  return std::string(ns) + "-" + host_tag() + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(n) + "-" + hex(random32(), 8);
}

std::string new_consumer_id() {
  return host_tag() + "-" + std::to_string(::getpid()) + "-" + hex(random32() & 0xffff, 4);
}

int64_t id_time_ns(std::string_view id) noexcept {
  if (id.size() < 20 || id[19] != '-') return 0;
  // 19 digits fit in 64 unsigned bits; past 2^63 - 1 ns (the year 2262)
  // it is no time of ours, whatever a writer named its file.
  uint64_t ns = 0;
  for (char c : id.substr(0, 19)) {
    if (c < '0' || c > '9') return 0;
    ns = ns * 10 + static_cast<uint64_t>(c - '0');
  }
  return ns <= static_cast<uint64_t>(INT64_MAX) ? static_cast<int64_t>(ns) : 0;
}

bool is_message_id(std::string_view s) noexcept {
  if (s.size() > 128 || id_time_ns(s) == 0 || s.size() < 21) return false;
  for (char c : s) {
    if (!is_id_char(c)) return false;
  }
  return true;
}

bool is_consumer_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64 || s.front() == '-') return false;
  for (char c : s) {
    if (!is_id_char(c)) return false;
  }
  return true;
}

bool is_plain_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
  for (unsigned char c : s) {
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string ready_name(std::string_view id, uint32_t attempts) {
  return std::string(id) + "." + std::to_string(attempts);
}

std::string work_name(std::string_view id, uint32_t attempts, std::string_view consumer,
                      int64_t lease_end_ms) {
  return ready_name(id, attempts) + "." + std::string(consumer) + "." + std::to_string(lease_end_ms);
}

std::string retry_name(std::string_view id, uint32_t attempts, int64_t not_before_ms) {
  return ready_name(id, attempts) + "." + std::to_string(not_before_ms);
}

std::string reason_name(std::string_view id) { return std::string(id) + ".reason"; }

std::string key_file_name(std::string_view key) {
  // Lower case only: on a case-insensitive file system (SMB, vfat) "Order-1"
  // and "order-1" would be one file. "h-" is the hashed names' prefix.
  bool safe = !key.empty() && key.size() <= 128 && key.front() != '.' && !key.starts_with("h-");
  for (char c : key) {
    safe = safe && (is_id_char(c) || c == '_' || c == '.');
  }
  if (safe) return std::string(key);
  // Two independent 64-bit FNV-1a hashes: a false "already processed" needs
  // a 128-bit collision.
  return "h-" + hex(fnv1a(key, 0xcbf29ce484222325ULL), 16) +
         hex(fnv1a(key, 0x84222325cbf29ce4ULL), 16);
}

std::optional<ReadyName> parse_ready(std::string_view name) {
  const auto f = fields(name);
  if (f.size() != 2 || !is_message_id(f[0])) return std::nullopt;
  const auto n = number<uint32_t>(f[1]);
  if (!n) return std::nullopt;
  return ReadyName{std::string(f[0]), *n};
}

std::optional<WorkName> parse_work(std::string_view name) {
  const auto f = fields(name);
  if (f.size() != 4 || !is_message_id(f[0]) || !is_consumer_id(f[2])) return std::nullopt;
  const auto n = number<uint32_t>(f[1]);
  const auto end = number<int64_t>(f[3]);
  if (!n || !end) return std::nullopt;
  return WorkName{std::string(f[0]), *n, std::string(f[2]), *end};
}

std::optional<RetryName> parse_retry(std::string_view name) {
  const auto f = fields(name);
  if (f.size() != 3 || !is_message_id(f[0])) return std::nullopt;
  const auto n = number<uint32_t>(f[1]);
  const auto nb = number<int64_t>(f[2]);
  if (!n || !nb) return std::nullopt;
  return RetryName{std::string(f[0]), *n, *nb};
}

}  // namespace ringdrop::detail

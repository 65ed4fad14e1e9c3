// fuzz_support.hpp — what the fuzz harnesses share: reading typed values
// from the fuzzer's bytes, a scratch directory of this process, and a check
// that stops the run with a message (libFuzzer then saves the input).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace ringdrop::fuzz {

/// A broken promise: print what and where, then abort (libFuzzer records
/// the input as a crash).
[[noreturn]] inline void broken(const char* what, const char* file, int line) {
  std::fprintf(stderr, "\nFUZZ CHECK FAILED at %s:%d: %s\n", file, line, what);
  std::abort();
}

#define FUZZ_CHECK(cond, what)                                    \
  do {                                                            \
    if (!(cond)) ::ringdrop::fuzz::broken(what, __FILE__, __LINE__); \
  } while (0)

/// The fuzzer's bytes as a stream of little-endian values; past the end,
/// every read gives zeros (so any input is a complete program).
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  bool empty() const noexcept { return p_ == end_; }
  size_t left() const noexcept { return static_cast<size_t>(end_ - p_); }

  template <class T>
  T get() noexcept {
    T v{};
    const size_t n = std::min(sizeof v, left());
    std::memcpy(&v, p_, n);
    p_ += n;
    return v;
  }
  uint8_t u8() noexcept { return get<uint8_t>(); }
  uint16_t u16() noexcept { return get<uint16_t>(); }
  uint32_t u32() noexcept { return get<uint32_t>(); }
  uint64_t u64() noexcept { return get<uint64_t>(); }

  /// The next `n` bytes (fewer at the end).
  std::span<const uint8_t> take(size_t n) noexcept {
    n = std::min(n, left());
    std::span<const uint8_t> s(p_, n);
    p_ += n;
    return s;
  }
  /// Everything that is left.
  std::span<const uint8_t> rest() noexcept { return take(left()); }
  /// Bytes up to (not including) `stop`, or to the end; the stop byte is consumed.
  std::string_view until(uint8_t stop) noexcept {
    const uint8_t* at = static_cast<const uint8_t*>(std::memchr(p_, stop, left()));
    const uint8_t* e = at ? at : end_;
    std::string_view s(reinterpret_cast<const char*>(p_), static_cast<size_t>(e - p_));
    p_ = at ? at + 1 : end_;
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

/// A directory of this process for segment files and drop channels, under
/// $TMPDIR (scripts/fuzz.sh points it at a scratch directory of the run).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* t = std::getenv("TMPDIR");
    std::filesystem::path d = (t && *t) ? std::filesystem::path(t) : std::filesystem::path("/tmp");
    d /= "ringdrop-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

/// A POSIX shared-memory name of this process: "rdfz-<pid>-<what>".
inline std::string shm_name(std::string_view what) {
  return "rdfz-" + std::to_string(::getpid()) + "-" + std::string(what);
}

/// Whether RINGDROP_FUZZ_STRICT is set: then a message larger than the
/// ring's max_message_size() is a failure too (see fuzz/README.md).
inline bool strict() {
  static const bool on = [] {
    const char* s = std::getenv("RINGDROP_FUZZ_STRICT");
    return s && *s && std::strcmp(s, "0") != 0;
  }();
  return on;
}

}  // namespace ringdrop::fuzz

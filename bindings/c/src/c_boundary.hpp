// c_boundary.hpp — how a C entry point turns C++ outcomes into C codes.
//
// Every function of ringdrop.h that can fail has the shape
//
//   int ringdrop_x_y(...) { return ringdrop::c::guard([&] { ...; return ec; }); }
//
// guard() returns 0 or a negative RINGDROP_E* code, and catches every
// exception (std::bad_alloc becomes RINGDROP_ENOMEM; anything else
// RINGDROP_EINTERNAL), recording its text for ringdrop_last_error_message().
#pragma once

#include <exception>
#include <new>
#include <string>
#include <system_error>

#include "ringdrop.h"
#include "ringdrop/error.hpp"

namespace ringdrop::c {

/// 0, a negated ringdrop::errc, or RINGDROP_ESYSTEM for other categories.
int to_code(std::error_code ec) noexcept;

/// Records `what` for ringdrop_last_error_message() without allocating
/// twice; never throws.
void note(const char* what) noexcept;

template <class Body>
int guard(Body&& body) noexcept {
  detail::clear_last_error();  // a detail belongs to this call's failure, or there is none
  try {
    return to_code(body());
  } catch (const std::bad_alloc&) {
    note("out of memory");
    return RINGDROP_ENOMEM;
  } catch (const std::exception& e) {
    note(e.what());
    return RINGDROP_EINTERNAL;
  } catch (...) {
    note("unknown exception");
    return RINGDROP_EINTERNAL;
  }
}

}  // namespace ringdrop::c

// ------------------------------------------------------------------ shared
// Argument helpers of every C source, defined once here (and kept apart
// from to_code/guard above).

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "ringdrop/wait.hpp"

namespace ringdrop::c {

/// errc::invalid_argument, with `what` as the detail.
inline std::error_code invalid(const char* what) { return detail::fail(errc::invalid_argument, what); }

/// Fills `o` with the defaults (`init`), then copies over them the caller's
/// options struct `c` (NULL: defaults only), as many bytes as its `size`
/// says: a caller built against an older header sets the fields it knows.
template <class Options>
std::error_code copy_options(const Options* c, Options& o, void (*init)(Options*), const char* init_name) {
  init(&o);
  if (!c) return {};
  if (c->size < sizeof(unsigned long) || c->size > sizeof o) {
    return detail::fail(errc::invalid_argument, std::string("options->size: call ") + init_name + " first");
  }
  std::memcpy(&o, c, c->size);
  return {};
}

/// Copies `ours` into the caller's stats struct of `out->size` bytes:
/// the fields both know, zeroes past ours.
template <class Stats>
std::error_code give_stats(Stats ours, Stats* out) {
  const unsigned long size = out->size;
  if (size < sizeof(unsigned long)) {
    return detail::fail(errc::invalid_argument, "stats->size: set it to the struct's sizeof");
  }
  ours.size = size;
  std::memcpy(out, &ours, std::min<size_t>(size, sizeof ours));
  if (size > sizeof ours) std::memset(reinterpret_cast<char*>(out) + sizeof ours, 0, size - sizeof ours);
  return {};
}

/// A timeout of the C ABI: nullopt when negative (the caller answers RINGDROP_EINVAL).
inline std::optional<std::chrono::nanoseconds> timeout_of(long long ns) {
  if (ns < 0) return std::nullopt;
  return std::chrono::nanoseconds(ns);
}

/// Whether `mode` is one of RINGDROP_WAIT_*.
inline bool wait_mode_ok(int mode) {
  return mode >= RINGDROP_WAIT_SPIN_BLOCK && mode <= RINGDROP_WAIT_SPIN_YIELD;
}

/// A C wait mode and times as a WaitStrategy; a negative spin or a
/// non-positive liveness interval keeps the default.
inline WaitStrategy wait_of(int mode, long long spin_ns, long long liveness_ns) {
  WaitStrategy w;
  w.mode = mode == RINGDROP_WAIT_SPIN         ? WaitMode::spin
           : mode == RINGDROP_WAIT_SPIN_YIELD ? WaitMode::spin_yield
                                              : WaitMode::spin_block;
  if (spin_ns >= 0) w.spin_for = std::chrono::nanoseconds(spin_ns);
  if (liveness_ns > 0) w.liveness_interval = std::chrono::nanoseconds(liveness_ns);
  return w;
}

}  // namespace ringdrop::c

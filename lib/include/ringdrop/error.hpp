// ringdrop/error.hpp — the one error model every layer of ringdrop uses.
//
// A call across a process boundary fails in ways an in-process call cannot:
// the peer can crash, a message can go missing, a deadline can pass, bytes
// can arrive malformed, the shared segment itself can be foreign or damaged.
// Each of those is a distinct `ringdrop::errc` value, so a caller can act on
// what happened instead of parsing text. Failures of the operating system
// that fit none of them are passed through as `std::system_category` codes.
//
// The codes are stable: their numeric values never change (the C ABI exposes
// them as negative RINGDROP_E* numbers). They are listed, with what each
// means, once: in ringdrop/error_table.h.
#pragma once

#include <string>
#include <system_error>

#include "ringdrop/error_table.h"
#include "ringdrop/export.hpp"

namespace ringdrop {

// The codes, their numbers and their documentation: error_table.h.
enum class errc : int {
#define RINGDROP_ERRC_(name, c_suffix, number, message) name = number,
  RINGDROP_ERROR_TABLE(RINGDROP_ERRC_)
#undef RINGDROP_ERRC_
};

/// The category of `ringdrop::errc`; its name is "ringdrop".
RINGDROP_API const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Detail of the last error raised on this thread: which field differed,
/// which name was wrong, which syscall failed. Empty when there is none.
/// Set by cold paths only (opening, validation); hot paths never touch it.
RINGDROP_API const std::string& last_error_detail() noexcept;

/// The errno behind the last error raised on this thread (ENOENT behind a
/// not_found from open(2), say), or 0 when that error came from no system
/// call. Recorded with last_error_detail(), by detail::fail and from_errno.
RINGDROP_API int last_error_errno() noexcept;

namespace detail {
/// Records `detail` for last_error_detail() and returns `e`, so error paths
/// read as `return fail(errc::corrupted, "...")`. For last_error_errno(): a
/// system or generic code is its own errno; a code from_errno just made keeps
/// that errno; any other code has none.
RINGDROP_API std::error_code fail(std::error_code e, std::string detail);
inline std::error_code fail(errc e, std::string detail) {
  return fail(make_error_code(e), std::move(detail));
}
/// last_error_detail() if it was recorded with `e` (the last failure on
/// this thread was this error), else "": how Result::value() puts the
/// detail into the exception it throws without naming another call's.
RINGDROP_API std::string detail_of(std::error_code e);
/// Forgets this thread's last detail and errno (the C ABI does so at each
/// call, so they always belong to the failure just reported).
RINGDROP_API void clear_last_error() noexcept;
/// errno as an error_code, mapped to a ringdrop code where one fits; also
/// remembers `err` for last_error_errno() (a fail() with the code returned
/// keeps it, a fail() with another code forgets it).
RINGDROP_API std::error_code from_errno(int err) noexcept;
}  // namespace detail

}  // namespace ringdrop

template <>
struct std::is_error_code_enum<ringdrop::errc> : std::true_type {};

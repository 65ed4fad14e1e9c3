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
// them as negative RINGDROP_E* numbers).
#pragma once

#include <string>
#include <system_error>

#include "ringdrop/export.hpp"

namespace ringdrop {

enum class errc : int {
  // --- flow: the call could not complete now ------------------------------
  /// A `try_` call found nothing to read, or no room to write, right now.
  would_block = 1,
  /// A blocking call's timeout or deadline passed: no message arrived, no
  /// space freed, no reply came. Nothing was consumed or lost.
  timed_out = 2,
  /// A message's own deadline had already passed when it was to be handled
  /// (used by request/response). Distinct from `timed_out`, which is about the
  /// caller's wait.
  deadline_exceeded = 3,

  // --- peers --------------------------------------------------------------
  /// The peer process died (e.g. `kill -9`) or detached. A consumer sees this
  /// only after it has received every message the producer committed. It is a
  /// state, not an end: when a new peer attaches, traffic resumes.
  peer_gone = 4,
  /// The role (e.g. the single producer of an SPSC ring) is held by another
  /// live process.
  role_taken = 5,
  /// A message is known to have been lost (e.g. a lapped subscriber).
  message_lost = 6,

  // --- data ---------------------------------------------------------------
  /// A message is malformed: truncated, wrong type, fails validation.
  bad_message = 7,
  /// The message is larger than the ring can ever hold (not a wait).
  message_too_large = 8,

  // --- segments -----------------------------------------------------------
  /// The segment is damaged: truncated, never finished initialising, header
  /// checksum wrong, ring indices or record headers impossible.
  corrupted = 9,
  /// The object exists but is not a ringdrop segment (no ringdrop magic).
  foreign_segment = 10,
  /// A ringdrop segment with a different layout version than this library.
  incompatible_layout = 11,
  /// A ringdrop segment of another ring kind (e.g. MPMC opened as SPSC).
  wrong_kind = 12,
  /// The segment's capacity differs from the one the caller asked for.
  capacity_mismatch = 13,

  // --- names and the operating system ---------------------------------------
  permission_denied = 14,
  not_found = 15,
  already_exists = 16,
  /// A name, size or option is malformed (e.g. a segment name with '/').
  invalid_argument = 17,

  // --- files (the drop channel) ---------------------------------------------
  /// The disk or a quota is full (or a file size limit was hit). The message
  /// stayed where it was; nothing was published or lost.
  no_space = 18,
  /// A claim's lease had expired and the message was taken back (or by
  /// another consumer) before this ack, nack or extend could take effect.
  lease_lost = 19,
  /// A file that is not safe to take was refused: a symlink, a FIFO, a device,
  /// a directory, a file with more than one hard link, or a name that is not
  /// a plain file name (a path, "..", a control character).
  unsafe_file = 20,

  // --- request/response -------------------------------------------------------
  /// The server handled the request and answered with an error of its own;
  /// its code and text travel back in the reply's envelope.
  remote_error = 21,
  /// The client's circuit breaker for this service is open: recent calls
  /// failed (timed out, or the server died), so this one failed fast without
  /// being sent. It closes again after a cool-down and one good trial call.
  circuit_open = 22,
  /// A well-formed message of a type the receiver has no handler or schema
  /// for (e.g. from a newer producer). It is reported, never misread.
  unknown_type = 23,
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

namespace detail {
/// Records `detail` for last_error_detail() and returns `e`, so error paths
/// read as `return fail(errc::corrupted, "...")`.
RINGDROP_API std::error_code fail(std::error_code e, std::string detail);
inline std::error_code fail(errc e, std::string detail) {
  return fail(make_error_code(e), std::move(detail));
}
/// Forgets this thread's last detail (the C ABI does so at each call, so a
/// detail always belongs to the failure just reported).
RINGDROP_API void clear_last_error() noexcept;
/// errno as an error_code, mapped to a ringdrop code where one fits.
RINGDROP_API std::error_code from_errno(int err) noexcept;
}  // namespace detail

}  // namespace ringdrop

template <>
struct std::is_error_code_enum<ringdrop::errc> : std::true_type {};

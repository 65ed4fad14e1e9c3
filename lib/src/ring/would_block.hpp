// would_block.hpp — what a ring call says when it finds nothing to read or
// no room to write: would_block, unless another process truncated the
// segment under us (segment/bus_guard.hpp), when waiting would be waiting
// for nothing. Looked at only on this path, never per message. And what a
// producer's wait for room says when its timeout passes.
#pragma once

#include <system_error>

#include "ringdrop/error.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop::detail {

inline std::error_code would_block_or_damaged(const Segment& s) {
  if (s.damaged()) [[unlikely]] return s.damage();
  return errc::would_block;
}

/// A producer's reserve or send whose timeout passed with the ring full:
/// timed_out, with a detail that says it was room, not a message, that
/// never came.
inline std::error_code no_room(const Segment& s, std::error_code ec = errc::timed_out) {
  if (ec != errc::timed_out) return ec;
  return fail(ec, s.location().describe() + ": no room before the timeout (the ring stayed full: its " +
                      "consumers did not free any)");
}
}  // namespace ringdrop::detail

// would_block.hpp — what a ring call says when it finds nothing to read or
// no room to write: would_block, unless another process truncated the
// segment under us (segment/bus_guard.hpp), when waiting would be waiting
// for nothing. Looked at only on this path, never per message.
#pragma once

#include <system_error>

#include "ringdrop/error.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop::detail {

inline std::error_code would_block_or_damaged(const Segment& s) {
  if (s.damaged()) [[unlikely]] return s.damage();
  return errc::would_block;
}

}  // namespace ringdrop::detail

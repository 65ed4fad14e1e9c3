// too_large.hpp — the refusal every ring kind shares: a message larger than
// the ring can ever hold. Said at once (never waited for), with both sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

#include "ringdrop/error.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop::detail {

// Cold and out of line: reserve's fast path stays a compare and a branch.
[[gnu::cold, gnu::noinline]] inline std::error_code too_large(const Segment& s, size_t size, uint64_t max) {
  return fail(errc::message_too_large, s.location().describe() + ": a message of " + std::to_string(size) +
                                           " bytes; the largest this ring takes is " + std::to_string(max));
}

}  // namespace ringdrop::detail

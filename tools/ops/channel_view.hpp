// channel_view.hpp — one file-drop channel as tools show it: its messages
// in each state (DropChannel::counts) and its receipts.
#pragma once

#include <cstdint>
#include <string>

#include "ringdrop/drop_types.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop::ops {

struct ChannelView {
  std::string root;
  DropCounts counts;
  uint64_t receipts = 0;  ///< files in receipts/
};

/// Reads the channel at `root` without creating anything. Errors: those of
/// DropChannel::open with create off (not_found, incompatible_layout,
/// permission_denied, invalid_argument: not a directory).
Result<ChannelView> inspect_channel(const std::string& root);

}  // namespace ringdrop::ops

#include "channel_view.hpp"

#include <filesystem>

#include "ringdrop/drop_channel.hpp"

namespace ringdrop::ops {

Result<ChannelView> inspect_channel(const std::string& root) {
  DropOptions o;
  o.create = false;
  auto ch = DropChannel::open(root, o);
  if (!ch) return ch.error();
  auto counts = ch->counts();
  if (!counts) return counts.error();
  ChannelView v;
  v.root = root;
  v.counts = *counts;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(root + "/receipts", ec), end; !ec && it != end; it.increment(ec)) {
    ++v.receipts;
  }
  return v;
}

}  // namespace ringdrop::ops

// copying.hpp — the copying conveniences every ring kind offers on top of
// its zero-copy calls: send = reserve + memcpy + commit, receive = read +
// copy + release. One definition for all kinds.
#pragma once

#include <cstring>
#include <span>
#include <system_error>
#include <vector>

#include "ringdrop/result.hpp"

namespace ringdrop::detail {

/// `how` is nothing (a try), a Deadline or a timeout: whatever reserve takes.
template <class Producer, class... How>
std::error_code send_copy(Producer& p, std::span<const std::byte> message, How... how) {
  auto span = [&] {
    if constexpr (sizeof...(How) == 0) return p.try_reserve(message.size());
    else return p.reserve(message.size(), how...);
  }();
  if (!span) return span.error();
  // An empty message may come with a null pointer, which memcpy must not get.
  if (!message.empty()) std::memcpy(span->data(), message.data(), message.size());
  return p.commit(message.size());
}

/// Copies a view out and releases it. A release that reports an error (a
/// broadcast view overwritten while held) makes the copy worthless.
template <class Consumer>
Result<std::vector<std::byte>> receive_copy(Consumer& c, Result<std::span<const std::byte>> view) {
  if (!view) return view.error();
  std::vector<std::byte> out(view->begin(), view->end());
  if (auto ec = c.release()) return ec;
  return out;
}

}  // namespace ringdrop::detail

// c_ring.hpp — the ring handle of the C ABI, private to the C sources: one
// opaque handle over the six C++ ring endpoints. Shared so that typed sends
// (c_message.cpp) call the C++ endpoint itself, not ringdrop_ring_*.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <variant>

#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/ring_contract.hpp"
#include "ringdrop/spsc_ring.hpp"

namespace ringdrop::c {

using RingEnd = std::variant<SpscProducer, SpscConsumer, MpmcProducer, MpmcConsumer, BroadcastPublisher,
                             BroadcastSubscriber>;

/// Whether an endpoint type reads (and so cannot send).
template <class T>
inline constexpr bool is_consumer = RingConsumer<T>;

}  // namespace ringdrop::c

struct ringdrop_ring {
  ringdrop::c::RingEnd end;
  /// A message read for ringdrop_ring_receive that did not fit the caller's
  /// buffer: handed out again by the next receive or read.
  std::optional<std::span<const std::byte>> pending;
};

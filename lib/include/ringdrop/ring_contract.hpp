// ringdrop/ring_contract.hpp — the producer and consumer surface every ring
// kind offers, stated as C++20 concepts.
//
// SPSC, MPMC and broadcast differ in who may attach and what a slow or dead
// peer costs, but their endpoints are used the same way, so code written
// against these concepts (the copying calls, typed messages, the C ABI)
// works on any kind. Each ring header static_asserts that its endpoints
// meet them.
//
//   RingProducer: try_reserve / reserve(size, deadline | timeout) give a
//     writable span in the ring; commit(used) publishes it, stage(used) +
//     publish() do the same for a batch; try_send / send copy a message in.
//   RingConsumer: try_read / read(deadline | timeout) give a read-only view
//     in place; release() gives back every view read so far and says whether
//     they were still intact (only a broadcast ring with the overwrite policy
//     can answer message_lost; the others always answer success);
//     try_receive / receive copy a message out.
//   Both: max_message_size(), the largest message the ring ever takes, and
//     segment(), the mapped segment.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop {

template <class E>
concept RingEndpoint = std::movable<E> && requires(const E& e) {
  { e.max_message_size() } -> std::same_as<uint64_t>;
  { e.segment() } -> std::same_as<const Segment&>;
};

template <class P>
concept RingProducer = RingEndpoint<P> &&
    requires(P p, size_t n, std::span<const std::byte> m, Deadline d, std::chrono::nanoseconds t) {
      { p.try_reserve(n) } -> std::same_as<Result<std::span<std::byte>>>;
      { p.reserve(n, d) } -> std::same_as<Result<std::span<std::byte>>>;
      { p.reserve(n, t) } -> std::same_as<Result<std::span<std::byte>>>;
      { p.commit(n) } -> std::same_as<std::error_code>;
      { p.stage(n) } -> std::same_as<std::error_code>;
      { p.publish() } noexcept;
      { p.try_send(m) } -> std::same_as<std::error_code>;
      { p.send(m, d) } -> std::same_as<std::error_code>;
      { p.send(m, t) } -> std::same_as<std::error_code>;
    };

template <class C>
concept RingConsumer = RingEndpoint<C> && requires(C c, Deadline d, std::chrono::nanoseconds t) {
  { c.try_read() } -> std::same_as<Result<std::span<const std::byte>>>;
  { c.read(d) } -> std::same_as<Result<std::span<const std::byte>>>;
  { c.read(t) } -> std::same_as<Result<std::span<const std::byte>>>;
  { c.release() } noexcept -> std::same_as<std::error_code>;
  { c.try_receive() } -> std::same_as<Result<std::vector<std::byte>>>;
  { c.receive(d) } -> std::same_as<Result<std::vector<std::byte>>>;
  { c.receive(t) } -> std::same_as<Result<std::vector<std::byte>>>;
};

}  // namespace ringdrop

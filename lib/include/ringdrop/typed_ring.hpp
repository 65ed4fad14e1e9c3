// ringdrop/typed_ring.hpp — typed senders and receivers over any ring:
// one-way notifications (SPSC or MPMC) and publish/subscribe events
// (broadcast), with Cap'n Proto payloads built and read in place.
//
//   TypedSender tx(MpmcProducer::open(...).value());
//   tx.send<jobs::Job>([](jobs::Job::Builder j) { j.setId(7); }, deadline_after(1s));
//
//   TypedReceiver rx(BroadcastSubscriber::open(...).value());
//   rx.accept<prices::Tick>();                   // filter: other types are skipped
//   auto msg = rx.receive(deadline_after(1s));   // in place, valid until the next receive
//   auto tick = msg.value()->payload<prices::Tick>();
//
// Back-pressure is the ring's: send() waits for room until its deadline
// (errc::timed_out), or on a broadcast ring with the overwrite policy never
// waits. A receiver hands out one message at a time, read in place; the
// next receive() (or release()) gives its space back. Each failure is
// reported and the ring moves on:
//   - a malformed message: errc::bad_message (counted in `malformed`);
//   - a type the receiver does not accept: skipped, counted in `filtered`;
//     with no filter set every type is handed out;
//   - an empty record (a sender whose build failed): skipped silently.
// On a broadcast ring with the overwrite policy, a message overwritten while
// it was being read is caught when it is given back: the next receive() (or
// release()) returns errc::message_lost, and what was read must be dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <unordered_set>

#include "ringdrop/message.hpp"
#include "ringdrop/ring_contract.hpp"

namespace ringdrop {

/// Sends typed messages on a producer it owns (SpscProducer, MpmcProducer,
/// BroadcastPublisher).
template <RingProducer Producer>
class TypedSender {
 public:
  explicit TypedSender(Producer ring) : ring_(std::move(ring)) {}

  /// Builds a `T` in place (see send_message) and commits it.
  template <class T, class Fill>
  std::error_code send(Fill&& fill, Deadline deadline, MessageOptions options = {}) {
    return send_message<T>(ring_, deadline, std::forward<Fill>(fill), options, &state_);
  }
  /// Copies a message built on the heap.
  std::error_code send(HeapMessage& message, Deadline deadline) {
    return send_heap(ring_, message, deadline);
  }

  Producer& ring() noexcept { return ring_; }
  const SenderState& state() const noexcept { return state_; }

 private:
  Producer ring_;
  SenderState state_;
};

struct ReceiverStats {
  uint64_t received = 0;   ///< handed out
  uint64_t filtered = 0;   ///< skipped: a type not accepted
  uint64_t malformed = 0;  ///< reported as bad_message
  uint64_t cancelled = 0;  ///< empty records skipped
};

/// Receives typed messages from a consumer it owns (SpscConsumer,
/// MpmcConsumer, BroadcastSubscriber).
template <RingConsumer Consumer>
class TypedReceiver {
 public:
  explicit TypedReceiver(Consumer ring) : ring_(std::move(ring)) {}
  ~TypedReceiver() { (void)release(); }
  TypedReceiver(TypedReceiver&& o) noexcept
      : ring_(std::move(o.ring_)), current_(std::exchange(o.current_, std::nullopt)),
        accepted_(std::move(o.accepted_)), stats_(o.stats_) {}
  TypedReceiver& operator=(TypedReceiver&&) = delete;

  /// Hands out only messages of type `T` (and of other accepted types).
  template <class T>
  void accept() {
    accepted_.insert(capnp::typeId<T>());
  }

  /// The next accepted message, validated, in place; valid until the next
  /// receive() or release(). Errors: the ring's (timed_out, peer_gone,
  /// message_lost...), bad_message for a malformed message.
  Result<const IncomingMessage*> receive(Deadline deadline) {
    if (auto ec = release()) return ec;
    for (;;) {
      auto view = ring_.read(deadline);
      if (!view) return view.error();
      auto msg = IncomingMessage::open(*view);
      if (!msg) {
        // Overwritten while we looked (broadcast, overwrite policy)? Then
        // that is what happened, not a malformed message.
        if (auto ec = ring_.release()) return ec;
        if (view->empty()) {
          ++stats_.cancelled;
          continue;
        }
        ++stats_.malformed;
        return msg.error();
      }
      if (!accepted_.empty() && !accepted_.count(msg->type_id())) {
        ++stats_.filtered;
        if (auto ec = ring_.release()) return ec;
        continue;
      }
      ++stats_.received;
      current_.emplace(std::move(*msg));
      return &*current_;
    }
  }

  /// Gives the current message's space back; errc::message_lost if it was
  /// overwritten while held (broadcast, overwrite policy).
  std::error_code release() {
    if (!current_) return {};
    current_.reset();
    return ring_.release();
  }

  Consumer& ring() noexcept { return ring_; }
  const ReceiverStats& stats() const noexcept { return stats_; }

 private:
  Consumer ring_;
  std::optional<IncomingMessage> current_;
  std::unordered_set<uint64_t> accepted_;
  ReceiverStats stats_;
};

}  // namespace ringdrop

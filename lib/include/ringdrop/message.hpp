// ringdrop/message.hpp — typed messages: a Cap'n Proto Envelope (see
// lib/schemas/envelope.capnp) carrying the application's struct, built
// straight into ring memory and read where it lies.
//
//   // write: reserve, build in place, commit — no copy at all
//   auto ec = send_message<orders::Order>(producer, deadline, [](orders::Order::Builder o) {
//     o.setId(42);
//     o.setSymbol("EURUSD");
//   });
//
//   // read: validate in place, then use the reader (valid until release())
//   auto view = consumer.read(deadline).value();
//   auto msg = IncomingMessage::open(view);          // errc::bad_message if malformed
//   auto order = msg->payload<orders::Order>();      // errc::bad_message if another type
//   consumer.release();
//
// Typed rings (typed_ring.hpp) and request/response (rpc_client.hpp,
// rpc_server.hpp) are built on the two halves below.
//
// Writing. The record is Cap'n Proto's standard flat format: a segment
// table, then the segments. `send_message` reserves a span in the ring and
// hands Cap'n Proto the span as the message's first segment (after 8 bytes
// kept for a one-segment table), so the builder writes the ring's memory
// directly. Cap'n Proto wants a zeroed first segment; zeroing a whole 64 KiB
// cell for a 100-byte message would cost more than the copy it saves, so
// only an estimate is zeroed (twice the sender's last message, at least
// 256 bytes, `MessageOptions::size_hint` to override). When the message
// outgrows it, Cap'n Proto asks for a second segment, which comes from the
// heap; at the end such a message is flattened and copied into the ring
// (re-reserved to the exact size). So:
//   - in place (no copy) when the message fits the estimate, which after
//     the first message is the common case;
//   - built on the heap and copied once (`HeapMessage` + `send_heap`) when
//     the size is not known in advance, the message is larger than the
//     ring's reservation, or one message goes to several rings.
// bench/ measures both (typed publish rows).
//
// Reading. `IncomingMessage::open` checks the segment table against the
// bytes, walks the whole message once under Cap'n Proto's limits (nesting
// depth 32) and refuses a message whose pointers overlap (reading it would
// cost more than its size: the amplification attack); the envelope's own
// fields are read once too. Anything malformed or truncated is
// errc::bad_message with the reason in last_error_detail(); Cap'n Proto's
// exceptions never leave this file. Readers then get a traversal budget of
// 64 times the message (at least 512 KiB): a program that reads the same
// payload fields more often than that gets a kj::Exception from Cap'n Proto.
// A well-formed message of another type than asked for is
// errc::bad_message too; one no handler knows is errc::unknown_type (the
// RPC server and typed receivers report it, never misread it).
//
// Deadlines in envelopes are CLOCK_MONOTONIC nanoseconds, which every
// process on the host shares; send times are wall-clock nanoseconds.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringdrop/error.hpp"
#include "ringdrop/export.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/schema/envelope.capnp.h"
#include "ringdrop/wait.hpp"

namespace ringdrop {

using schema::Envelope;
using MessageKind = schema::Envelope::Kind;

/// The envelope fields a sender chooses; the library fills the rest
/// (message id, type id, send time).
struct MessageOptions {
  MessageKind kind = MessageKind::NOTIFICATION;
  /// 0: a fresh next_message_id(); a retry passes its first try's id.
  uint64_t message_id = 0;
  uint64_t correlation_id = 0;
  std::string_view reply_to{};         ///< the ring a response goes to
  Deadline deadline = Deadline::max();  ///< max(): none
  uint16_t attempt = 1;
  uint16_t schema_version = 0;
  bool idempotent = false;
  /// Small key/value headers (AMQP headers); keep them few and short.
  std::span<const std::pair<std::string_view, std::string_view>> headers{};
  /// Bytes to zero for the in-place first segment; 0: the sender's estimate.
  size_t size_hint = 0;
};

/// A fresh message id: unique per process (a random 64-bit base drawn at
/// first use and again in a forked child, plus a counter each thread takes
/// in blocks). Increasing within a thread, not across threads.
RINGDROP_API uint64_t next_message_id() noexcept;

/// Deadline <-> envelope nanoseconds (0 is "none").
RINGDROP_API int64_t to_envelope_time(Deadline deadline) noexcept;
RINGDROP_API Deadline from_envelope_time(int64_t ns) noexcept;

/// Fills `env`'s header fields from `options` (payload aside).
RINGDROP_API void fill_envelope(Envelope::Builder env, uint64_t type_id, const MessageOptions& options);

// ------------------------------------------------------------------ reading

/// A validated typed message over bytes it does not own (ring memory, a
/// file, a buffer). Move-only. The bytes must stay valid, and unchanged,
/// while it is used.
class RINGDROP_API IncomingMessage {
 public:
  /// Validates `bytes` (8-byte aligned, as ring records are) and opens the
  /// envelope; errc::bad_message when malformed or truncated.
  static Result<IncomingMessage> open(std::span<const std::byte> bytes);

  Envelope::Reader envelope() const noexcept { return envelope_; }
  uint64_t type_id() const noexcept { return envelope_.getTypeId(); }
  MessageKind kind() const noexcept { return envelope_.getKind(); }
  uint64_t id() const noexcept { return envelope_.getMessageId(); }
  /// The message's own deadline (Deadline::max() when it has none).
  Deadline deadline() const noexcept { return from_envelope_time(envelope_.getDeadlineNs()); }
  /// The value of header `key`, or empty (also once the reader's traversal
  /// budget is spent: each lookup walks the header list again).
  std::string_view header(std::string_view key) const noexcept;

  template <class T>
  bool is() const noexcept {
    return type_id() == capnp::typeId<T>();
  }
  /// The payload as `T`; errc::bad_message when the message carries another type.
  template <class T>
  Result<typename T::Reader> payload() const {
    if (!is<T>()) return wrong_type(capnp::typeId<T>());
    return envelope_.getPayload().template getAs<T>();
  }

  /// The bytes the message was opened on.
  std::span<const std::byte> bytes() const noexcept { return bytes_; }

 private:
  IncomingMessage() = default;
  std::error_code wrong_type(uint64_t wanted) const;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  Envelope::Reader envelope_;
  std::span<const std::byte> bytes_;
};

/// The correlation id of a message that failed validation, read without
/// walking it (only its segment table and root must hold): how a caller
/// ends the one call a malformed reply was meant for. 0 when even that fails.
RINGDROP_API uint64_t peek_correlation_id(std::span<const std::byte> bytes) noexcept;

// ------------------------------------------------------------------ writing

namespace detail {

/// A Cap'n Proto MessageBuilder whose first segment is reserved ring memory
/// (after 8 bytes kept for the segment table); further segments come from
/// the heap. Only `zero_bytes` of the span are zeroed up front.
class RINGDROP_API RingMessageBuilder final : public capnp::MessageBuilder {
 public:
  RingMessageBuilder(std::span<std::byte> span, size_t zero_bytes);
  ~RingMessageBuilder() override;
  kj::ArrayPtr<capnp::word> allocateSegment(unsigned minimum_words) override;

  /// Whether the whole message stayed in the ring span.
  bool in_place() const noexcept { return heap_.empty(); }  // a first segment too big for the span is on the heap too
  /// In place: writes the segment table; returns the record's size in bytes.
  size_t finish_in_place();

 private:
  std::span<std::byte> span_;
  size_t zero_words_;
  bool first_given_ = false;
  std::vector<kj::Array<capnp::word>> heap_;
};

/// Bytes of `segments` in flat form (segment table included).
RINGDROP_API size_t flat_size(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) noexcept;
/// Writes `segments` in flat form into `out` (at least flat_size() bytes).
RINGDROP_API void write_flat(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments,
                             std::span<std::byte> out) noexcept;
/// The reason a Cap'n Proto exception gives, as a ringdrop error.
RINGDROP_API std::error_code from_capnp(const kj::Exception& e, const char* doing);

/// The next zeroing estimate after a message of `bytes`.
inline size_t next_estimate(size_t bytes) noexcept { return bytes < 128 ? 256 : bytes * 2; }

}  // namespace detail

/// What a sender remembers between messages (the zeroing estimate).
struct SenderState {
  size_t estimate = 256;
  uint64_t in_place = 0;  ///< messages built in ring memory
  uint64_t copied = 0;    ///< messages that outgrew it and were copied in
};

/// Builds a `T` message in `ring`'s memory (any ringdrop producer:
/// SpscProducer, MpmcProducer, BroadcastPublisher) and commits it. `fill`
/// gets the payload's builder and may also take the envelope:
/// `fill(T::Builder)` or `fill(T::Builder, Envelope::Builder)`.
/// Errors: the ring's (timed_out, peer_gone, message_too_large...), or
/// bad_message if Cap'n Proto refused what `fill` built (the reservation is
/// then committed empty, which typed readers skip). An exception thrown by
/// `fill` propagates after the same clean-up, except a kj::Exception (Cap'n
/// Proto's), which becomes bad_message.
template <class T, class Producer, class Fill>
std::error_code send_message(Producer& ring, Deadline deadline, Fill&& fill,
                             const MessageOptions& options = {}, SenderState* state = nullptr);

/// A message built on the heap, for when its size is not known in advance
/// or it goes to several rings: build it, then `send_heap` copies it once.
class RINGDROP_API HeapMessage {
 public:
  HeapMessage();
  template <class T>
  typename T::Builder init(const MessageOptions& options = {}) {
    fill_envelope(envelope_, capnp::typeId<T>(), options);
    return envelope_.getPayload().template initAs<T>();
  }
  Envelope::Builder envelope() noexcept { return envelope_; }
  capnp::MessageBuilder& builder() noexcept { return builder_; }
  /// The flat size in bytes (what a ring record of it holds).
  size_t size() { return detail::flat_size(builder_.getSegmentsForOutput()); }

 private:
  capnp::MallocMessageBuilder builder_;
  Envelope::Builder envelope_;
};

/// Copies `message` into `ring` (one copy: reserve the exact size, write).
template <class Producer>
std::error_code send_heap(Producer& ring, HeapMessage& message, Deadline deadline) {
  try {
    auto segments = message.builder().getSegmentsForOutput();
    const size_t size = detail::flat_size(segments);
    auto span = ring.reserve(size, deadline);
    if (!span) return span.error();
    detail::write_flat(segments, *span);
    return ring.commit(size);
  } catch (const kj::Exception& e) {
    return detail::from_capnp(e, "flattening a heap message");
  }
}

// ------------------------------------------------------------ implementation

namespace detail {

template <class T, class Fill>
void call_fill(Fill& fill, typename T::Builder payload, Envelope::Builder env) {
  if constexpr (std::is_invocable_v<Fill&, typename T::Builder, Envelope::Builder>) {
    fill(payload, env);
  } else {
    fill(payload);
  }
}

/// Sends the already-built, overflowed message: flatten, re-reserve, copy.
template <class Producer>
std::error_code send_overflowed(Producer& ring, RingMessageBuilder& b, Deadline deadline) {
  kj::Array<capnp::word> flat = capnp::messageToFlatArray(b);
  auto bytes = flat.asBytes();
  auto span = ring.reserve(bytes.size(), deadline);  // reserving again replaces the open one
  if (!span) {
    (void)ring.commit(0);  // an MPMC or broadcast cell stays reserved otherwise
    return span.error();
  }
  std::memcpy(span->data(), bytes.begin(), bytes.size());
  return ring.commit(bytes.size());
}

/// send_message without the payload's static type: `build(env)` fills the
/// payload of an envelope already stamped with `type_id` and `options`.
template <class Producer, class Build>
std::error_code build_and_send(Producer& ring, uint64_t type_id, Deadline deadline, Build&& build,
                               const MessageOptions& options, SenderState& s) {
  const size_t want = std::min<uint64_t>(ring.max_message_size(), options.size_hint ? options.size_hint : s.estimate);
  // The estimate: it is what the first segment can use (that much is
  // zeroed), and on an SPSC ring all a reservation should wait for. A
  // message that outgrows it is re-reserved at its exact size.
  auto span = ring.reserve(std::max<size_t>(want, 16), deadline);
  if (!span) return span.error();
  try {
    RingMessageBuilder b(*span, want);
    auto env = b.initRoot<Envelope>();
    fill_envelope(env, type_id, options);
    build(env);
    if (b.in_place()) {
      const size_t used = b.finish_in_place();
      s.estimate = next_estimate(used);
      ++s.in_place;
      return ring.commit(used);
    }
    ++s.copied;
    s.estimate = next_estimate(capnp::computeSerializedSizeInWords(b) * sizeof(capnp::word));
    return send_overflowed(ring, b, deadline);
  } catch (const kj::Exception& e) {
    (void)ring.commit(0);  // an empty record: typed readers skip it
    return from_capnp(e, "building a message");
  } catch (...) {
    (void)ring.commit(0);
    throw;
  }
}

}  // namespace detail

template <class T, class Producer, class Fill>
std::error_code send_message(Producer& ring, Deadline deadline, Fill&& fill,
                             const MessageOptions& options, SenderState* state) {
  SenderState local;
  return detail::build_and_send(
      ring, capnp::typeId<T>(), deadline,
      [&](Envelope::Builder env) { detail::call_fill<T>(fill, env.getPayload().template initAs<T>(), env); },
      options, state ? *state : local);
}

}  // namespace ringdrop

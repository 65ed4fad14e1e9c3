// ringdrop/spsc_ring.hpp — one producer, one consumer, variable-length
// records, lock-free, in a shared segment.
//
//   auto tx = SpscProducer::open(Location::shm("demo"), OpenMode::open_or_create).value();
//   auto rx = SpscConsumer::open(Location::shm("demo"), OpenMode::open).value();
//
//   tx.send(bytes_of("hello"), 1s);                 // copy in
//   auto msg = rx.receive(100ms);                   // copy out, or an errc
//
//   auto span = tx.reserve(64, 1s).value();         // zero-copy: write in place
//   std::memcpy(span.data(), payload, 64);
//   tx.commit(64);                                  // visible to the consumer
//   auto view = rx.read(100ms).value();             // read in place
//   use(view);
//   rx.release();                                   // give the bytes back
//
// Records are 8-byte aligned (a Cap'n Proto message can be built and read in
// place) and never wrap. The largest message is `max_message_size()`, half
// the capacity less 8 bytes (a record header): the most that an empty ring
// takes at once wherever its consumer stands, since a record that does not
// fit before the end of the ring is preceded by padding to the end. Anything
// larger is refused with errc::message_too_large at once, never waited for.
//
// Batching: `stage()` finishes a record without publishing it and
// `publish()` makes every staged record visible with one store and at most
// one wake-up; `commit()` is stage + publish. On the consumer side, `read()`
// hands out views in order and `release()` frees every record read so far,
// so several reads and one release is a batch release. A consumer that holds
// unreleased records while it waits for more can leave a producer waiting
// for their space: release before a blocking read when batching.
//
// Peers: each handle claims its role in the segment when opened (one live
// producer and one live consumer at a time; a second gets errc::role_taken).
// If the producer dies, even by `kill -9` between reserve and commit, the
// consumer first receives every record that was committed, then
// errc::peer_gone; a new producer can attach and carry on, and nothing
// committed is lost. If the consumer dies, records it read but had not
// released are delivered again to the next consumer (at-least-once).
// Destroying a producer publishes what it staged and detaches; destroying a
// consumer detaches without releasing what it had not released.
//
// A handle belongs to the process that opened it and is used by one thread
// at a time. After fork() the child must not use the parent's handles; their
// destructors do nothing in the child. A moved-from handle may only be
// destroyed or assigned to.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "ringdrop/error.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/ring_contract.hpp"
#include "ringdrop/ring_options.hpp"
#include "ringdrop/segment.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop {

namespace detail {
struct SpscControl;
struct RoleSlot;
class DeadLetterSink;
}

/// A snapshot of a ring's counters, read without disturbing it.
struct SpscStats {
  uint64_t capacity = 0;
  uint64_t bytes_in_flight = 0;  ///< published, not yet released (incl. headers): the fill
  uint64_t high_water = 0;       ///< the largest fill the producer saw when it checked for room
  uint64_t messages_published = 0;
  uint64_t messages_released = 0;
  uint64_t bytes_published = 0;  ///< payload bytes
  uint64_t bytes_released = 0;
  uint64_t producer_waits = 0;   ///< blocking reserves that found the ring full
  uint64_t consumer_waits = 0;   ///< blocking reads that found the ring empty
  uint64_t consumer_sleeps = 0;  ///< times the consumer slept on an empty ring
  uint64_t producer_sleeps = 0;  ///< times the producer slept on a full ring
  uint64_t dead_lettered = 0;    ///< records set aside: max_deliveries reached, or rejected
  uint32_t producer_pid = 0;     ///< 0 when no process holds the role
  uint32_t consumer_pid = 0;
};

/// Reads the counters of the SPSC ring at `where` without attaching to it.
RINGDROP_API Result<SpscStats> inspect_spsc(const Location& where);

/// Copies of up to `max` messages waiting in the SPSC ring at `where`,
/// oldest first, read without attaching or moving anything (`ringdrop
/// tail`): the consumer still gets every one. A look races the consumer: it
/// stops at the first message the consumer releases while it is copied, so
/// it may return fewer than wait. Errors: as inspect_spsc.
RINGDROP_API Result<std::vector<std::vector<std::byte>>> peek_spsc(const Location& where, size_t max);

class RINGDROP_API SpscProducer {
 public:
  static Result<SpscProducer> open(const Location& where, OpenMode how,
                                   const RingOptions& options = {});

  SpscProducer(SpscProducer&& other) noexcept;
  SpscProducer& operator=(SpscProducer&& other) noexcept;
  ~SpscProducer();

  /// A writable span of `size` bytes inside the ring, or would_block /
  /// message_too_large. Calling reserve again abandons an open reservation.
  /// A reservation that finds no room publishes what was staged, so the
  /// consumer can make room.
  Result<std::span<std::byte>> try_reserve(size_t size);
  Result<std::span<std::byte>> reserve(size_t size, Deadline deadline);
  Result<std::span<std::byte>> reserve(size_t size, std::chrono::nanoseconds timeout);

  /// Finishes the open reservation with its first `used` bytes and publishes
  /// it. errc::invalid_argument if nothing is reserved or `used` is larger
  /// than what was reserved.
  std::error_code commit(size_t used);
  /// Finishes the open reservation without publishing it (batching).
  std::error_code stage(size_t used);
  /// Makes every staged record visible to the consumer.
  void publish() noexcept;

  /// Copying conveniences: reserve, copy, commit.
  std::error_code try_send(std::span<const std::byte> message);
  std::error_code send(std::span<const std::byte> message, Deadline deadline);
  std::error_code send(std::span<const std::byte> message, std::chrono::nanoseconds timeout);

  uint64_t max_message_size() const noexcept;
  SpscStats stats() const noexcept;
  const Segment& segment() const noexcept { return segment_; }

 private:
  SpscProducer(Segment segment, const RingOptions& options) noexcept;
  void take(SpscProducer& other) noexcept;
  std::error_code attach();
  void detach() noexcept;
  bool has_room(uint64_t bytes) noexcept;
  void put_header(uint32_t size, uint32_t tag) noexcept;
  void clean_ahead() noexcept;

  Segment segment_;
  detail::SpscControl* ctl_ = nullptr;  // null in a moved-from handle
  std::byte* data_ = nullptr;
  uint64_t capacity_ = 0;
  WaitStrategy wait_;
  pid_t owner_ = 0;              // the process that opened the handle
  uint64_t write_ = 0;           // end of what is staged (local)
  uint64_t published_ = 0;       // last tail we stored
  uint64_t head_cache_ = 0;      // last head we saw (the consumer's index)
  uint64_t held_header_ = 0;     // header of the record at published_, stored by publish()
  uint64_t clean_from_ = 0;      // [clean_from_, clean_to_): free words we know are zero
  uint64_t clean_to_ = 0;
  uint64_t reserved_size_ = 0;   // payload bytes of the open reservation
  bool reserved_ = false;
  uint64_t messages_ = 0;        // messages staged, ever
  uint64_t bytes_ = 0;           // payload bytes staged, ever
};

class RINGDROP_API SpscConsumer {
 public:
  static Result<SpscConsumer> open(const Location& where, OpenMode how,
                                   const RingOptions& options = {});

  SpscConsumer(SpscConsumer&& other) noexcept;
  SpscConsumer& operator=(SpscConsumer&& other) noexcept;
  ~SpscConsumer();

  /// A read-only view of the next message, in place. It stays valid until
  /// release(). Errors: would_block / timed_out (nothing arrived),
  /// peer_gone (the producer died or left and everything it committed has
  /// been read), corrupted (an impossible record header or index).
  Result<std::span<const std::byte>> try_read();
  Result<std::span<const std::byte>> read(Deadline deadline);
  Result<std::span<const std::byte>> read(std::chrono::nanoseconds timeout);

  /// Gives back the space of every message read so far. Always succeeds
  /// (an error_code, as every ring kind's release() returns one).
  std::error_code release() noexcept;

  /// Poison messages (ring_dead_letters.hpp). A consumer that dies holding
  /// records leaves them to be read again by the next one; the record it
  /// was furthest on when it died is counted, and once it has been read
  /// `max_deliveries` times (RingOptions) the next consumer sets it aside
  /// as a dead letter instead of delivering it. With one message processed
  /// at a time (read, process, release), that record is the one being
  /// processed.
  ///
  /// How many times the message read last has been delivered, this time
  /// included: 1, or for a record a consumer that died had already passed,
  /// 2 ("at least twice"). 0 before the first read.
  uint32_t delivery_count() const noexcept { return last_deliveries_; }
  /// Sets the message read last aside as a dead letter now, with `reason`;
  /// it is released with the others held (at once if it is the only one).
  /// Errors: invalid_argument (nothing held), or the store's (the message
  /// stays held).
  std::error_code reject(std::string_view reason);
  /// The ring's limit (RingOptions::max_deliveries as chosen at creation).
  uint32_t max_deliveries() const noexcept { return max_deliveries_; }

  /// Copying conveniences: read, copy, release.
  Result<std::vector<std::byte>> try_receive();
  Result<std::vector<std::byte>> receive(Deadline deadline);
  Result<std::vector<std::byte>> receive(std::chrono::nanoseconds timeout);

  SpscStats stats() const noexcept;
  /// The largest message the ring carries (as the producer's).
  uint64_t max_message_size() const noexcept;
  const Segment& segment() const noexcept { return segment_; }

 private:
  SpscConsumer(Segment segment, const RingOptions& options) noexcept;
  void take(SpscConsumer& other) noexcept;
  std::error_code attach();
  void detach() noexcept;
  bool counted_first_read(uint64_t at) noexcept;
  bool deliverable_again(uint64_t at, std::span<const std::byte> view, std::error_code& failed);
  void set_aside_furthest() noexcept;

  Segment segment_;
  detail::SpscControl* ctl_ = nullptr;  // null in a moved-from handle
  std::byte* data_ = nullptr;
  uint64_t capacity_ = 0;
  WaitStrategy wait_;
  pid_t owner_ = 0;          // the process that opened the handle
  uint64_t read_ = 0;        // next record to read (local)
  uint64_t released_ = 0;    // last head we stored
  uint64_t unreleased_ = 0;  // messages read since the last release
  uint64_t unreleased_bytes_ = 0;
  uint64_t messages_ = 0;    // messages released, ever
  uint64_t bytes_ = 0;       // payload bytes released, ever
  uint32_t max_deliveries_ = 5;
  uint32_t last_deliveries_ = 0;
  uint64_t last_at_ = 0;     // position of the message read last
  uint32_t last_size_ = 0;
  std::shared_ptr<detail::DeadLetterSink> dead_letters_;  // shared: the handle moves
};

static_assert(RingProducer<SpscProducer>);
static_assert(RingConsumer<SpscConsumer>);

}  // namespace ringdrop

// ringdrop/broadcast_ring.hpp — publish/subscribe: one publisher, up to 64
// subscribers, each with its own cursor; every subscriber sees every message
// in order (or is told exactly what it missed).
//
//   BroadcastOptions o;
//   o.policy = SlowSubscriber::overwrite;      // or block (the default)
//   auto pub = BroadcastPublisher::open(Location::shm("prices"), OpenMode::open_or_create, o).value();
//   auto sub = BroadcastSubscriber::open(Location::shm("prices"), OpenMode::open, {},
//                                        StartAt::newest).value();
//   pub.send(bytes_of("EURUSD 1.0841"), 1s);
//   auto tick = sub.receive(1s);              // or errc::message_lost: sub.last_missed()
//
// The API is the other rings': zero-copy reserve/commit (stage/publish for
// batches), in-place read/release, copying send/receive, try_ variants and
// deadlines. Messages live in fixed-size cells (cell_size - 16 bytes at
// most), like the MPMC ring. What a slow subscriber costs is chosen at creation:
//   - block: the publisher waits for the slowest live subscriber. A
//     subscriber that dies is detected at the publisher's next liveness check
//     and dropped, so it never blocks the publisher for long.
//   - overwrite: the publisher never waits. A subscriber that falls a whole
//     ring behind is lapped: its next read returns errc::message_lost,
//     `last_missed()` says exactly how many messages it missed, and it goes
//     on from the oldest message still there. A message overwritten while a
//     subscriber held its in-place view is caught by release(), which then
//     returns errc::message_lost (the copying receive() does this for you).
//
// Subscribers join late from the newest message (only what is published
// from now on) or from the oldest one still retained. Subscribers that die
// are detached automatically and their slots reused. A subscriber gets
// errc::peer_gone when the publisher died or left and it has read everything
// published; a new publisher may attach and carry on from there.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ringdrop/error.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"
#include "ringdrop/ring_contract.hpp"
#include "ringdrop/ring_options.hpp"
#include "ringdrop/shared_ring_stats.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop {

namespace detail {
struct BroadcastControl;
}

enum class SlowSubscriber : uint32_t {
  block = 0,      ///< the publisher waits for the slowest live subscriber
  overwrite = 1,  ///< the publisher never waits; slow subscribers are lapped
};

enum class StartAt { newest, oldest };

struct BroadcastOptions : RingOptions {
  /// Bytes per cell, a power of two >= 64; the largest message is 16 less.
  /// 0: 256 when creating, whatever it is when opening.
  uint32_t cell_size = 0;
  /// Chosen at creation; ignored when opening.
  SlowSubscriber policy = SlowSubscriber::block;
};

RINGDROP_API Result<SharedRingStats> inspect_broadcast(const Location& where);

class RINGDROP_API BroadcastPublisher {
 public:
  static Result<BroadcastPublisher> open(const Location& where, OpenMode how,
                                         const BroadcastOptions& options = {});
  BroadcastPublisher(BroadcastPublisher&& other) noexcept;
  BroadcastPublisher& operator=(BroadcastPublisher&& other) noexcept;
  ~BroadcastPublisher();

  /// A writable span in the next cell. With the block policy, waits while
  /// the slowest live subscriber is a whole ring behind.
  Result<std::span<std::byte>> try_reserve(size_t size);
  Result<std::span<std::byte>> reserve(size_t size, Deadline deadline);
  Result<std::span<std::byte>> reserve(size_t size, std::chrono::nanoseconds timeout);
  /// Publishes the reserved message with its first `used` bytes.
  std::error_code commit(size_t used);
  /// Finishes the reserved message without publishing it (batching): every
  /// staged message appears at the next publish() (or commit()).
  std::error_code stage(size_t used);
  void publish() noexcept;

  std::error_code try_send(std::span<const std::byte> message);
  std::error_code send(std::span<const std::byte> message, Deadline deadline);
  std::error_code send(std::span<const std::byte> message, std::chrono::nanoseconds timeout);

  uint64_t max_message_size() const noexcept { return cell_size_ - 16; }
  SharedRingStats stats() const;
  const Segment& segment() const noexcept { return segment_; }

 private:
  BroadcastPublisher(Segment segment, const BroadcastOptions& options) noexcept;
  std::error_code attach();
  void detach() noexcept;
  bool has_room(bool refresh) noexcept;
  std::byte* cell(uint64_t message) const noexcept;

  Segment segment_;
  detail::BroadcastControl* ctl_ = nullptr;  // null in a moved-from handle
  std::byte* data_ = nullptr;
  uint64_t cell_size_ = 0;
  uint64_t cells_ = 0;
  bool block_ = true;
  WaitStrategy wait_;
  pid_t owner_ = 0;
  uint64_t next_ = 0;          // message number of the next reserve
  uint64_t published_ = 0;     // messages below this are published; up to next_, staged
  uint64_t staged_bytes_ = 0;
  uint64_t min_cursor_ = 0;    // slowest live subscriber, as last seen
  uint64_t epoch_ = 0;         // subscriber joins, as last seen
  uint64_t reserved_size_ = 0;
  bool has_reservation_ = false;
};

class RINGDROP_API BroadcastSubscriber {
 public:
  static Result<BroadcastSubscriber> open(const Location& where, OpenMode how,
                                          const BroadcastOptions& options = {},
                                          StartAt start = StartAt::newest);
  BroadcastSubscriber(BroadcastSubscriber&& other) noexcept;
  BroadcastSubscriber& operator=(BroadcastSubscriber&& other) noexcept;
  ~BroadcastSubscriber();

  /// The next message, in place. errc::message_lost when this subscriber was
  /// lapped (see last_missed()); the next call goes on after the gap.
  Result<std::span<const std::byte>> try_read();
  Result<std::span<const std::byte>> read(Deadline deadline);
  Result<std::span<const std::byte>> read(std::chrono::nanoseconds timeout);
  /// Done with every message read so far. With the overwrite policy,
  /// errc::message_lost if one of them was overwritten while held: its view
  /// may have been torn, and it counts as missed.
  std::error_code release() noexcept;

  /// Copying conveniences (read, copy, check, release).
  Result<std::vector<std::byte>> try_receive();
  Result<std::vector<std::byte>> receive(Deadline deadline);
  Result<std::vector<std::byte>> receive(std::chrono::nanoseconds timeout);

  /// Messages missed at the last errc::message_lost.
  uint64_t last_missed() const noexcept { return last_missed_; }
  /// The number of the next message this subscriber will read.
  uint64_t position() const noexcept { return next_; }
  /// The largest message the ring carries (cell size - 16).
  uint64_t max_message_size() const noexcept { return cell_size_ - 16; }
  SharedRingStats stats() const;
  const Segment& segment() const noexcept { return segment_; }

 private:
  BroadcastSubscriber(Segment segment, const BroadcastOptions& options) noexcept;
  std::error_code attach(StartAt start);
  void detach() noexcept;
  std::error_code lapped(uint64_t now_oldest) noexcept;
  std::byte* cell(uint64_t message) const noexcept;

  Segment segment_;
  detail::BroadcastControl* ctl_ = nullptr;  // null in a moved-from handle
  std::byte* data_ = nullptr;
  uint64_t cell_size_ = 0;
  uint64_t cells_ = 0;
  WaitStrategy wait_;
  pid_t owner_ = 0;
  unsigned index_ = 0;       // our peer entry
  uint64_t next_ = 0;        // next message to read
  uint64_t released_ = 0;    // cursor as last stored
  uint64_t last_missed_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> held_;  // (message, state) read, not released
};

static_assert(RingProducer<BroadcastPublisher>);
static_assert(RingConsumer<BroadcastSubscriber>);

}  // namespace ringdrop

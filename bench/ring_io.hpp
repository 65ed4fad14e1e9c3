// ring_io.hpp — the ringdrop plumbing every ring measurement shares: the
// three ring kinds behind one interface (traits), fresh shm names, ring
// sizing, and copying messages in and out with finite waits.
//
// The SPSC, MPMC and broadcast handles spell the same calls the same way
// (try_reserve / reserve / commit, try_read / read / release), so one
// template serves all three; the few differences (the broadcast
// subscriber's release() can report a lost message) are the overloads
// below.
#pragma once

#include <bit>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "harness.hpp"

namespace pingpong {

using ringdrop::errc;
using ringdrop::OpenMode;
using ringdrop::WaitStrategy;

constexpr uint64_t kBatchMessages = 32;

/// The largest payload of the cell-based rings is the cell size less 16.
constexpr uint64_t cell_size_for(uint64_t size) {
  return std::max<uint64_t>(64, std::bit_ceil(size + 16));
}

// ================================================================ ring kinds

/// name, Tx/Rx handle types, how to fill in their options, and the bytes
/// of ring one message of `size` bytes occupies.
struct SpscRing {
  static constexpr const char* kName = "spsc";
  using Tx = ringdrop::SpscProducer;
  using Rx = ringdrop::SpscConsumer;
  using Options = ringdrop::RingOptions;
  /// 8-byte header, payload padded to 8.
  static uint64_t footprint(uint64_t size) { return 8 + ((size + 7) & ~uint64_t{7}); }
  /// capacity 0: opening an existing ring, whatever it holds.
  static Options options(uint64_t capacity, uint64_t /*size*/, WaitStrategy wait) {
    Options o;
    o.capacity = capacity;
    o.wait = wait;
    return o;
  }
};

struct MpmcRing {
  static constexpr const char* kName = "mpmc";
  using Tx = ringdrop::MpmcProducer;
  using Rx = ringdrop::MpmcConsumer;
  using Options = ringdrop::MpmcOptions;
  static uint64_t footprint(uint64_t size) { return cell_size_for(size); }
  static Options options(uint64_t capacity, uint64_t size, WaitStrategy wait) {
    Options o;
    o.capacity = capacity;
    o.wait = wait;
    o.cell_size = capacity != 0 ? static_cast<uint32_t>(cell_size_for(size)) : 0;
    return o;
  }
};

/// Block policy: the publisher waits for the slowest subscriber, so every
/// subscriber receives every message.
struct BroadcastRing {
  static constexpr const char* kName = "broadcast";
  using Tx = ringdrop::BroadcastPublisher;
  using Rx = ringdrop::BroadcastSubscriber;
  using Options = ringdrop::BroadcastOptions;
  static uint64_t footprint(uint64_t size) { return cell_size_for(size); }
  static Options options(uint64_t capacity, uint64_t size, WaitStrategy wait) {
    Options o;
    o.capacity = capacity;
    o.wait = wait;
    o.cell_size = capacity != 0 ? static_cast<uint32_t>(cell_size_for(size)) : 0;
    o.policy = ringdrop::SlowSubscriber::block;
    return o;
  }
};

/// Opens (or creates, with `capacity` != 0) a ring's sending end.
template <class Ring>
typename Ring::Tx open_tx(const ringdrop::Location& where, OpenMode how, uint64_t capacity,
                          uint64_t size, WaitStrategy wait) {
  return take(Ring::Tx::open(where, how, Ring::options(capacity, size, wait)), "open sender");
}

/// Opens (or creates) a ring's receiving end.
template <class Ring>
typename Ring::Rx open_rx(const ringdrop::Location& where, OpenMode how, uint64_t capacity,
                          uint64_t size, WaitStrategy wait) {
  return take(Ring::Rx::open(where, how, Ring::options(capacity, size, wait)), "open receiver");
}

// ================================================================ sizing

/// Latency rings hold a few messages (at least 64 KiB), so the warm-up can
/// lap them once and no page fault lands in the timed part.
template <class Ring>
uint64_t rtt_capacity(uint64_t size) {
  return std::max<uint64_t>(64 * KiB, std::bit_ceil(4 * Ring::footprint(size)));
}

/// Warm-up messages: a tenth of the timed ones, and at least one lap of the ring.
template <class Ring>
uint64_t warmup_for(uint64_t iters, uint64_t capacity, uint64_t size) {
  return std::max(iters / 10, capacity / Ring::footprint(size) + 16);
}

// ================================================================ names

/// Fresh shm names for one measurement. remove() drops them as soon as
/// every process has the rings mapped (so an interrupted run leaves nothing
/// in /dev/shm); the destructor drops them on an early error.
class RingNames {
 public:
  explicit RingNames(unsigned count);
  RingNames(const RingNames&) = delete;
  RingNames& operator=(const RingNames&) = delete;
  ~RingNames() { remove(); }
  const ringdrop::Location& operator[](unsigned i) const { return names_.at(i); }
  void remove() noexcept;

 private:
  std::vector<ringdrop::Location> names_;
  bool removed_ = false;
};

constexpr unsigned kPing = 0;  // parent -> child
constexpr unsigned kPong = 1;  // child -> parent

/// One side's handles of a round trip: it writes to `tx` and reads from `rx`.
template <class Ring>
struct Ends {
  typename Ring::Tx tx;
  typename Ring::Rx rx;
};

/// The parent creates both rings: it sends on ping and receives on pong.
template <class Ring>
Ends<Ring> create_parent_ends(const RingNames& names, uint64_t capacity, uint64_t size,
                              WaitStrategy wait) {
  return Ends<Ring>{open_tx<Ring>(names[kPing], OpenMode::create, capacity, size, wait),
                    open_rx<Ring>(names[kPong], OpenMode::create, capacity, size, wait)};
}

/// The same, for rows whose return ring carries only 8-byte acks: a small
/// pong ring of `ack_capacity` bytes, so the measured ping ring has the
/// cache to itself.
template <class Ring>
Ends<Ring> create_parent_ends_with_acks(const RingNames& names, uint64_t capacity, uint64_t size,
                                        WaitStrategy wait, uint64_t ack_capacity) {
  return Ends<Ring>{open_tx<Ring>(names[kPing], OpenMode::create, capacity, size, wait),
                    open_rx<Ring>(names[kPong], OpenMode::create, ack_capacity, 8, wait)};
}

/// The child opens them the other way round.
template <class Ring>
Ends<Ring> open_child_ends(const RingNames& names, WaitStrategy wait) {
  return Ends<Ring>{open_tx<Ring>(names[kPong], OpenMode::open, 0, 0, wait),
                    open_rx<Ring>(names[kPing], OpenMode::open, 0, 0, wait)};
}

// ================================================================ the differences

inline void release_reads(ringdrop::SpscConsumer& rx) { rx.release(); }
inline void release_reads(ringdrop::MpmcConsumer& rx) { rx.release(); }
inline void release_reads(ringdrop::BroadcastSubscriber& rx) { check(rx.release(), "release"); }

/// Finishes the open reservation; visible at the next publish_staged().
template <class Tx>
void stage_message(Tx& tx, size_t size) {
  check(tx.stage(size), "stage");
}

template <class Tx>
void publish_staged(Tx& tx) {
  tx.publish();
}

// ================================================================ messages

/// A reservation without reading the clock when there is room at once.
template <class Tx>
std::span<std::byte> reserve_or_wait(Tx& tx, size_t size) {
  auto span = tx.try_reserve(size);
  if (!span && span.error() == errc::would_block) span = tx.reserve(size, kTimeout);
  return take(std::move(span), "reserve");
}

/// The next message, without reading the clock when one is there. Before it
/// blocks it releases everything read so far (the producer may be waiting
/// for that room), so views from earlier reads must no longer be in use.
template <class Rx>
std::span<const std::byte> read_or_wait(Rx& rx) {
  auto view = rx.try_read();
  if (!view && view.error() == errc::would_block) {
    release_reads(rx);
    view = rx.read(kTimeout);
  }
  return take(std::move(view), "read");
}

/// Reserves room and copies `payload` in, with `seq` in its first 8 bytes.
/// The caller then commits (or stages) it.
template <class Tx>
void write_message(Tx& tx, uint64_t seq, std::span<std::byte> payload) {
  std::memcpy(payload.data(), &seq, sizeof seq);
  auto span = reserve_or_wait(tx, payload.size());
  std::memcpy(span.data(), payload.data(), payload.size());
}

/// Reads the next message and copies it into `sink` (which must be its
/// size). Does not release.
template <class Rx>
void copy_out(Rx& rx, std::span<std::byte> sink) {
  const auto view = read_or_wait(rx);
  if (view.size() != sink.size()) throw BenchError("received a message of the wrong size");
  std::memcpy(sink.data(), view.data(), view.size());
}

/// copy_out, returning the message's seq (its first 8 bytes).
template <class Rx>
uint64_t copy_out_message(Rx& rx, std::span<std::byte> sink) {
  copy_out(rx, sink);
  uint64_t seq = 0;
  std::memcpy(&seq, sink.data(), sizeof seq);
  return seq;
}

// ================================================================ acknowledgements

// Acknowledgements a child sends on its tx ring (8-byte messages).
constexpr uint64_t kAttached = 0;  // it has opened both rings
constexpr uint64_t kWarm = 1;      // it has received the warm-up messages
constexpr uint64_t kDone = 2;      // it has received the timed messages

template <class Tx>
void send_ack(Tx& tx, uint64_t value) {
  std::byte ack[sizeof value];
  write_message(tx, value, ack);  // the value is the message
  check(tx.commit(sizeof ack), "commit");
}

void check_ack(std::span<const std::byte> view, uint64_t value);

template <class Rx>
void expect_ack(Rx& rx, uint64_t value) {
  check_ack(read_or_wait(rx), value);
  release_reads(rx);
}

/// Waits for the child's kAttached, polling so that a child that dies before
/// it attaches is reported at once rather than after kTimeout. Then drops
/// the names: both processes have the rings mapped.
template <class Rx>
void await_attached(Rx& rx, RingNames& names, Child& child) {
  LazyDeadline deadline("waiting for the child to attach");
  for (;;) {
    auto view = rx.read(100ms);
    if (view) {
      check_ack(*view, kAttached);
      break;
    }
    if (view.error() != errc::timed_out) throw_ring_error("wait for the child", view.error());
    child.throw_if_exited();
    deadline.check();
  }
  release_reads(rx);
  names.remove();
}

}  // namespace pingpong

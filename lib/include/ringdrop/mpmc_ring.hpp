// ringdrop/mpmc_ring.hpp — many producers, competing consumers: each message
// goes to exactly one consumer.
//
//   MpmcOptions o;
//   o.cell_size = 512;                        // largest message: 512 - 16
//   auto tx = MpmcProducer::open(Location::shm("jobs"), OpenMode::open_or_create, o).value();
//   auto rx = MpmcConsumer::open(Location::shm("jobs"), OpenMode::open).value();
//   tx.send(bytes_of("job 1"), 1s);
//   auto job = rx.receive(1s);
//
// The API is the SPSC ring's: zero-copy reserve/commit (stage/publish for
// batches), in-place read/release, copying send/receive, try_ variants and
// deadlines. Any number of processes may attach (up to 64 in all).
//
// Messages live in fixed-size cells (see cell_layout.hpp for why); any
// message up to `max_message_size()` = cell_size - 16 fits, a larger one is
// errc::message_too_large at once. Consumers take messages in the order
// producers claimed their cells; with several producers that is the order
// of their reserve() calls, not of their commit() calls.
//
// Crashes. No lock is held across processes; a peer that dies is found by
// the others at their next liveness check (WaitStrategy::liveness_interval)
// and its cells are repaired, so nothing wedges:
//   - a producer that dies between reserve and commit: its cell is
//     abandoned (skipped and counted in `abandoned`); everything committed
//     before and after it is delivered;
//   - a consumer that dies holding messages (read, not released): per the
//     ring's `on_consumer_death` policy, chosen at creation, they are either
//     delivered again to another consumer (`redeliver`: at-least-once,
//     counted in `redelivered`) or dropped (`drop`: at-most-once, counted in
//     `lost`).
// Poison messages. Under `redeliver`, a message is delivered at most
// `max_deliveries` times: one that every consumer dies on is then set aside
// as a dead letter (ring_dead_letters.hpp), its cell freed, and the ring goes
// on. delivery_count() tells a consumer how many times the message it read
// has been handed out; reject() sets one aside at once.
// A consumer gets errc::peer_gone when no producer is attached any more
// (and one was) and everything committed has been taken; a producer waiting
// for room gets it when no consumer is attached any more (and one was).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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
struct MpmcControl;
struct CellHeader;
class DeadLetterSink;
/// The lap of a cell, as its state word holds it: 40 bits (mpmc_layout.hpp).
inline constexpr uint64_t kLapMask = (uint64_t{1} << 40) - 1;
}

/// What happens to messages a consumer held (read, not released) when it dies.
enum class OnConsumerDeath : uint32_t {
  redeliver = 0,  ///< another consumer gets them (at-least-once)
  drop = 1,       ///< they are counted as lost (at-most-once)
};

struct MpmcOptions : RingOptions {
  /// Bytes per cell, a power of two >= 64; the largest message is 16 less.
  /// 0: 256 when creating, whatever it is when opening.
  uint32_t cell_size = 0;
  /// Chosen at creation; ignored when opening.
  OnConsumerDeath on_consumer_death = OnConsumerDeath::redeliver;
  // max_deliveries and dead_letters: RingOptions.
};

RINGDROP_API Result<SharedRingStats> inspect_mpmc(const Location& where);

/// Copies of up to `max` messages waiting in the MPMC ring at `where`
/// (committed and not taken, and orphans awaiting redelivery), oldest first,
/// read without attaching or taking any (`ringdrop tail`). A message a
/// consumer takes while it is copied is left out. `held`, if given, gets
/// the number of messages consumers hold (read, not released: a dead
/// consumer's are redelivered or lost, per the ring's policy). Errors: as
/// inspect_mpmc; corrupted if the segment is truncated during the look.
RINGDROP_API Result<std::vector<std::vector<std::byte>>> peek_mpmc(const Location& where, size_t max,
                                                                   uint64_t* held = nullptr);

/// What MPMC producers and consumers share: the segment, the peer entry, waits.
class RINGDROP_API MpmcEndpoint {
 public:
  MpmcEndpoint(MpmcEndpoint&& other) noexcept;
  MpmcEndpoint& operator=(MpmcEndpoint&& other) noexcept;
  ~MpmcEndpoint();

  uint64_t max_message_size() const noexcept { return cell_size_ - 16; }
  SharedRingStats stats() const;
  const Segment& segment() const noexcept { return segment_; }

 protected:
  MpmcEndpoint(Segment segment, const MpmcOptions& options) noexcept;
  std::error_code join(bool producer);
  void leave() noexcept;
  void reap() noexcept;                   // recover dead peers now
  void recover(unsigned index, uint64_t generation) noexcept;  // a departed peer's cells
  bool peers_gone(bool producers) noexcept;
  // A position's cell and lap. Inline: every claim and take needs both, and
  // the producer and consumer are compiled apart from the endpoint.
  std::byte* cell(uint64_t position) const noexcept {
    return data_ + (position & (cells_ - 1)) * cell_size_;
  }
  uint64_t lap(uint64_t position) const noexcept {
    return (position >> cell_shift_) & detail::kLapMask;
  }
  uint64_t me() const noexcept { return uint64_t{1} << index_; }  // this handle's waiter bit

  Segment segment_;
  detail::MpmcControl* ctl_ = nullptr;  // null in a moved-from handle
  std::byte* data_ = nullptr;
  uint64_t cell_size_ = 0;
  uint64_t cells_ = 0;
  unsigned cell_shift_ = 0;
  bool redeliver_ = true;
  WaitStrategy wait_;
  unsigned index_ = 0;        // our peer entry
  uint64_t generation_ = 0;   // of our entry, as stored in cells we hold
  pid_t owner_ = 0;
};

class RINGDROP_API MpmcProducer : public MpmcEndpoint {
 public:
  static Result<MpmcProducer> open(const Location& where, OpenMode how,
                                   const MpmcOptions& options = {});
  MpmcProducer(MpmcProducer&&) noexcept = default;
  MpmcProducer& operator=(MpmcProducer&&) noexcept;
  ~MpmcProducer();

  Result<std::span<std::byte>> try_reserve(size_t size);
  Result<std::span<std::byte>> reserve(size_t size, Deadline deadline);
  Result<std::span<std::byte>> reserve(size_t size, std::chrono::nanoseconds timeout);
  std::error_code commit(size_t used);
  std::error_code stage(size_t used);
  void publish() noexcept;
  /// commit() in two steps: the record becomes visible (a consumer that
  /// looks takes it), then wake() wakes the consumers asleep on the ring.
  /// For a producer that notes what it committed before a consumer can act
  /// on it: a wake often hands the CPU to the consumer it wakes, so a note
  /// taken after commit() may come after the consumer acted, and a producer
  /// killed in between loses the note. ringdrop-bridge records each message
  /// id between the two (its dedupe). Errors: commit()'s. Every
  /// commit_unwoken() must be followed by wake(); until then sleepers wake
  /// only at their next liveness check or deadline.
  std::error_code commit_unwoken(size_t used);
  void wake() noexcept;

  std::error_code try_send(std::span<const std::byte> message);
  std::error_code send(std::span<const std::byte> message, Deadline deadline);
  std::error_code send(std::span<const std::byte> message, std::chrono::nanoseconds timeout);

  /// Whether every consumer that ever attached has died or left and none is
  /// attached now (dead ones are reaped first): what a waiting reserve()
  /// reports as errc::peer_gone. A request/response client asks this while
  /// it waits for an answer.
  bool consumers_gone() noexcept { return peers_gone(false); }

 private:
  using MpmcEndpoint::MpmcEndpoint;
  void close() noexcept;
  void note_fill(uint64_t pos) noexcept;
  void publish_unwoken() noexcept;
  uint64_t reserved_ = 0;       // position of the open reservation
  uint64_t reserved_size_ = 0;
  bool has_reservation_ = false;
  std::vector<uint64_t> staged_;  // positions written, not yet published
};

class RINGDROP_API MpmcConsumer : public MpmcEndpoint {
 public:
  static Result<MpmcConsumer> open(const Location& where, OpenMode how,
                                   const MpmcOptions& options = {});
  MpmcConsumer(MpmcConsumer&&) noexcept = default;
  MpmcConsumer& operator=(MpmcConsumer&&) noexcept;
  ~MpmcConsumer();

  Result<std::span<const std::byte>> try_read();
  Result<std::span<const std::byte>> read(Deadline deadline);
  Result<std::span<const std::byte>> read(std::chrono::nanoseconds timeout);
  /// Gives back every message read so far. Always succeeds (an
  /// error_code, as every ring kind's release() returns one).
  std::error_code release() noexcept;
  /// Gives back the `count` messages read first of those held (all, if
  /// fewer are held), keeping the others held: for a consumer that
  /// finishes messages in the order it read them while it reads on (the
  /// bridge releases what the broker confirmed, with later ones in flight).
  std::error_code release_oldest(size_t count) noexcept;

  /// How many times the message read last has been handed to a consumer,
  /// this time included: 1, unless consumers died holding it (or closed
  /// without releasing it). 0 before the first read.
  uint32_t delivery_count() const noexcept { return last_deliveries_; }
  /// Sets the message read last (held, not released) aside as a dead letter
  /// now, with `reason`, and frees its cell: "this consumer cannot process
  /// it". Other held messages stay held. Errors: invalid_argument (nothing
  /// held), or the store's (not writable, full, ...: the message stays held).
  std::error_code reject(std::string_view reason);
  /// The ring's limit (RingOptions::max_deliveries as chosen at creation).
  uint32_t max_deliveries() const noexcept { return max_deliveries_; }
  /// Called after this consumer has set a message aside for having had its
  /// deliveries (not after reject()), with its bytes (valid during the
  /// call) and the deliveries: a request/response server answers the
  /// caller. An exception it throws is swallowed.
  using DeadLetterFn = std::function<void(std::span<const std::byte> message, uint32_t deliveries)>;
  void on_dead_letter(DeadLetterFn fn) { on_dead_letter_ = std::move(fn); }

  Result<std::vector<std::byte>> try_receive();
  Result<std::vector<std::byte>> receive(Deadline deadline);
  Result<std::vector<std::byte>> receive(std::chrono::nanoseconds timeout);

 private:
  using MpmcEndpoint::MpmcEndpoint;
  void close() noexcept;
  bool take_orphan(std::span<const std::byte>& view, std::error_code& damaged);
  bool take_expected(detail::CellHeader& c, uint64_t lap, uint64_t mine, uint64_t& state) noexcept;
  bool set_aside(detail::CellHeader& c, uint64_t lap, uint32_t size, uint32_t deliveries, std::error_code& failed);
  std::vector<uint64_t> held_;  // positions read, not yet released
  uint32_t max_deliveries_ = 5;
  uint32_t last_deliveries_ = 0;
  uint64_t last_writer_ = 0;  // peer and generation bits of the last READY cell taken
  bool streaming_ = false;    // the last try found a record: expect the next one there
  std::shared_ptr<detail::DeadLetterSink> dead_letters_;  // shared: the handle moves
  DeadLetterFn on_dead_letter_;
};

static_assert(RingProducer<MpmcProducer>);
static_assert(RingConsumer<MpmcConsumer>);

}  // namespace ringdrop

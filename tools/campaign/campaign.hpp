// campaign.hpp — what the crash campaign's processes share: the kinds under
// test, the wire format of a campaign message, and the board, a small
// shared-memory file (/dev/shm) in which every role process writes down what
// it committed and what it was delivered.
//
// Why a shared mapping: a process killed by SIGKILL runs no more code, but
// every store it made to a MAP_SHARED page is in the page cache and seen by
// the orchestrator after the kill. So "recorded" means "stored to the board",
// and nothing is lost with the process.
//
// What "committed" means. A producer stores, in its slot of the board:
//   in_commit = seq + 1     just before commit() of message seq
//   next_seq  = seq + 1     just after it returned, then in_commit = 0
// When the orchestrator kills a producer it reads its slot: seq < next_seq
// are committed for certain; with in_commit - 1 >= next_seq the producer died
// *inside* commit() and message in_commit - 1 is in doubt: the ring may or
// may not have published it. The kill is asynchronous, so the producer
// cannot say; the checker settles it, per kind:
//   - broadcast: exactly. It was published if the next publisher to attach
//     found the ring's tail past it (the publisher records its first ring
//     number on the board).
//   - drop channel: exactly. The producer writes the message with
//     begin_publish() and stores its id before commit(); commit() ends with
//     the rename of tmp/<id>.tmp into new/, so if that file is gone the
//     message was published.
//   - MPMC: delivered means committed. Not delivered: never published, or
//     lost; a record whose producer died before publishing it is counted
//     `abandoned` by the ring, so more such messages than `abandoned` (plus,
//     with the drop policy, what the ring counted `lost`) is a loss. A bound,
//     not exact: producers killed between reserve and commit count too.
//   - SPSC: delivered means committed; not delivered is reported as in doubt
//     (the ring has no counter to tell a loss).
// Messages in doubt and not published are neither committed nor lost. The
// next incarnation of the producer starts at the seq after the one in
// doubt, so a (slot, seq) pair is committed at most once and any second
// delivery of it is a real duplicate.
//
// What "delivered" means. A consumer checks every byte of a message, appends
// an entry to the board's log (its fields first, its type word last), bumps
// its incarnation's `delivered`, then releases (ring) or acks (drop) and
// stores `released`. Entries of a killed incarnation with ordinal >=
// `released` were delivered but perhaps not released when it died: those,
// and only those, may come again (at-least-once) and excuse one duplicate
// each.
//
// Poison messages (issue 13). The SPSC and MPMC (redeliver) rings keep
// ringdrop's default max_deliveries, 5, and their default dead-letter store.
// A consumer logs each delivery's delivery_count(). A message is "set aside"
// (neither delivered nor lost) when it is in the store at the end; the
// checker fails if a dead letter says fewer than 5 deliveries, if a message
// released by its consumer was set aside, or if a message's logged counts
// do not rise, or pass 5.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace campaign {

enum class Kind : uint32_t { spsc, mpmc_redeliver, mpmc_drop, bcast_block, bcast_overwrite, drop };
inline constexpr Kind kAllKinds[] = {Kind::spsc, Kind::mpmc_redeliver, Kind::mpmc_drop,
                                     Kind::bcast_block, Kind::bcast_overwrite, Kind::drop};
inline constexpr unsigned kKinds = 6;

const char* kind_name(Kind k) noexcept;
bool kind_named(std::string_view name, Kind& out) noexcept;
inline bool is_broadcast(Kind k) noexcept { return k == Kind::bcast_block || k == Kind::bcast_overwrite; }
inline bool is_mpmc(Kind k) noexcept { return k == Kind::mpmc_redeliver || k == Kind::mpmc_drop; }

/// splitmix64: every pseudo-random choice of the campaign comes from it.
inline uint64_t mix(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() noexcept { return mix(state++ * 0x2545f4914f6cdd1dull); }
  /// Uniform in [lo, hi].
  uint64_t between(uint64_t lo, uint64_t hi) noexcept { return lo + next() % (hi - lo + 1); }
  bool chance(unsigned percent) noexcept { return next() % 100 < percent; }
};

// ------------------------------------------------------------------ wire

/// The first bytes of every campaign message; the rest up to `size` is
/// filler whose every byte depends on (slot, seq), so a torn or foreign
/// message is recognised.
struct Wire {
  uint32_t magic;
  uint16_t kind;
  uint16_t slot;         ///< producer slot (kFinalSlot: the final exchange)
  uint32_t incarnation;  ///< of the producer that wrote it
  uint32_t size;         ///< of the whole message
  uint64_t seq;          ///< per slot, across the slot's incarnations
  uint64_t ring_no;      ///< broadcast: the ring's message number (else 0)
  uint64_t check;
};
static_assert(sizeof(Wire) == 40);
inline constexpr uint32_t kMagic = 0x4d434452;  // "RDCM"
inline constexpr uint16_t kFinalSlot = 15;
inline constexpr size_t kMinMessage = sizeof(Wire);

inline uint64_t wire_check(const Wire& w) noexcept {
  return mix(uint64_t{w.magic} ^ (uint64_t{w.kind} << 8) ^ (uint64_t{w.slot} << 16) ^
             (uint64_t{w.incarnation} << 24) ^ (uint64_t{w.size} << 40) ^ mix(w.seq ^ mix(w.ring_no)));
}

inline void wire_fill(std::span<std::byte> out, Kind kind, uint16_t slot, uint32_t incarnation,
                      uint64_t seq, uint64_t ring_no) noexcept {
  Wire w{kMagic, static_cast<uint16_t>(kind), slot, incarnation, static_cast<uint32_t>(out.size()),
         seq, ring_no, 0};
  w.check = wire_check(w);
  std::memcpy(out.data(), &w, sizeof w);
  const uint64_t base = mix((uint64_t{slot} << 48) ^ seq);
  for (size_t i = sizeof w; i < out.size(); ++i) out[i] = std::byte(static_cast<uint8_t>(base + i * 7));
}

/// True when `msg` is a whole, untorn campaign message of `kind`.
inline bool wire_parse(std::span<const std::byte> msg, Kind kind, Wire& w) noexcept {
  if (msg.size() < sizeof w) return false;
  std::memcpy(&w, msg.data(), sizeof w);
  if (w.magic != kMagic || w.kind != static_cast<uint16_t>(kind) || w.size != msg.size() ||
      w.check != wire_check(w)) {
    return false;
  }
  const uint64_t base = mix((uint64_t{w.slot} << 48) ^ w.seq);
  for (size_t i = sizeof w; i < msg.size(); ++i) {
    if (msg[i] != std::byte(static_cast<uint8_t>(base + i * 7))) return false;
  }
  return true;
}

// ----------------------------------------------------------------- board

inline constexpr unsigned kMaxSlots = 16;           // producer slots (incl. kFinalSlot)
inline constexpr unsigned kMaxIncarnations = 8192;  // role processes per kind

/// One producer slot, across its incarnations.
struct ProducerSlot {
  std::atomic<uint64_t> next_seq;   ///< seqs below are committed
  std::atomic<uint64_t> in_commit;  ///< seq + 1 while inside commit(); else 0
  std::atomic<uint64_t> in_reserve; ///< 1 while waiting in reserve()
  std::atomic<uint64_t> ring_next;  ///< broadcast: ring number after the last commit
  std::atomic<uint64_t> commits;    ///< commits recorded, all incarnations
  uint64_t pad[3];
  /// Drop channel: the id of the message being committed (stored before
  /// in_commit), so a message in doubt can be looked for in tmp/.
  char pending_id[128];
};

/// One role process.
struct IncarnationRec {
  std::atomic<uint64_t> attached;   ///< 1 once open() succeeded
  std::atomic<uint64_t> delivered;  ///< consumer: entries appended
  std::atomic<uint64_t> released;   ///< consumer: of those, released / acked
  std::atomic<uint64_t> first_pos;  ///< subscriber: position() after open; publisher: its first ring number
  std::atomic<uint64_t> next_pos;   ///< subscriber: position() now
  std::atomic<uint64_t> seq_start;  ///< producer: first seq of this incarnation
  std::atomic<uint64_t> reads;      ///< consumer: read calls that returned (incl. errors)
  std::atomic<uint64_t> lost_first; ///< subscriber: its very first read was message_lost
};

enum class EntryType : uint32_t { none = 0, delivered = 1, lost = 2 };

/// One log entry: a delivered message, or a message_lost a subscriber was told.
struct Entry {
  std::atomic<uint32_t> type;  ///< stored last (release); none: never finished
  uint32_t incarnation;        ///< the consumer's
  uint32_t ordinal;            ///< delivered: n-th delivery of that incarnation
  uint16_t slot;               ///< delivered: producer slot
  uint16_t flags;              ///< kFlag*
  uint64_t seq;                ///< delivered: producer seq; lost: messages missed
  uint64_t ring_no;            ///< broadcast: message number (delivered) / position after (lost)
};
static_assert(sizeof(Entry) == 32);
inline constexpr uint16_t kFlagRedelivery = 1;   ///< drop: attempt > 1; MPMC: taken as orphan (unknown)
inline constexpr uint16_t kFlagLeaseLost = 2;    ///< drop: ack said lease_lost
inline constexpr uint16_t kFlagOnRelease = 4;    ///< lost: reported by release(), not read()
/// SPSC and MPMC deliveries: the ring's delivery_count(), in the flags' high
/// byte (the campaign's rings allow 5, ringdrop's default).
inline constexpr unsigned kCountShift = 8;
inline uint16_t count_flags(uint32_t deliveries) noexcept {
  return static_cast<uint16_t>(std::min<uint32_t>(deliveries, 255) << kCountShift);
}
inline uint32_t flags_count(uint16_t flags) noexcept { return flags >> kCountShift; }

struct BoardHeader {
  uint64_t magic;
  uint64_t log_capacity;
  std::atomic<uint64_t> log_next;
  std::atomic<uint64_t> stop_producers;  ///< producers finish the message in hand and leave
  std::atomic<uint64_t> producers_done;  ///< every producer has left: peer_gone means drained
  std::atomic<uint64_t> deliveries;      ///< all consumers
  std::atomic<uint64_t> commits;         ///< all producers
  std::atomic<uint64_t> log_full;
  uint64_t orchestrator;                 ///< its pid: a role whose parent is gone stops
  uint64_t pad[7];
  ProducerSlot slots[kMaxSlots];
  IncarnationRec incarnations[kMaxIncarnations];
};
inline constexpr uint64_t kBoardMagic = 0x4452414f42434452ull;

/// The board mapped in this process.
class Board {
 public:
  /// Creates (orchestrator) or opens (roles) the board file at `path`.
  static Board create(const std::string& path, uint64_t log_capacity);
  static Board open(const std::string& path);
  Board() = default;
  Board(Board&& o) noexcept;
  Board& operator=(Board&& o) noexcept;
  ~Board();

  BoardHeader& h() const noexcept { return *header_; }
  Entry* log() const noexcept { return reinterpret_cast<Entry*>(header_ + 1); }
  /// Claims a log entry; nullptr when the log is full.
  Entry* append() noexcept;

 private:
  BoardHeader* header_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace campaign

// dedupe_table.hpp — the bridge's memory of the message ids it has already
// put into a ring, so the duplicates at-least-once makes are dropped.
//
// Why. RabbitMQ redelivers every delivery it has not seen acked: after a
// reconnect, or after the bridge was killed between committing a message to
// the ring and acking it. Without a memory the ring gets the message twice.
// The inbound side therefore does, for each delivery with a message id:
//
//     if (table.seen(id, now))  ack, count it as deduplicated, deliver nothing
//     else                      table.prepare(id); commit to the ring; table.record(id, now); wake; ack
//
// so a message id seen in the last `window` is not delivered again. The one
// gap left is a crash between the commit and the record(): that message can
// still come twice. "Effectively once", not exactly once. The gap is a few
// stores wide and holds no kernel entry, where a kill -9 is delivered: the
// record comes before the ring wakes its consumers
// (MpmcProducer::commit_unwoken; a wake often hands the CPU to the
// consumer), and prepare() makes its pages writable before the commit (the
// first write to a page of this sparse file is a fault, microseconds long).
// Only a timer interrupt in those stores, then a kill while the bridge waits
// for the CPU, can still let a message through twice.
//
// Surviving the bridge. The table is a file mapped MAP_SHARED: every store
// lands in the page cache, which outlives the process, so a `kill -9` loses
// nothing that record() finished, and a restarted bridge that reopens the
// file finds every entry. Power loss is out of scope: entries are never
// msync'd, and what the kernel had not yet written back is lost (at worst
// the duplicates of one window come through after a host crash). Only the
// new file is fsync'd once, before it takes its name, so that a host crash
// never leaves a table that does not open.
//
// Shape: open addressing with linear probing, bounded. An id is hashed to a
// 64-bit key (FNV-1a 64 then the murmur3 finaliser: stable across builds
// and machines, unlike std::hash), and lives in one of the kProbe slots
// that follow its home slot `key & (capacity - 1)`. A slot older than the
// window counts as free; nothing is ever deleted. When all kProbe slots are
// live, the oldest of them is overwritten and `evicted` counts it: with more
// ids per window than the table holds, the oldest ones are forgotten (and
// their duplicates can come through). Eviction starts before the table is
// full, when a run of kProbe neighbours fills up. Measured on 2^20 slots:
// one eviction by half full, 0.1% of the ids recorded by 70%, 2.4% by 90%.
// So size capacity at twice the ids expected per window (the default, 2^20
// slots in a 16 MiB file, suits up to ~500,000 ids per window).
//
// Keys, not ids, are stored: two ids with the same 64-bit key are one id to
// the table, the later one dropped as a duplicate. With L live keys a new id
// is taken for a seen one with probability L / 2^64; at the default's bound
// of 2^20 live keys that is 5.7e-14 per message, one false drop in about
// 55 years at 10,000 messages a second (at 1,000 a second with a 10-minute
// window, L = 600,000: one in ~1,000 years). FNV-1a is no defence against
// ids crafted to collide: a publisher able to do that can also publish
// anything else.
//
// A kill -9 in the middle of record(). A new entry is written in three
// stores: the key is cleared, the time is written, then the key. Killed
// after any of them, the slot holds either no key or the new key with its
// own time: the worst case is that this one id is not remembered (its
// duplicate can come through), never a false "seen" for another id. (Time
// first without the clearing would leave the old key with the new time,
// bringing an expired id back to life; key first would give the new key the
// old time.) Refreshing an entry already present is one store. Stores are
// 8-byte aligned atomic stores: a signal never splits one.
//
// Time is the caller's: CLOCK_REALTIME in ns since the epoch (the table
// must make sense across restarts, which a monotonic clock does not). A
// clock stepped back keeps entries longer; stepped forward, it expires them
// early. Tests pass their own times.
//
// One writer. open() takes flock(LOCK_EX | LOCK_NB) on the file and holds it
// while the table is open; a second bridge on the same table is a
// configuration error (role_taken). The kernel drops the lock when the
// process dies, so a restart after kill -9 just works. Within the process,
// seen() and record() are for one thread at a time (the inbound route's;
// one table per route); stats() may run on any thread meanwhile, since
// every access to the mapping is atomic.
//
// The file (little-endian, native layout; DedupeFileHeader, DedupeSlot):
//
//   +0    header, 64 bytes: magic "ringdrop-dedupe\0", layout version u32,
//         capacity u32 (slots, a power of two), window_ns i64, evicted u64,
//         reserved (zero) to 64
//   +64   capacity slots of 16 bytes: key u64 (0: empty), seen_ns i64
//
// It is created whole or not at all: built under a temporary name (the path
// with ".tmp-XXXXXX" appended), filled with posix_fallocate (a sparse file
// would SIGBUS on a full disk later), then linked into place, so a crash
// while creating leaves at most that temporary file, never a half-made
// table. The file is the bridge's alone: like any mapped file, truncated
// under a running bridge it would SIGBUS it.
//
// Reopened with other options, a table keeps its own capacity (resizing
// means rehashing every entry: delete the file to resize, and accept one
// window of possible duplicates) and takes the new window; capacity() says
// which capacity it has.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringdrop/result.hpp"

namespace ringdrop::bridge {

struct DedupeOptions {
  /// How long an id is remembered: a delivery of the same id within this
  /// time of the last record() is a duplicate. 1 s to 365 days.
  std::chrono::seconds window{600};
  /// Slots, rounded up to a power of two, at least kMinCapacity; more than
  /// kMaxCapacity is invalid_argument. Ignored when the file exists.
  uint32_t capacity = 1u << 20;
};

/// The header at offset 0 of the file.
struct DedupeFileHeader {
  char magic[16];     // kDedupeMagic, NUL-terminated
  uint32_t version;   // kDedupeVersion
  uint32_t capacity;  // slots, a power of two
  int64_t window_ns;  // the window of the last open(), for inspection
  uint64_t evicted;   // live entries overwritten for want of room, ever
  uint64_t reserved[3];
};

/// One slot: an id's key and when it was last recorded.
struct DedupeSlot {
  uint64_t key;     // 0: empty (a key that hashes to 0 is stored as 1)
  int64_t seen_ns;  // CLOCK_REALTIME ns of the last record()
};

inline constexpr char kDedupeMagic[16] = "ringdrop-dedupe";
inline constexpr uint32_t kDedupeVersion = 1;

static_assert(sizeof(DedupeFileHeader) == 64 && alignof(DedupeFileHeader) == 8);
static_assert(offsetof(DedupeFileHeader, version) == 16);
static_assert(offsetof(DedupeFileHeader, capacity) == 20);
static_assert(offsetof(DedupeFileHeader, window_ns) == 24);
static_assert(offsetof(DedupeFileHeader, evicted) == 32);
static_assert(sizeof(DedupeSlot) == 16 && offsetof(DedupeSlot, seen_ns) == 8);

/// The stable 64-bit key of a message id (never 0).
uint64_t dedupe_key(std::string_view id) noexcept;

class DedupeTable {
 public:
  static constexpr uint32_t kMinCapacity = 1u << 10;
  static constexpr uint32_t kMaxCapacity = 1u << 26;  // a 1 GiB file
  /// Slots looked at for one id: its home slot and those after it.
  static constexpr uint32_t kProbe = 32;

  /// Opens the table at `path`, creating it (0600) if it is missing.
  /// Errors: role_taken (another process has it open), unsafe_file (a
  /// symlink or not a regular file), foreign_segment (not a dedupe table;
  /// left untouched), incompatible_layout (another layout version),
  /// corrupted (the size does not match its capacity), no_space (no room to
  /// create it), invalid_argument (options out of range), or the failing
  /// syscall's error; last_error_detail() names the path.
  static Result<DedupeTable> open(const std::string& path, const DedupeOptions& options);

  /// Whether `id` was recorded within the window before `now_ns`.
  bool seen(std::string_view id, int64_t now_ns) const noexcept;
  /// Remembers `id` as delivered at `now_ns` (refreshes it if present).
  void record(std::string_view id, int64_t now_ns) noexcept;
  /// Makes the slots record(id) may write resident and writable now (each
  /// written with what it holds), so that a record() right after the ring's
  /// commit takes no page fault. A kill -9 lands at a kernel entry, and the
  /// first write to a page of the table (a sparse file) is one, microseconds
  /// long: the widest part of the window between commit and record.
  void prepare(std::string_view id) noexcept;

  struct Stats {
    uint64_t live;     // entries within the window at now_ns
    uint64_t evicted;  // live entries overwritten for want of room, ever
  };
  /// Reads every slot: O(capacity), for metrics, not for each message.
  Stats stats(int64_t now_ns) const noexcept;

  uint32_t capacity() const noexcept { return mask_ + 1; }
  std::chrono::nanoseconds window() const noexcept { return std::chrono::nanoseconds(window_ns_); }

  DedupeTable(DedupeTable&& other) noexcept;
  DedupeTable& operator=(DedupeTable&& other) noexcept;
  DedupeTable(const DedupeTable&) = delete;
  DedupeTable& operator=(const DedupeTable&) = delete;
  /// Unmaps the file and closes it, which releases the lock.
  ~DedupeTable();

 private:
  DedupeTable(int fd, void* map, std::size_t map_bytes, int64_t window_ns) noexcept;
  DedupeSlot* slot(uint64_t i) const noexcept { return slots_ + (i & mask_); }
  int64_t cutoff(int64_t now_ns) const noexcept;
  void close() noexcept;

  int fd_ = -1;
  void* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  DedupeFileHeader* header_ = nullptr;
  DedupeSlot* slots_ = nullptr;
  uint32_t mask_ = 0;
  int64_t window_ns_ = 0;
};

}  // namespace ringdrop::bridge

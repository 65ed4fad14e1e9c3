// ringdrop/segment.hpp — a named, mapped, self-describing region of memory
// that several processes share. Every ring lives in one segment.
//
// A segment is either a POSIX shared-memory object (`Location::shm`, gone at
// reboot) or a regular file (`Location::file`, which survives a restart of
// every process that uses it; it is not flushed to disk for power loss).
// Both are mapped with Boost.Interprocess.
//
// At offset 0 a 128-byte header says what the segment is: magic, layout
// version, ring kind, capacity, creation time and creator (see
// docs/architecture.md for the byte layout). Opening checks all of it and
// refuses a segment that does not match with an error naming what differs:
//
//   no ringdrop magic                   -> errc::foreign_segment
//   another layout version              -> errc::incompatible_layout
//   another ring kind                   -> errc::wrong_kind
//   another capacity than asked for     -> errc::capacity_mismatch
//   truncated, garbage header fields,
//   header checksum wrong, never
//   finished initialising               -> errc::corrupted
//
// `last_error_detail()` then holds the specifics ("layout version 7, this
// library speaks 1"). A segment is never silently reused as something else.
//
// Creation is safe against concurrent openers: the creator sizes and fills
// the segment first and writes the magic last (release); an opener that
// finds no magic yet waits up to `init_timeout` for it, then reports
// `corrupted` (a creator that died half-way).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <memory>
#include <string>
#include <sys/types.h>

#include "ringdrop/export.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop {

/// Where a segment lives.
class RINGDROP_API Location {
 public:
  /// A POSIX shared-memory object, e.g. "orders" (shown as /dev/shm/orders).
  /// A leading '/' is accepted; any other '/' is not.
  static Location shm(std::string name);
  /// A regular file; its directory must exist.
  static Location file(std::filesystem::path path);

  bool is_file() const noexcept { return is_file_; }
  /// The shm name without leading '/', or the file path.
  const std::string& name() const noexcept { return name_; }
  /// Human-readable form, e.g. "shm:orders" or "file:/var/lib/x.ring".
  std::string describe() const;
  /// The inverse of describe(): "shm:<name>" or "file:<path>"; nullopt for
  /// anything else (the name itself is checked when the segment is opened).
  static std::optional<Location> parse(std::string_view described);

 private:
  Location(std::string name, bool is_file) : name_(std::move(name)), is_file_(is_file) {}
  std::string name_;
  bool is_file_;
};

inline constexpr uint64_t kDefaultCapacity = uint64_t{1} << 20;

enum class RingKind : uint32_t { spsc = 1, mpmc = 2, broadcast = 3 };
RINGDROP_API const char* to_string(RingKind kind) noexcept;

enum class OpenMode {
  create,          ///< must not exist yet, else errc::already_exists
  open,            ///< must exist, else errc::not_found
  open_or_create,  ///< opens if it exists (checking it matches), else creates
};

struct SegmentSpec {
  RingKind kind = RingKind::spsc;
  /// Data bytes of the ring: a power of two from 4096 to 2^40. 0 means
  /// kDefaultCapacity when creating, and "whatever it has" when opening; any
  /// other value must match an existing segment's.
  uint64_t capacity = 0;
  /// Permission bits when creating (umask does not apply): 0 to 0777;
  /// anything else (set-id, sticky, file-type bits) is invalid_argument.
  mode_t mode = 0600;
  /// How long an opener waits for a concurrent creator to finish.
  std::chrono::milliseconds init_timeout{500};
  /// Ring parameters stored in the header when creating (slot size,
  /// policies: their meaning is the kind's). Ignored when opening: the ring
  /// checks what it reads back in SegmentInfo::params.
  std::array<uint64_t, 4> params{};
};

/// What a segment's header said about it when it was opened and validated.
struct SegmentInfo {
  RingKind kind;
  uint32_t layout_version;
  uint64_t capacity;     ///< data bytes
  uint64_t total_size;   ///< bytes of the whole mapping
  uint64_t data_offset;  ///< where the data area starts
  std::chrono::system_clock::time_point created;
  uint32_t creator_pid;
  std::array<uint64_t, 4> params;  ///< see SegmentSpec::params
};

class RINGDROP_API Segment {
 public:
  static Result<Segment> open(const Location& where, OpenMode how, const SegmentSpec& spec);
  /// Opens an existing segment of any kind, for tools that look before they
  /// know what a name holds (`ringdrop ls`): info() says which kind it is.
  /// Attaches to no ring and waits for no creator: a segment still being
  /// initialised is errc::corrupted ("never initialised"), as one whose
  /// creator died is. Errors as open(): not_found, permission_denied,
  /// foreign_segment (another program's), incompatible_layout, corrupted.
  static Result<Segment> inspect(const Location& where);
  /// Removes the name; processes that have it mapped keep using it.
  /// errc::not_found if there is no such segment.
  static std::error_code remove(const Location& where);

  Segment(Segment&&) noexcept;
  Segment& operator=(Segment&&) noexcept;
  ~Segment();

  const Location& location() const noexcept;
  SegmentInfo info() const noexcept;
  /// True when this handle created the segment (rather than opened it).
  bool created() const noexcept;

  std::byte* base() const noexcept;
  /// The kind's control block, right after the header.
  std::byte* control() const noexcept;
  /// The ring's data area (`info().capacity` bytes).
  std::byte* data() const noexcept;
  /// The descriptor of the shm object or file (close-on-exec). Role locks
  /// are taken on it; do not close it.
  int native_handle() const noexcept;

  /// True once another process truncated the segment under this mapping.
  /// The first access past the new end raised SIGBUS; ringdrop's handler
  /// (installed when the first segment is mapped, chaining to any handler
  /// already there) replaced the mapping with zero pages instead of letting
  /// the process die, and the ring calls now report errc::corrupted. Closing
  /// works as usual. See lib/src/segment/bus_guard.hpp for the limits.
  bool damaged() const noexcept {
    // relaxed: set by this process's SIGBUS handler; no data rides on it.
    return damaged_->load(std::memory_order_relaxed) != 0;
  }
  /// errc::corrupted with a detail saying the segment was truncated.
  std::error_code damage() const;

 private:
  struct Impl;
  explicit Segment(std::unique_ptr<Impl> impl) noexcept;
  static Result<Segment> create_new(const Location& where, const SegmentSpec& spec);
  static Result<Segment> open_existing(const Location& where, const SegmentSpec& spec, bool any_kind = false);
  std::unique_ptr<Impl> impl_;
  const std::atomic<uint32_t>* damaged_;  // inline-testable: rings look at it on commit
};

}  // namespace ringdrop

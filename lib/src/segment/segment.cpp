#include "ringdrop/segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "ringdrop/error.hpp"
#include "ringdrop/wait.hpp"
#include "segment/bus_guard.hpp"
#include "segment/segment_layout.hpp"

namespace bip = boost::interprocess;

namespace ringdrop {

using detail::fail;
using detail::SegmentHeader;

// ---------------------------------------------------------------- Location

Location Location::shm(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  return Location(std::move(name), false);
}

Location Location::file(std::filesystem::path path) { return Location(path.string(), true); }

std::string Location::describe() const { return (is_file_ ? "file:" : "shm:") + name_; }

std::optional<Location> Location::parse(std::string_view d) {
  if (d.size() > 4 && d.starts_with("shm:")) return shm(std::string(d.substr(4)));
  if (d.size() > 5 && d.starts_with("file:")) return file(std::string(d.substr(5)));
  return std::nullopt;
}

const char* to_string(RingKind kind) noexcept {
  switch (kind) {
    case RingKind::spsc: return "spsc";
    case RingKind::mpmc: return "mpmc";
    case RingKind::broadcast: return "broadcast";
  }
  return "unknown";
}

namespace detail {
uint64_t header_checksum(const SegmentHeader& h) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(&h);
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 8; i < sizeof h; ++i) {
    if (i == offsetof(SegmentHeader, checksum)) i += sizeof h.checksum;
    hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  }
  return hash;
}
}  // namespace detail

// ---------------------------------------------------------------- helpers

namespace {

std::error_code check_location(const Location& where) {
  const std::string& n = where.name();
  if (n.empty()) return fail(errc::invalid_argument, "empty segment name");
  if (!where.is_file()) {
    if (n.find('/') != std::string::npos || n == "." || n == ".." || n.size() > 250) {
      return fail(errc::invalid_argument,
                  "shm name '" + n + "': must be 1-250 characters without '/'");
    }
  }
  return {};
}

std::error_code check_spec(const SegmentSpec& spec) {
  const auto kind = static_cast<uint32_t>(spec.kind);
  if (kind < 1 || kind > 3) return fail(errc::invalid_argument, "unknown ring kind");
  // Permission bits only: a shared segment with set-id or sticky bits is
  // never what a caller meant (04777 would make a setuid, world-writable file).
  if ((spec.mode & ~mode_t{0777}) != 0) {
    char text[96];
    std::snprintf(text, sizeof text, "mode 0%o: only permission bits (0 to 0777) are allowed",
                  static_cast<unsigned>(spec.mode));
    return fail(errc::invalid_argument, text);
  }
  if (spec.capacity == 0) return {};
  if (spec.capacity < detail::kMinCapacity || (spec.capacity & (spec.capacity - 1)) != 0 ||
      spec.capacity > (uint64_t{1} << 40)) {
    return fail(errc::invalid_argument, "capacity " + std::to_string(spec.capacity) +
                                            ": must be a power of two from 4096 to 2^40");
  }
  return {};
}

std::error_code from_boost(const bip::interprocess_exception& e, const Location& where,
                           const char* what) {
  std::error_code ec;
  if (e.get_native_error() != 0) {
    ec = detail::from_errno(e.get_native_error());
  } else {
    switch (e.get_error_code()) {
      case bip::security_error: ec = errc::permission_denied; break;
      case bip::not_found_error:
      case bip::not_such_file_or_directory: ec = errc::not_found; break;
      case bip::already_exists_error: ec = errc::already_exists; break;
      default: ec = std::make_error_code(std::errc::io_error);
    }
  }
  return fail(ec, std::string(what) + " " + where.describe() + ": " + e.what());
}

// The object behind a Location: a shared_memory_object or a file_mapping,
// both of which Boost can map. It stays open as long as the segment: its
// descriptor carries the role locks (role.hpp).
struct Backing {
  bip::shared_memory_object shm;
  bip::file_mapping file;
  bool is_file = false;

  int fd() const noexcept {
    return is_file ? file.get_mapping_handle().handle : shm.get_mapping_handle().handle;
  }
  bip::mapped_region map(uint64_t size) const {
    if (is_file) return bip::mapped_region(file, bip::read_write, 0, size);
    return bip::mapped_region(shm, bip::read_write, 0, size);
  }
};

std::error_code os_error(const char* what, const Location& where, int err) {
  return fail(detail::from_errno(err), std::string(what) + " " + where.describe() + ": " +
                                           std::strerror(err));
}

// Exactly `mode` (umask does not apply), close-on-exec, and `size` bytes of
// storage reserved now: a short /dev/shm or disk is an error here rather
// than a SIGBUS on the first lap.
std::error_code prepare_created(const Backing& b, const Location& where, mode_t mode,
                                uint64_t size) {
  const int fd = b.fd();
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || ::fchmod(fd, mode) != 0 ||
      ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return os_error("size", where, errno);
  }
  if (const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size)); err != 0) {
    return os_error("reserve storage for", where, err);
  }
  return {};
}

// Creates the object exclusively (O_EXCL), sized and with storage reserved.
Result<Backing> create_backing(const Location& where, mode_t mode, uint64_t size) {
  Backing b;
  b.is_file = where.is_file();
  try {
    if (b.is_file) {
      const int fd = ::open(where.name().c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
      if (fd < 0) return os_error("create", where, errno);
      ::close(fd);
      b.file = bip::file_mapping(where.name().c_str(), bip::read_write);
    } else {
      bip::permissions perm;
      perm.set_permissions(static_cast<int>(mode));
      b.shm = bip::shared_memory_object(bip::create_only, where.name().c_str(), bip::read_write, perm);
    }
  } catch (const bip::interprocess_exception& e) {
    if (b.is_file) ::unlink(where.name().c_str());
    return from_boost(e, where, "create");
  }
  if (auto ec = prepare_created(b, where, mode, size)) {
    (void)Segment::remove(where);
    return ec;
  }
  return b;
}

Result<Backing> open_backing(const Location& where, uint64_t& size) {
  Backing b;
  b.is_file = where.is_file();
  try {
    if (b.is_file) {
      b.file = bip::file_mapping(where.name().c_str(), bip::read_write);
    } else {
      b.shm = bip::shared_memory_object(bip::open_only, where.name().c_str(), bip::read_write);
    }
  } catch (const bip::interprocess_exception& e) {
    return from_boost(e, where, "open");
  }
  struct stat st {};
  if (::fcntl(b.fd(), F_SETFD, FD_CLOEXEC) != 0 || ::fstat(b.fd(), &st) != 0) {
    return os_error("open", where, errno);
  }
  if (!S_ISREG(st.st_mode)) return fail(errc::foreign_segment, where.describe() + " is not a regular file");
  size = static_cast<uint64_t>(st.st_size);
  return b;
}

std::error_code validate(const SegmentHeader& h, uint64_t actual_size, const SegmentSpec& spec,
                         const Location& where, bool any_kind) {
  const std::string name = where.describe();
  const uint64_t magic = h.magic.load(std::memory_order_acquire);
  if (magic != detail::kMagic) {
    return fail(errc::foreign_segment, name + " has no ringdrop magic: another program's "
                                              "segment, or garbage");
  }
  if (h.layout_version != detail::kLayoutVersion) {
    return fail(errc::incompatible_layout,
                name + " has layout version " + std::to_string(h.layout_version) +
                    ", this library speaks " + std::to_string(detail::kLayoutVersion));
  }
  if (h.checksum != detail::header_checksum(h)) {
    return fail(errc::corrupted, name + ": header checksum does not match its fields");
  }
  if (h.kind < static_cast<uint32_t>(RingKind::spsc) || h.kind > static_cast<uint32_t>(RingKind::broadcast)) {
    return fail(errc::corrupted, name + ": unknown ring kind " + std::to_string(h.kind));
  }
  const auto kind = static_cast<RingKind>(h.kind);
  if (!any_kind && kind != spec.kind) {
    return fail(errc::wrong_kind, name + " is a " + to_string(kind) + " ring, not " +
                                      to_string(spec.kind));
  }
  if (h.capacity < detail::kMinCapacity || (h.capacity & (h.capacity - 1)) != 0 ||
      h.data_offset != detail::data_offset_for(kind) ||
      h.total_size != h.data_offset + h.capacity) {
    return fail(errc::corrupted, name + ": header fields are inconsistent");
  }
  if (actual_size != h.total_size) {
    return fail(errc::corrupted, name + " is " + std::to_string(actual_size) +
                                     " bytes, its header says " + std::to_string(h.total_size) +
                                     " (truncated or resized)");
  }
  if (spec.capacity != 0 && spec.capacity != h.capacity) {
    return fail(errc::capacity_mismatch, name + " has capacity " + std::to_string(h.capacity) +
                                             ", asked for " + std::to_string(spec.capacity));
  }
  return {};
}

uint64_t unix_now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

// ---------------------------------------------------------------- Segment

struct Segment::Impl {
  explicit Impl(Location w) : where(std::move(w)) {}
  ~Impl() { detail::bus_guard_remove(guard); }  // before the region is unmapped
  Location where;
  Backing backing;
  bip::mapped_region region;
  int guard = -1;  // our slot in the SIGBUS guard's table (bus_guard.hpp)
  bool created = false;
  // The header as validated; never re-read from shared memory, so a writer
  // that scribbles on it later cannot move our view of the data area.
  SegmentInfo info{};

  // A truncation by another process then reports corrupted instead of
  // killing us with SIGBUS.
  void guard_mapping() { guard = detail::bus_guard_add(region.get_address(), region.get_size()); }
  const std::atomic<uint32_t>* damage_flag() const noexcept { return detail::bus_guard_flag(guard); }

  void snapshot() {
    const auto& h = *static_cast<const SegmentHeader*>(region.get_address());
    info = SegmentInfo{
        static_cast<RingKind>(h.kind),
        h.layout_version,
        h.capacity,
        h.total_size,
        h.data_offset,
        std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::nanoseconds(h.created_unix_ns))),
        static_cast<uint32_t>(h.creator),
        {h.params[0], h.params[1], h.params[2], h.params[3]},
    };
  }
  const SegmentHeader& header() const {
    return *static_cast<const SegmentHeader*>(region.get_address());
  }
};

Segment::Segment(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)), damaged_(impl_->damage_flag()) {}
Segment::Segment(Segment&&) noexcept = default;
Segment& Segment::operator=(Segment&&) noexcept = default;
Segment::~Segment() = default;

Result<Segment> Segment::open(const Location& where, OpenMode how, const SegmentSpec& spec) {
  if (auto ec = check_location(where)) return ec;
  if (auto ec = check_spec(spec)) return ec;
  if (how == OpenMode::create) return create_new(where, spec);
  if (how == OpenMode::open) return open_existing(where, spec);
  // open_or_create: the name may appear or vanish between our two attempts
  // (another process creating or removing it); a few rounds settle it.
  for (int round = 0;; ++round) {
    auto created = create_new(where, spec);
    if (created || created.error() != errc::already_exists) return created;
    auto opened = open_existing(where, spec);
    if (opened || opened.error() != errc::not_found || round == 8) return opened;
  }
}

Result<Segment> Segment::create_new(const Location& where, const SegmentSpec& spec) {
  auto impl = std::make_unique<Impl>(where);
  const uint64_t capacity = spec.capacity != 0 ? spec.capacity : kDefaultCapacity;
  const uint64_t data_offset = detail::data_offset_for(spec.kind);
  const uint64_t total = data_offset + capacity;
  auto backing = create_backing(where, spec.mode, total);
  if (!backing) return backing.error();
  impl->backing = std::move(*backing);
  try {
    impl->region = impl->backing.map(total);
  } catch (const bip::interprocess_exception& e) {
    (void)Segment::remove(where);
    return from_boost(e, where, "map");
  }
  // The object is zero-filled by truncate, and zero is a valid initial state
  // for every control block; only the header needs writing.
  auto* h = new (impl->region.get_address()) SegmentHeader{};
  h->layout_version = detail::kLayoutVersion;
  h->kind = static_cast<uint32_t>(spec.kind);
  h->capacity = capacity;
  h->data_offset = data_offset;
  h->total_size = total;
  h->created_unix_ns = unix_now_ns();
  h->creator = static_cast<uint64_t>(::getpid());
  for (size_t i = 0; i < spec.params.size(); ++i) h->params[i] = spec.params[i];
  h->checksum = detail::header_checksum(*h);
  // release: an opener that sees the magic (acquire) sees every field above.
  h->magic.store(detail::kMagic, std::memory_order_release);
  impl->created = true;
  impl->snapshot();
  impl->guard_mapping();
  return Segment(std::move(impl));
}

Result<Segment> Segment::inspect(const Location& where) {
  if (auto ec = check_location(where)) return ec;
  SegmentSpec spec;
  spec.init_timeout = std::chrono::milliseconds::zero();
  return open_existing(where, spec, true);
}

Result<Segment> Segment::open_existing(const Location& where, const SegmentSpec& spec, bool any_kind) {
  auto impl = std::make_unique<Impl>(where);
  const Deadline give_up = deadline_after(spec.init_timeout);
  for (;;) {
    uint64_t size = 0;
    auto backing = open_backing(where, size);
    if (!backing) return backing.error();
    // A creator sizes the object in one step, from 0 to its whole size: one
    // of a size between is another program's.
    if (size > 0 && size < sizeof(SegmentHeader)) {
      return fail(errc::foreign_segment, where.describe() + " is " + std::to_string(size) +
                                             " bytes: too small for a ringdrop segment (another program's)");
    }
    if (size >= sizeof(SegmentHeader)) {
      impl->backing = std::move(*backing);
      try {
        impl->region = impl->backing.map(size);
      } catch (const bip::interprocess_exception& e) {
        return from_boost(e, where, "map");
      }
      if (impl->header().magic.load(std::memory_order_acquire) != 0) {
        if (auto ec = validate(impl->header(), size, spec, where, any_kind)) return ec;
        impl->snapshot();
        impl->guard_mapping();
        return Segment(std::move(impl));
      }
    }
    // No magic yet: a creator may be between sizing and publishing. Poll
    // (this is the cold open path) until it finishes or the timeout passes.
    if (Clock::now() >= give_up) {
      return fail(errc::corrupted, where.describe() + " is " + std::to_string(size) +
                                       " bytes and was never initialised (its creator died, "
                                       "or it is not a ringdrop segment)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::error_code Segment::remove(const Location& where) {
  if (auto ec = check_location(where)) return ec;
  const int rc = where.is_file() ? ::unlink(where.name().c_str())
                                 : ::shm_unlink(("/" + where.name()).c_str());
  if (rc != 0) return os_error("remove", where, errno);
  return {};
}

const Location& Segment::location() const noexcept { return impl_->where; }
bool Segment::created() const noexcept { return impl_->created; }
std::byte* Segment::base() const noexcept { return static_cast<std::byte*>(impl_->region.get_address()); }
std::byte* Segment::control() const noexcept { return base() + detail::kControlOffset; }
std::byte* Segment::data() const noexcept { return base() + impl_->info.data_offset; }

SegmentInfo Segment::info() const noexcept { return impl_->info; }

int Segment::native_handle() const noexcept { return impl_->backing.fd(); }

std::error_code Segment::damage() const {
  return detail::fail(errc::corrupted, impl_->where.describe() +
                                           ": the segment was truncated by another process (its pages "
                                           "raised SIGBUS); what it held is gone");
}

}  // namespace ringdrop

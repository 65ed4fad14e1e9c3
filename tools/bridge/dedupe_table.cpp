#include "dedupe_table.hpp"

#include <fcntl.h>
#include <stdlib.h>  // mkostemp
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "ringdrop/error.hpp"

namespace ringdrop::bridge {
namespace {

using detail::fail;

constexpr std::chrono::seconds kMinWindow{1};
constexpr std::chrono::seconds kMaxWindow = std::chrono::hours(24 * 365);

/// A descriptor closed at the end of its scope unless released.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

/// The failure of syscall `op` on `path`: "<op> <path>: <strerror>".
std::error_code sys_fail(int err, std::string_view op, const std::string& path) {
  return fail(detail::from_errno(err), std::string(op) + " " + path + ": " + std::strerror(err));
}

// Every access to the mapping is atomic: stats() may read while record()
// writes, and the order of record()'s stores is what a kill -9 leaves.
template <class T>
T load(T& x) noexcept {
  return std::atomic_ref<T>(x).load(std::memory_order_acquire);
}
template <class T>
void store(T& x, T v, std::memory_order order = std::memory_order_release) noexcept {
  std::atomic_ref<T>(x).store(v, order);
}
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<int64_t>::is_always_lock_free);

/// Whether slot `s` holds an entry recorded after `cut`.
bool live(DedupeSlot& s, int64_t cut) noexcept { return load(s.key) != 0 && load(s.seen_ns) > cut; }

uint64_t file_bytes(uint32_t capacity) noexcept {
  return sizeof(DedupeFileHeader) + uint64_t{capacity} * sizeof(DedupeSlot);
}

std::error_code write_header(int fd, uint32_t capacity, int64_t window_ns, const std::string& tmp) {
  DedupeFileHeader h{};
  std::memcpy(h.magic, kDedupeMagic, sizeof h.magic);
  h.version = kDedupeVersion;
  h.capacity = capacity;
  h.window_ns = window_ns;
  ssize_t n;
  do n = ::pwrite(fd, &h, sizeof h, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return sys_fail(errno, "write", tmp);
  if (n != static_cast<ssize_t>(sizeof h)) return fail(errc::no_space, "short write to " + tmp);
  return {};
}

/// The existing table at `path`, opened read-write without following a
/// symlink; -1 (and no error) when there is none.
Result<int> open_existing(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd >= 0) return fd;
  if (errno == ENOENT) return -1;
  if (errno == ELOOP) {
    return fail(errc::unsafe_file, path + " is a symbolic link: a dedupe table is not opened through one");
  }
  if (errno == EISDIR) return fail(errc::unsafe_file, path + " is a directory, not a dedupe table");
  return sys_fail(errno, "open dedupe table", path);
}

/// Creates the table at `path` whole: built as "<path>.tmp-XXXXXX", then
/// linked into place (a link never replaces). -1 (and no error) when
/// another process created `path` first.
Result<int> create(const std::string& path, uint32_t capacity, int64_t window_ns) {
  std::string tmp = path + ".tmp-XXXXXX";
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));  // O_EXCL, 0600
  if (fd.get() < 0) return sys_fail(errno, "create dedupe table " + path + " as", tmp);
  struct Unlink {
    const std::string& name;
    ~Unlink() { ::unlink(name.c_str()); }
  } unlink_tmp{tmp};  // linked into place or not, the temporary name goes

  const uint64_t bytes = file_bytes(capacity);
  if (const int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)); err != 0) {
    if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
      return fail(errc::no_space, "no room for the dedupe table " + path + " (" + std::to_string(bytes) +
                                      " bytes for " + std::to_string(capacity) + " slots): " + std::strerror(err));
    }
    return sys_fail(err, "allocate dedupe table", tmp);
  }
  if (const std::error_code e = write_header(fd.get(), capacity, window_ns, tmp)) return e;
  // Once, at creation: a host crash must not leave a named table whose
  // header never reached the disk (it would not open again).
  if (::fsync(fd.get()) != 0) return sys_fail(errno, "fsync", tmp);
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return -1;
    return sys_fail(errno, "link dedupe table", path);
  }
  return fd.release();
}

/// Takes the one-writer lock: role_taken when another process holds it.
std::error_code lock(int fd, const std::string& path) {
  int rc;
  do rc = ::flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return {};
  if (errno == EWOULDBLOCK) {
    return fail(errc::role_taken, "another bridge uses " + path + " (it holds the dedupe table's lock)");
  }
  return sys_fail(errno, "lock", path);
}

/// Checks that `fd` is a whole dedupe table of this layout; returns its
/// capacity. Reads only: a file refused is left as it was.
Result<uint32_t> check(int fd, const std::string& path) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return sys_fail(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) return fail(errc::unsafe_file, path + " is not a regular file");
  DedupeFileHeader h{};
  ssize_t n;
  do n = ::pread(fd, &h, sizeof h, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return sys_fail(errno, "read", path);
  if (n < static_cast<ssize_t>(sizeof h.magic) || std::memcmp(h.magic, kDedupeMagic, sizeof h.magic) != 0) {
    return fail(errc::foreign_segment, path + " is not a ringdrop dedupe table (no \"" +
                                           std::string(kDedupeMagic) + "\" magic)");
  }
  if (n < static_cast<ssize_t>(sizeof h)) {
    return fail(errc::corrupted, path + " is truncated: " + std::to_string(n) + " bytes, shorter than its header");
  }
  if (h.version != kDedupeVersion) {
    return fail(errc::incompatible_layout, path + " is a dedupe table of layout version " +
                                               std::to_string(h.version) + "; this bridge reads version " +
                                               std::to_string(kDedupeVersion));
  }
  if (!std::has_single_bit(h.capacity) || h.capacity < DedupeTable::kMinCapacity ||
      h.capacity > DedupeTable::kMaxCapacity) {
    return fail(errc::corrupted, path + " says it has " + std::to_string(h.capacity) +
                                     " slots, which no dedupe table has (a power of two from " +
                                     std::to_string(DedupeTable::kMinCapacity) + " to " +
                                     std::to_string(DedupeTable::kMaxCapacity) + ")");
  }
  if (static_cast<uint64_t>(st.st_size) != file_bytes(h.capacity)) {
    return fail(errc::corrupted, path + " is " + std::to_string(st.st_size) + " bytes, but a dedupe table of " +
                                     std::to_string(h.capacity) + " slots is " +
                                     std::to_string(file_bytes(h.capacity)) + ": truncated or damaged");
  }
  return h.capacity;
}

}  // namespace

uint64_t dedupe_key(std::string_view id) noexcept {
  uint64_t h = 0xcbf29ce484222325u;  // FNV-1a 64
  for (const char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3u;
  }
  h ^= h >> 33;  // murmur3's fmix64: FNV's low bits, the home slot, mix poorly
  h *= 0xff51afd7ed558ccdu;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53u;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

Result<DedupeTable> DedupeTable::open(const std::string& path, const DedupeOptions& options) {
  if (path.empty()) return fail(errc::invalid_argument, "the dedupe table's path is empty");
  if (options.window < kMinWindow || options.window > kMaxWindow) {
    return fail(errc::invalid_argument, "dedupe window of " + std::to_string(options.window.count()) +
                                            " s: it must be from 1 s to 365 days");
  }
  if (options.capacity > kMaxCapacity) {
    return fail(errc::invalid_argument, "dedupe capacity of " + std::to_string(options.capacity) +
                                            " slots: at most " + std::to_string(kMaxCapacity));
  }
  const uint32_t want = std::max(kMinCapacity, std::bit_ceil(options.capacity));
  const int64_t window_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options.window).count();

  // Open it, or create it; a creation that lost the race opens the winner's.
  int raw = -1;
  for (int attempt = 0; attempt < 3 && raw < 0; ++attempt) {
    Result<int> opened = open_existing(path);
    if (opened && *opened < 0) opened = create(path, want, window_ns);
    if (!opened) return opened.error();
    raw = *opened;
  }
  if (raw < 0) return fail(errc::not_found, path + " keeps appearing and disappearing while being opened");
  Fd fd(raw);

  if (const std::error_code e = lock(fd.get(), path)) return e;
  const Result<uint32_t> capacity = check(fd.get(), path);
  if (!capacity) return capacity.error();
  const std::size_t bytes = file_bytes(*capacity);
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) return sys_fail(errno, "mmap", path);

  DedupeTable table(fd.release(), map, bytes, window_ns);
  // The file keeps its capacity; the window is the caller's.
  if (load(table.header_->window_ns) != window_ns) store(table.header_->window_ns, window_ns);
  return table;
}

DedupeTable::DedupeTable(int fd, void* map, std::size_t map_bytes, int64_t window_ns) noexcept
    : fd_(fd),
      map_(map),
      map_bytes_(map_bytes),
      header_(static_cast<DedupeFileHeader*>(map)),
      slots_(reinterpret_cast<DedupeSlot*>(static_cast<std::byte*>(map) + sizeof(DedupeFileHeader))),
      mask_(header_->capacity - 1),
      window_ns_(window_ns) {}

int64_t DedupeTable::cutoff(int64_t now_ns) const noexcept {
  // Entries recorded at or before this are expired (saturating: a caller's
  // odd clock must not overflow).
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  return now_ns < kMin + window_ns_ ? kMin : now_ns - window_ns_;
}

bool DedupeTable::seen(std::string_view id, int64_t now_ns) const noexcept {
  const uint64_t key = dedupe_key(id);
  const int64_t cut = cutoff(now_ns);
  // The whole probe run is read: there are no deletions, but a kill -9 in
  // record() can leave an empty slot in the middle of a run.
  for (uint32_t i = 0; i < kProbe; ++i) {
    DedupeSlot* s = slot(key + i);
    if (load(s->key) == key) return load(s->seen_ns) > cut;
  }
  return false;
}

void DedupeTable::prepare(std::string_view id) noexcept {
  const uint64_t key = dedupe_key(id);
  for (uint32_t i = 0; i < kProbe; ++i) {
    // relaxed: an RMW that changes nothing; it is the write access that
    // counts (a reader of stats() sees the same value either way).
    std::atomic_ref<int64_t>(slot(key + i)->seen_ns).fetch_add(0, std::memory_order_relaxed);
  }
}

void DedupeTable::record(std::string_view id, int64_t now_ns) noexcept {
  const uint64_t key = dedupe_key(id);
  const int64_t cut = cutoff(now_ns);
  DedupeSlot* target = nullptr;  // the first empty or expired slot
  DedupeSlot* oldest = nullptr;  // the slot to overwrite if there is none
  int64_t oldest_ns = std::numeric_limits<int64_t>::max();
  for (uint32_t i = 0; i < kProbe; ++i) {
    DedupeSlot* s = slot(key + i);
    const uint64_t k = load(s->key);
    if (k == key) {  // present, live or not: one store refreshes it
      store(s->seen_ns, now_ns);
      return;
    }
    const int64_t t = load(s->seen_ns);
    if (target == nullptr && (k == 0 || t <= cut)) target = s;
    if (oldest == nullptr || t < oldest_ns) {
      oldest = s;
      oldest_ns = t;
    }
  }
  if (target == nullptr) {  // every slot of the run is live: forget the oldest
    target = oldest;
    std::atomic_ref<uint64_t>(header_->evicted).fetch_add(1, std::memory_order_relaxed);
  }
  // Key cleared, time, key (release stores keep that order): a kill -9
  // between any two leaves an empty slot or the new key with its own time.
  store(target->key, uint64_t{0}, std::memory_order_relaxed);
  store(target->seen_ns, now_ns);
  store(target->key, key);
}

DedupeTable::Stats DedupeTable::stats(int64_t now_ns) const noexcept {
  const int64_t cut = cutoff(now_ns);
  Stats st{0, load(header_->evicted)};
  for (uint64_t i = 0; i <= mask_; ++i) st.live += live(slots_[i], cut) ? 1 : 0;
  return st;
}

DedupeTable::DedupeTable(DedupeTable&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      map_(std::exchange(other.map_, nullptr)),
      map_bytes_(std::exchange(other.map_bytes_, 0)),
      header_(std::exchange(other.header_, nullptr)),
      slots_(std::exchange(other.slots_, nullptr)),
      mask_(std::exchange(other.mask_, 0)),
      window_ns_(std::exchange(other.window_ns_, 0)) {}

DedupeTable& DedupeTable::operator=(DedupeTable&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
    header_ = std::exchange(other.header_, nullptr);
    slots_ = std::exchange(other.slots_, nullptr);
    mask_ = std::exchange(other.mask_, 0);
    window_ns_ = std::exchange(other.window_ns_, 0);
  }
  return *this;
}

DedupeTable::~DedupeTable() { close(); }

void DedupeTable::close() noexcept {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
  if (fd_ >= 0) ::close(fd_);  // drops the lock
  map_ = nullptr;
  fd_ = -1;
}

}  // namespace ringdrop::bridge

#include "ringdrop/service_registry.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "core/byte_lock.hpp"
#include "core/posix_file.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop {
namespace {

namespace fs = std::filesystem;
using detail::Fd;
using detail::fs_error;
using detail::number;

constexpr std::string_view kFirstLine = "ringdrop-service 1";
constexpr std::size_t kMaxServiceName = 100;
constexpr std::size_t kMaxText = 4096;
constexpr std::size_t kMaxEntrySize = 64 * 1024;
/// A writer takes its .tmp file's lock microseconds after creating it; an
/// unlocked .tmp file this old belongs to a writer that died.
constexpr auto kStaleTmpAge = std::chrono::minutes(1);

bool is_service_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

bool is_service_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxServiceName || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), is_service_char);
}

/// At most `max` bytes, none a control character: one line of the entry.
bool is_clean_text(std::string_view s, std::size_t max) noexcept {
  if (s.size() > max) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool is_hex16(std::string_view s) noexcept {
  return s.size() == 16 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string random_hex16() {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r) {
    // No entropy yet (early boot): time and an address still make the name
    // unique together with the pid in front of it.
    r = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) ^
        reinterpret_cast<uintptr_t>(&r);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
  return buf;
}

struct EntryName {
  std::string_view service;
  pid_t pid;
};

/// `<service>@<pid>.<16 hex>`, or nothing (a file that is not ours).
std::optional<EntryName> parse_entry_name(std::string_view name) {
  const auto at = name.find('@');
  const auto dot = name.find('.', at == std::string_view::npos ? name.size() : at);
  if (at == std::string_view::npos || dot == std::string_view::npos) return std::nullopt;
  const auto service = name.substr(0, at);
  const auto pid = number<pid_t>(name.substr(at + 1, dot - at - 1));
  if (!is_service_name(service) || !pid || *pid <= 0 || !is_hex16(name.substr(dot + 1))) {
    return std::nullopt;
  }
  return EntryName{service, *pid};
}

/// `.<entry name>.tmp`: an entry being written.
bool is_tmp_name(std::string_view name) {
  if (name.size() < 6 || name.front() != '.' || !name.ends_with(".tmp")) return false;
  return parse_entry_name(name.substr(1, name.size() - 5)).has_value();
}

std::string format_entry(std::string_view service, const Location& ring, pid_t pid,
                         int64_t registered_ns, std::string_view info) {
  std::string s(kFirstLine);
  s += "\nservice=" + std::string(service) + "\nring=" + ring.describe() +
       "\npid=" + std::to_string(pid) + "\nregistered-ns=" + std::to_string(registered_ns) +
       "\ninfo=" + std::string(info) + "\n";
  return s;
}

std::optional<Location> parse_ring(std::string_view v) {
  if (v.starts_with("shm:") && v.size() > 4) return Location::shm(std::string(v.substr(4)));
  if (v.starts_with("file:") && v.size() > 5) return Location::file(std::string(v.substr(5)));
  return std::nullopt;
}

/// The fields of an entry file, keyed; nothing if the format is not ours.
std::optional<std::vector<std::pair<std::string_view, std::string_view>>> entry_fields(
    std::string_view text) {
  if (!text.starts_with(kFirstLine) || !text.ends_with('\n')) return std::nullopt;
  text.remove_prefix(kFirstLine.size());
  if (text.front() != '\n') return std::nullopt;
  text.remove_prefix(1);
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    fields.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return fields;
}

/// The entry in `text`, checked against its file name; nothing if malformed.
std::optional<ServiceEntry> parse_entry(std::string_view text, const EntryName& name) {
  const auto fields = entry_fields(text);
  if (!fields) return std::nullopt;
  std::string_view service, ring, pid, ns, info;
  for (const auto& [key, value] : *fields) {
    if (key == "service") service = value;
    if (key == "ring") ring = value;
    if (key == "pid") pid = value;
    if (key == "registered-ns") ns = value;
    if (key == "info") info = value;
  }
  auto where = parse_ring(ring);
  const auto p = number<pid_t>(pid);
  const auto t = number<int64_t>(ns);
  // The name is what find() selects by: a content that disagrees with it is
  // damaged (or forged), and is not trusted.
  if (!where || !p || !t || service != name.service || *p != name.pid) return std::nullopt;
  const std::chrono::system_clock::time_point registered(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(*t)));
  return ServiceEntry{std::string(service), std::move(*where), *p, registered,
                      std::string(info), false, {}};
}

/// The registration in file `name`, with its liveness; nothing when the file
/// is not ours, not a regular file, larger than kMaxEntrySize, malformed, or
/// gone.
std::optional<ServiceEntry> read_entry(int dir_fd, const fs::path& dir, const std::string& name) {
  const auto parsed = parse_entry_name(name);
  if (!parsed) return std::nullopt;
  fs::path file = dir / name;
  const auto fd = detail::open_regular(dir_fd, name, O_RDONLY, file.native());
  if (!fd) return std::nullopt;
  const auto text =
      detail::read_small(fd->get(), kMaxEntrySize, detail::Overlong::refuse, file.native());
  if (!text) return std::nullopt;
  auto entry = parse_entry(*text, *parsed);
  if (!entry) return std::nullopt;
  // Another descriptor's lock (even our own registration's, in this very
  // process) is visible through this fresh open file description.
  entry->alive = detail::byte_locked_by_other(fd->get(), 0);
  entry->file = std::move(file);
  return entry;
}

bool older_than(const struct stat& st, std::chrono::seconds age) {
  const auto mtime = std::chrono::system_clock::from_time_t(st.st_mtime);
  return std::chrono::system_clock::now() - mtime >= age;
}

/// Removes file `name` if nobody holds its lock, and (for .tmp files) it is
/// at least `min_age` old. Holding the lock ourselves while unlinking means
/// no owner can hold it: a live entry is never removed, and of two removers
/// the second finds the name gone (or pointing elsewhere) and does nothing.
bool remove_if_dead(int dir_fd, const std::string& name, std::chrono::seconds min_age) {
  const auto fd = detail::open_regular(dir_fd, name, O_RDWR, name);
  if (!fd || detail::try_lock_byte(fd->get(), 0) != 0) return false;
  struct stat mine {}, named {};
  if (::fstat(fd->get(), &mine) != 0 ||
      ::fstatat(dir_fd, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0 ||
      mine.st_ino != named.st_ino || mine.st_dev != named.st_dev) {
    return false;
  }
  if (min_age.count() > 0 && !older_than(mine, min_age)) return false;
  return ::unlinkat(dir_fd, name.c_str(), 0) == 0;
}

/// Validates what register_service() is given.
std::error_code check_registration(std::string_view service, const Location& ring,
                                   std::string_view info) {
  if (!is_service_name(service)) {
    return detail::fail(errc::invalid_argument,
                        "service name \"" + std::string(service) +
                            "\": 1-100 of [A-Za-z0-9._-], not starting with '.'");
  }
  if (ring.name().empty() || !is_clean_text(ring.name(), kMaxText)) {
    return detail::fail(errc::invalid_argument,
                        "ring name: 1-4096 bytes without control characters");
  }
  if (!is_clean_text(info, kMaxText)) {
    return detail::fail(errc::invalid_argument,
                        "info: at most 4096 bytes without control characters");
  }
  return {};
}

/// Renames without replacing. Names are unique (pid and 64 random bits), so
/// where the file system lacks RENAME_NOREPLACE a plain rename is safe too.
std::error_code publish_entry(int dir_fd, const std::string& tmp, const std::string& name,
                              const std::string& what) {
  const int err = detail::rename_noreplace(dir_fd, tmp.c_str(), dir_fd, name.c_str());
  return err == 0 ? std::error_code{} : fs_error(err, "rename", what);
}

/// Creates the locked, complete .tmp file; its descriptor.
Result<int> write_tmp(int dir_fd, const std::string& tmp, mode_t file_mode,
                      std::string_view content, const std::string& what) {
  Fd fd(::openat(dir_fd, tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 file_mode));
  if (!fd) return fs_error(errno, "create", what);
  // Locked before it has a name readers look at: an entry is never seen
  // without its owner's lock, so never mistaken for a dead one.
  const int err = detail::try_lock_byte(fd.get(), 0);
  std::error_code ec = err != 0 ? fs_error(err, "lock", what) : std::error_code{};
  if (!ec && ::fchmod(fd.get(), file_mode) != 0) ec = fs_error(errno, "chmod", what);
  if (!ec) ec = detail::write_all(fd.get(), content.data(), content.size(), what);
  if (ec) {
    (void)::unlinkat(dir_fd, tmp.c_str(), 0);
    return ec;
  }
  return fd.release();
}

/// Opens directory `dir`, creating it with `mode` if it is missing.
Result<int> open_dir(const fs::path& dir, mode_t mode) {
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(dir.c_str(), flags);
  bool created = false;
  if (fd < 0 && errno == ENOENT) {
    created = ::mkdir(dir.c_str(), mode) == 0;
    if (!created && errno != EEXIST) return fs_error(errno, "create service registry", dir.string());
    fd = ::open(dir.c_str(), flags);
  }
  if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
    return detail::fail(errc::invalid_argument,
                        "service registry " + dir.string() + " is not a directory (or a symlink)");
  }
  if (fd < 0) return fs_error(errno, "open service registry", dir.string());
  if (created) (void)::fchmod(fd, mode);  // mkdir applied the umask
  return fd;
}

/// Refuses a directory owned by another user (root excepted): whoever owns
/// it could replace our entries and send our clients to a ring of theirs.
std::error_code check_owner(int fd, const fs::path& dir) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fs_error(errno, "stat", dir.string());
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    return detail::fail(errc::permission_denied,
                        "service registry " + dir.string() + " is owned by uid " +
                            std::to_string(st.st_uid) + ", not by this user or root");
  }
  return {};
}

/// Newest first: latest registration, then highest pid.
bool newer(const ServiceEntry& a, const ServiceEntry& b) noexcept {
  if (a.registered != b.registered) return a.registered > b.registered;
  return a.pid > b.pid;
}

}  // namespace

// --- ServiceRegistration ------------------------------------------------------

ServiceRegistration::ServiceRegistration(int dir_fd, int fd, std::string name,
                                         std::string service, fs::path file) noexcept
    : dir_fd_(dir_fd),
      fd_(fd),
      owner_(::getpid()),
      name_(std::move(name)),
      service_(std::move(service)),
      file_(std::move(file)) {}

ServiceRegistration::ServiceRegistration(ServiceRegistration&& other) noexcept
    : dir_fd_(std::exchange(other.dir_fd_, -1)),
      fd_(std::exchange(other.fd_, -1)),
      owner_(other.owner_),
      name_(std::move(other.name_)),
      service_(std::move(other.service_)),
      file_(std::move(other.file_)) {
  other.file_.clear();
}

ServiceRegistration& ServiceRegistration::operator=(ServiceRegistration&& other) noexcept {
  if (this != &other) {
    release();
    dir_fd_ = std::exchange(other.dir_fd_, -1);
    fd_ = std::exchange(other.fd_, -1);
    owner_ = other.owner_;
    name_ = std::move(other.name_);
    service_ = std::move(other.service_);
    file_ = std::move(other.file_);
    other.file_.clear();
  }
  return *this;
}

ServiceRegistration::~ServiceRegistration() { release(); }

void ServiceRegistration::unregister() noexcept { release(); }

void ServiceRegistration::release() noexcept {
  // A forked child shares our open file description: it must neither unlink
  // the entry nor unlock it (an OFD unlock would drop the parent's lock).
  // Closing its copy of the descriptor leaves the lock with the parent.
  if (fd_ >= 0 && owner_ == ::getpid()) (void)::unlinkat(dir_fd_, name_.c_str(), 0);
  if (fd_ >= 0) ::close(fd_);  // after the unlink: never an unlocked entry
  if (dir_fd_ >= 0) ::close(dir_fd_);
  fd_ = dir_fd_ = -1;
}

// --- ServiceRegistry -------------------------------------------------------------

bool ServiceRegistry::valid_service_name(std::string_view service) noexcept { return is_service_name(service); }

fs::path ServiceRegistry::default_directory() {
  if (const char* env = std::getenv("RINGDROP_SERVICE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return "/dev/shm/ringdrop-services-" + std::to_string(::geteuid());
}

Result<ServiceRegistry> ServiceRegistry::open(fs::path dir, mode_t mode) {
  auto fd = open_dir(dir, mode);
  if (!fd) return fd.error();
  if (auto ec = check_owner(*fd, dir)) {
    ::close(*fd);
    return ec;
  }
  return ServiceRegistry(std::move(dir), *fd, mode);
}

ServiceRegistry::ServiceRegistry(fs::path dir, int dir_fd, mode_t mode) noexcept
    : dir_(std::move(dir)), dir_fd_(dir_fd), mode_(mode) {}

ServiceRegistry::ServiceRegistry(ServiceRegistry&& other) noexcept
    : dir_(std::move(other.dir_)), dir_fd_(std::exchange(other.dir_fd_, -1)), mode_(other.mode_) {}

ServiceRegistry& ServiceRegistry::operator=(ServiceRegistry&& other) noexcept {
  if (this != &other) {
    if (dir_fd_ >= 0) ::close(dir_fd_);
    dir_ = std::move(other.dir_);
    dir_fd_ = std::exchange(other.dir_fd_, -1);
    mode_ = other.mode_;
  }
  return *this;
}

ServiceRegistry::~ServiceRegistry() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<ServiceRegistration> ServiceRegistry::register_service(std::string_view service,
                                                              const Location& ring,
                                                              std::string_view info) {
  if (auto ec = check_registration(service, ring, info)) return ec;
  const pid_t pid = ::getpid();
  const std::string name = std::string(service) + "@" + std::to_string(pid) + "." + random_hex16();
  const std::string tmp = "." + name + ".tmp";
  const std::string what = (dir_ / name).string();
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const std::string content = format_entry(service, ring, pid, now.count(), info);
  // Not fsynced: a registration does not outlive its process, and the
  // registry (in /dev/shm by default) does not outlive a reboot.
  auto fd = write_tmp(dir_fd_, tmp, mode_ & 0666, content, what);
  if (!fd) return fd.error();
  Fd entry(*fd);
  Fd dir(::fcntl(dir_fd_, F_DUPFD_CLOEXEC, 0));
  std::error_code ec = dir.get() < 0 ? fs_error(errno, "dup", dir_.string()) : std::error_code{};
  if (!ec) ec = publish_entry(dir_fd_, tmp, name, what);
  if (ec) {
    (void)::unlinkat(dir_fd_, tmp.c_str(), 0);
    return ec;
  }
  return ServiceRegistration(dir.release(), entry.release(), name, std::string(service), dir_ / name);
}

Result<ServiceEntry> ServiceRegistry::find(std::string_view service) {
  if (!is_service_name(service)) {
    return detail::fail(errc::invalid_argument, "service name \"" + std::string(service) + "\"");
  }
  auto names = detail::list_names(dir_fd_, dir_.native());
  if (!names) return names.error();
  const std::string prefix = std::string(service) + "@";
  std::optional<ServiceEntry> best;
  for (const auto& name : *names) {
    if (!name.starts_with(prefix) || !parse_entry_name(name)) continue;
    auto e = read_entry(dir_fd_, dir_, name);
    if (e && e->alive) {
      if (!best || newer(*e, *best)) best = std::move(e);
    } else {
      (void)remove_if_dead(dir_fd_, name, std::chrono::seconds(0));
    }
  }
  if (!best) {
    return detail::fail(errc::not_found, "no live registration of service \"" +
                                             std::string(service) + "\" in " + dir_.string());
  }
  return std::move(*best);
}

Result<std::vector<ServiceEntry>> ServiceRegistry::list() {
  auto names = detail::list_names(dir_fd_, dir_.native());
  if (!names) return names.error();
  std::vector<ServiceEntry> entries;
  for (const auto& name : *names) {
    if (auto e = read_entry(dir_fd_, dir_, name)) entries.push_back(std::move(*e));
  }
  std::sort(entries.begin(), entries.end(), [](const ServiceEntry& a, const ServiceEntry& b) {
    if (a.service != b.service) return a.service < b.service;
    if (a.pid != b.pid) return a.pid < b.pid;
    return a.registered < b.registered;
  });
  return entries;
}

Result<std::size_t> ServiceRegistry::remove_dead() {
  auto names = detail::list_names(dir_fd_, dir_.native());
  if (!names) return names.error();
  std::size_t removed = 0;
  for (const auto& name : *names) {
    if (parse_entry_name(name)) {
      removed += remove_if_dead(dir_fd_, name, std::chrono::seconds(0)) ? 1 : 0;
    } else if (is_tmp_name(name)) {
      (void)remove_if_dead(dir_fd_, name, kStaleTmpAge);
    }
  }
  return removed;
}

}  // namespace ringdrop

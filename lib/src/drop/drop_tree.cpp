#include "drop/drop_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "drop/drop_name.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

constexpr const char* kDirPaths[kDirCount] = {"incoming", "tmp",    "new",   "work",       "retry",
                                              "done",     "failed", "state", "state/meta", "state/keys"};

bool is_network_fs(int fd) {
  struct statfs s{};
  if (::fstatfs(fd, &s) != 0) return false;
  switch (static_cast<unsigned long>(s.f_type)) {
    case NFS_SUPER_MAGIC:
    case SMB_SUPER_MAGIC:
    case 0xFF534D42UL:  // CIFS
    case 0xFE534D42UL:  // SMB2
    case 0x65735546UL:  // FUSE (sshfs, s3fs...)
    case 0x01021997UL:  // 9P (v9fs)
    case 0x00C36400UL:  // Ceph
      return true;
    default:
      return false;
  }
}

std::error_code check_options(const DropOptions& o) {
  if (o.max_attempts == 0) return fail(errc::invalid_argument, "max_attempts must be at least 1");
  if (o.lease.count() <= 0 || o.scan_interval.count() <= 0 || o.retry_backoff.count() < 0 ||
      o.retry_backoff_max < o.retry_backoff || o.ingest.settle_time.count() < 0) {
    return fail(errc::invalid_argument, "lease and scan_interval must be positive, backoffs ordered");
  }
  // Bounds that keep "now + duration" far from overflow, in any unit.
  constexpr auto kYear = std::chrono::hours(24 * 366);
  if (o.lease > kYear || o.scan_interval > kYear || o.retry_backoff_max > kYear ||
      o.ingest.settle_time > kYear || o.key_retention > 100 * kYear) {
    return fail(errc::invalid_argument, "durations are limited to a year (key retention: 100)");
  }
  if (o.key_retention <= o.dead_letter_retention) {
    return fail(errc::invalid_argument,
                "key_retention must be longer than dead_letter_retention: a requeued dead "
                "letter must still find its processed key");
  }
  if (o.ingest.completion == Completion::marker && !is_plain_name(o.ingest.marker_suffix)) {
    return fail(errc::invalid_argument, "marker_suffix must be a plain file-name suffix");
  }
  return {};
}

/// Opens (creating if asked) the root; its descriptor, or an error.
Result<int> open_root(const std::string& root, const DropOptions& o) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && o.create) {
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec) return fs_error(ec.value(), "mkdir", root);
    ::chmod(root.c_str(), o.dir_mode);
    fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (fd < 0) {
    if (errno == ENOTDIR) return fail(errc::invalid_argument, root + " is not a directory");
    return fs_error(errno, "open", root);
  }
  if (::faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
    ::close(fd);
    return fs_error(errno, "write access to", root);
  }
  return fd;
}

/// Checks state/layout; writes it when missing and creating.
std::error_code check_layout(const DropTree& t) {
  auto text = read_small_file(t, Dir::state, "layout", 256);
  if (text) {
    if (*text == kLayoutText) return {};
    return fail(errc::incompatible_layout,
                t.path(Dir::state, "layout") + " says \"" + *text + "\", this library reads " +
                    std::string(kLayoutText));
  }
  if (text.error() != errc::not_found) return text.error();
  if (!t.options.create) {
    return fail(errc::not_found, t.root + " is not a drop channel (no state/layout)");
  }
  return write_small_file(t, Dir::state, "layout", kLayoutText);
}

}  // namespace

std::error_code fs_error(int err, std::string_view op, const std::string& what) {
  return fail(from_errno(err), std::string(op) + " " + what + ": " + std::strerror(err));
}

DropTree::~DropTree() {
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

std::string DropTree::path(Dir d, std::string_view name) const {
  return root + "/" + dir_path(d) + "/" + std::string(name);
}

const char* dir_path(Dir d) noexcept { return kDirPaths[static_cast<int>(d)]; }

Result<std::shared_ptr<DropTree>> open_tree(std::string root, const DropOptions& options) {
  if (auto ec = check_options(options)) return ec;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  auto root_fd = open_root(root, options);
  if (!root_fd) return root_fd.error();
  auto tree = std::make_shared<DropTree>();
  tree->root = std::move(root);
  tree->options = options;
  tree->network_fs = is_network_fs(*root_fd);
  for (int i = 0; i < kDirCount; ++i) {
    const char* rel = kDirPaths[i];
    if (options.create && ::mkdirat(*root_fd, rel, options.dir_mode) == 0) {
      ::fchmodat(*root_fd, rel, options.dir_mode, 0);  // the umask does not apply
    }
    const int fd = ::openat(*root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      const int err = errno;
      ::close(*root_fd);
      if (err == ENOENT) {
        return fail(errc::not_found, tree->root + " is not a drop channel: " + rel + "/ is missing");
      }
      return fs_error(err, "open", tree->root + "/" + rel);
    }
    tree->fds[i] = fd;
    if (::faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
      const int err = errno;
      ::close(*root_fd);
      return fs_error(err, "write access to", tree->root + "/" + rel);
    }
  }
  ::close(*root_fd);
  if (auto ec = check_layout(*tree)) return ec;
  return tree;
}

std::error_code move_entry(const DropTree& t, Dir from, std::string_view from_name, Dir to,
                           std::string_view to_name) {
  const std::string src(from_name), dst(to_name);
  if (::renameat2(t.fd(from), src.c_str(), t.fd(to), dst.c_str(), RENAME_NOREPLACE) == 0) return {};
  // No RENAME_NOREPLACE here (NFS answers EINVAL to any rename flag): a
  // plain rename. Every destination name is unique by construction (a fresh
  // id, or this consumer's id with a deadline), so nothing is replaced; and
  // link+unlink would not do: two processes could both "win", and a crash
  // between the two calls leaves two names.
  if ((errno == EINVAL || errno == ENOSYS) &&
      ::renameat(t.fd(from), src.c_str(), t.fd(to), dst.c_str()) == 0) {
    return {};
  }
  const int err = errno;
  return fs_error(err, "rename", t.path(from, src) + " -> " + t.path(to, dst));
}

std::error_code remove_entry(const DropTree& t, Dir d, std::string_view name) {
  const std::string n(name);
  if (::unlinkat(t.fd(d), n.c_str(), 0) == 0) return {};
  const int err = errno;
  return fs_error(err, "unlink", t.path(d, n));
}

void discard_entry(const DropTree& t, Dir d, const std::string& name) noexcept {
  (void)::unlinkat(t.fd(d), name.c_str(), 0);
}

std::error_code remove_tree_at(int dir_fd, const std::string& name) {
  // Descends by descriptor with O_NOFOLLOW: whoever owns the tree may swap a
  // subdirectory for a symlink meanwhile, and must not redirect the removal
  // outside it (the std::filesystem::remove_all race, CVE-2022-21658).
  const int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOTDIR && errno != ELOOP) return from_errno(errno);
    return ::unlinkat(dir_fd, name.c_str(), 0) == 0 ? std::error_code{} : from_errno(errno);
  }
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return from_errno(errno);
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  std::error_code ec;
  for (const auto& n : names) {
    if (auto e = remove_tree_at(::dirfd(dir), n); e && !ec) ec = e;
  }
  ::closedir(dir);
  if (!ec && ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) ec = from_errno(errno);
  return ec;
}

std::error_code write_all(int fd, const void* bytes, std::size_t size) {
  const char* p = static_cast<const char*>(bytes);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(from_errno(errno), std::string("write: ") + std::strerror(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

std::error_code write_small_file(const DropTree& t, Dir d, std::string_view name,
                                 std::string_view content) {
  const std::string part = "." + std::string(name) + "." + new_consumer_id() + ".part";
  const int fd = ::openat(t.fd(Dir::tmp), part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                          t.options.dir_mode & 0666);
  if (fd < 0) return fs_error(errno, "create", t.path(Dir::tmp, part));
  ::fchmod(fd, t.options.dir_mode & 0666);  // the umask does not apply
  auto ec = write_all(fd, content.data(), content.size());
  if (!ec && t.options.durable && ::fsync(fd) != 0) ec = fs_error(errno, "fsync", t.path(Dir::tmp, part));
  if (::close(fd) != 0 && !ec) ec = fs_error(errno, "close", t.path(Dir::tmp, part));
  const std::string dst(name);
  if (!ec && ::renameat(t.fd(Dir::tmp), part.c_str(), t.fd(d), dst.c_str()) != 0) {
    ec = fs_error(errno, "rename", t.path(Dir::tmp, part) + " -> " + t.path(d, dst));
  }
  if (ec) discard_entry(t, Dir::tmp, part);
  return ec;
}

Result<std::string> read_small_file(const DropTree& t, Dir d, std::string_view name,
                                    std::size_t limit) {
  const std::string n(name);
  const int fd = ::openat(t.fd(d), n.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return fs_error(errno, "open", t.path(d, n));
  std::string out(limit, '\0');
  std::size_t got = 0;
  while (got < limit) {
    const ssize_t r = ::read(fd, out.data() + got, limit - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const auto ec = fs_error(errno, "read", t.path(d, n));
      ::close(fd);
      return ec;
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

Result<std::vector<std::string>> list_dir(const DropTree& t, Dir d) {
  // A fresh descriptor: a DIR stream owns its descriptor's file offset.
  const int fd = ::openat(t.fd(d), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fs_error(errno, "open", t.root + "/" + dir_path(d));
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return fs_error(errno, "opendir", t.root + "/" + dir_path(d));
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

void sync_dir(const DropTree& t, Dir d) noexcept {
  if (t.options.durable) (void)::fsync(t.fd(d));
}

}  // namespace ringdrop::detail

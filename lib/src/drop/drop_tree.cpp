#include "drop/drop_tree.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>  // renameat
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "drop/drop_ingest_rule.hpp"
#include "drop/drop_name.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

constexpr const char* kDirPaths[kDirCount] = {"incoming", "tmp",        "new",        "work",
                                              "retry",    "done",       "failed",     "state",
                                              "state/meta", "state/keys", "receipts"};

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
      o.ingest.settle_time > kYear || o.key_retention > 100 * kYear || o.receipt_retention > 100 * kYear ||
      o.dead_letter_retention > 100 * kYear || o.stale_tmp_after > 100 * kYear || o.receipt_retention.count() < 0 ||
      o.dead_letter_retention.count() < 0 || o.stale_tmp_after.count() < 0) {
    return fail(errc::invalid_argument, "durations are limited to a year (retention times: 100)");
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
Result<Fd> open_root(const std::string& root, const DropOptions& o) {
  Fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd && errno == ENOENT && o.create) {
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec) return fs_error(ec.value(), "mkdir", root);
    ::chmod(root.c_str(), o.dir_mode);
    fd.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!fd) {
    if (errno == ENOTDIR) return fail(errc::invalid_argument, root + " is not a directory");
    return fs_error(errno, "open", root);
  }
  if (::faccessat(fd.get(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
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

std::string DropTree::path(Dir d, std::string_view name) const {
  return root + "/" + dir_path(d) + "/" + std::string(name);
}

const char* dir_path(Dir d) noexcept { return kDirPaths[static_cast<int>(d)]; }

Result<std::shared_ptr<DropTree>> open_tree(std::string root, const DropOptions& options) {
  if (auto ec = check_options(options)) return ec;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  auto opened = open_root(root, options);
  if (!opened) return opened.error();
  const Fd root_fd = std::move(*opened);
  auto tree = std::make_shared<DropTree>();
  tree->root = std::move(root);
  tree->options = options;
  tree->network_fs = is_network_fs(root_fd.get());
  for (int i = 0; i < kDirCount; ++i) {
    const char* rel = kDirPaths[i];
    if (options.create && ::mkdirat(root_fd.get(), rel, options.dir_mode) == 0) {
      ::fchmodat(root_fd.get(), rel, options.dir_mode, 0);  // the umask does not apply
    }
    Fd& fd = tree->fds[i];
    fd.reset(::openat(root_fd.get(), rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    // receipts/ came later: a channel made before it, opened without
    // create, simply writes none (drop_receipt.hpp).
    if (!fd && errno == ENOENT && static_cast<Dir>(i) == Dir::receipts) continue;
    if (!fd) {
      if (errno == ENOENT) {
        return fail(errc::not_found, tree->root + " is not a drop channel: " + rel + "/ is missing");
      }
      return fs_error(errno, "open", tree->root + "/" + rel);
    }
    if (::faccessat(fd.get(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
      return fs_error(errno, "write access to", tree->root + "/" + rel);
    }
  }
  if (auto ec = check_layout(*tree)) return ec;
  if (auto ec = settle_ingest_rule(*tree)) return ec;
  return tree;
}

std::error_code move_entry(const DropTree& t, Dir from, std::string_view from_name, Dir to,
                           std::string_view to_name) {
  const std::string src(from_name), dst(to_name);
  // Every destination name is unique by construction (a fresh id, or this
  // consumer's id with a deadline), so nothing is replaced even where the
  // file system lacks RENAME_NOREPLACE and rename_noreplace falls back to a
  // plain rename.
  const int err = rename_noreplace(t.fd(from), src.c_str(), t.fd(to), dst.c_str());
  if (err == 0) return {};
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
  const Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno != ENOTDIR && errno != ELOOP) return from_errno(errno);
    return ::unlinkat(dir_fd, name.c_str(), 0) == 0 ? std::error_code{} : from_errno(errno);
  }
  auto names = list_names(fd.get(), name);
  if (!names) return names.error();
  std::error_code ec;
  for (const auto& n : *names) {
    if (auto e = remove_tree_at(fd.get(), n); e && !ec) ec = e;
  }
  if (!ec && ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) ec = from_errno(errno);
  return ec;
}

std::error_code write_small_file(const DropTree& t, Dir d, std::string_view name,
                                 std::string_view content, bool replace) {
  const std::string part = "." + std::string(name) + "." + new_consumer_id() + ".part";
  Fd fd(::openat(t.fd(Dir::tmp), part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                 t.options.dir_mode & 0666));
  if (!fd) return fs_error(errno, "create", t.path(Dir::tmp, part));
  ::fchmod(fd.get(), t.options.dir_mode & 0666);  // the umask does not apply
  auto ec = write_all(fd.get(), content.data(), content.size());
  if (!ec && t.options.durable && ::fsync(fd.get()) != 0) {
    ec = fs_error(errno, "fsync", t.path(Dir::tmp, part));
  }
  // close() reports deferred write errors (NFS, quotas): checked, not left
  // to the holder's destructor.
  if (::close(fd.release()) != 0 && !ec) ec = fs_error(errno, "close", t.path(Dir::tmp, part));
  const std::string dst(name);
  if (!ec) {
    const int err = replace ? (::renameat(t.fd(Dir::tmp), part.c_str(), t.fd(d), dst.c_str()) == 0 ? 0 : errno)
                            : rename_noreplace(t.fd(Dir::tmp), part.c_str(), t.fd(d), dst.c_str());
    if (err != 0) ec = fs_error(err, "rename", t.path(Dir::tmp, part) + " -> " + t.path(d, dst));
  }
  if (ec) discard_entry(t, Dir::tmp, part);
  return ec;
}

Result<std::string> read_small_file(const DropTree& t, Dir d, std::string_view name,
                                    std::size_t limit) {
  const std::string n(name);
  const std::string path = t.path(d, n);
  auto fd = open_regular(t.fd(d), n, O_RDONLY, path);
  if (!fd) return fd.error();
  return read_small(fd->get(), limit, Overlong::truncate, path);
}

Result<std::vector<std::string>> list_dir(const DropTree& t, Dir d) {
  auto names = list_names(t.fd(d), t.root + "/" + dir_path(d));
  if (names) std::sort(names->begin(), names->end());
  return names;
}

void sync_dir(const DropTree& t, Dir d) noexcept {
  if (t.options.durable) (void)::fsync(t.fd(d));
}

}  // namespace ringdrop::detail

#include "core/posix_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "ringdrop/error.hpp"

namespace ringdrop::detail {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

std::error_code fs_error(int err, std::string_view op, std::string_view what) {
  std::string detail(op);
  if (!what.empty()) detail.append(" ").append(what);
  detail.append(": ").append(std::strerror(err));
  return fail(from_errno(err), std::move(detail));
}

std::error_code write_all(int fd, const void* bytes, std::size_t size, std::string_view what) {
  const char* p = static_cast<const char*>(bytes);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fs_error(errno, "write", what);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

Result<Fd> open_regular(int dir_fd, const std::string& name, int access, std::string_view what) {
  // Looked at before opening: opening a device can act on it (a tape
  // rewinds), opening a FIFO for writing blocks.
  struct stat before{};
  if (::fstatat(dir_fd, name.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0) {
    return fs_error(errno, "open", what);
  }
  const auto not_regular = [&] {
    return fail(errc::unsafe_file, std::string(what) + " is not a regular file");
  };
  if (!S_ISREG(before.st_mode)) return not_regular();
  Fd fd(::openat(dir_fd, name.c_str(), access | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return fs_error(errno, "open", what);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return fs_error(errno, "stat", what);
  if (!S_ISREG(st.st_mode)) return not_regular();
  return fd;
}

Result<std::string> read_small(int fd, std::size_t limit, Overlong overlong, std::string_view what) {
  // One byte past the limit tells a file of exactly `limit` bytes from a
  // longer one.
  const std::size_t want = overlong == Overlong::refuse && limit < SIZE_MAX ? limit + 1 : limit;
  std::string out;
  char buf[4096];
  while (out.size() < want) {
    const std::size_t chunk = std::min(sizeof buf, want - out.size());
    const ssize_t n = ::pread(fd, buf, chunk, static_cast<off_t>(out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fs_error(errno, "read", what);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  if (out.size() > limit) {
    return fail(errc::bad_message,
                std::string(what) + " is larger than " + std::to_string(limit) + " bytes");
  }
  return out;
}

Result<std::vector<std::string>> list_names(int dir_fd, std::string_view what) {
  Fd fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fs_error(errno, "open", what);
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return fs_error(errno, "list", what);
  fd.release();  // the stream owns it now
  std::vector<std::string> names;
  int err = 0;
  for (;;) {
    errno = 0;  // readdir tells the end from an error only by errno
    const dirent* e = ::readdir(dir);
    if (e == nullptr) {
      err = errno;
      break;
    }
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  if (err != 0) return fs_error(err, "list", what);
  return names;
}

int rename_noreplace(int from_dir, const char* from, int to_dir, const char* to) noexcept {
  if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  return ::renameat(from_dir, from, to_dir, to) == 0 ? 0 : errno;
}

}  // namespace ringdrop::detail

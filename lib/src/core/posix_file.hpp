// posix_file.hpp — the POSIX file toolkit of the layers that keep their
// state in files (the drop channel, the service registry): a descriptor
// owned by a scope, whole writes, bounded reads of small regular files,
// directory listings, renames that never replace, syscall failures turned
// into ringdrop errors with a detail, and decimal numbers read from names
// and text.
//
// Every descriptor opened here is close-on-exec, and every name is opened
// relative to a directory descriptor without following a symlink.
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "ringdrop/result.hpp"

namespace ringdrop::detail {

/// A descriptor, closed when its holder goes (or is reset).
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives the descriptor up without closing it.
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// Closes the descriptor held (never retried: on Linux a close that
  /// reports EINTR has closed it) and holds `fd` instead.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// The failure of a syscall: errno `err` as an error_code (from_errno: a
/// ringdrop code where one fits), with "<op> <what>: <strerror>" recorded
/// for last_error_detail() ("<op>: <strerror>" when `what` is empty).
std::error_code fs_error(int err, std::string_view op, std::string_view what);

/// Writes all `size` bytes to `fd`, resuming after EINTR and short writes.
/// no_space when the disk or a quota is full; the detail names `what`.
std::error_code write_all(int fd, const void* bytes, std::size_t size, std::string_view what = {});

/// Opens `name` in directory `dir_fd` only if it is a regular file: never
/// following a symlink, never opening a device or blocking on a FIFO
/// (checked before opening, and again after, in case the name was replaced
/// meanwhile). `access` is O_RDONLY, O_RDWR...; O_NOFOLLOW, O_NONBLOCK and
/// O_CLOEXEC are added. unsafe_file for anything but a regular file, the
/// mapped errno otherwise (not_found when it is gone); `what` names it in
/// the detail.
Result<Fd> open_regular(int dir_fd, const std::string& name, int access, std::string_view what);

/// What read_small does with a file longer than its limit.
enum class Overlong {
  truncate,  ///< returns its first `limit` bytes
  refuse,    ///< fails with bad_message
};

/// The content of regular file `fd` from offset 0, at most `limit` bytes
/// (pread: the file position is not used). Resumes after EINTR and short
/// reads; allocates what the file holds, not the limit.
Result<std::string> read_small(int fd, std::size_t limit, Overlong overlong, std::string_view what);

/// The names in directory `dir_fd`, unsorted, without "." and "..". Read
/// through a descriptor of its own: a directory stream owns its
/// descriptor's file offset, which a shared descriptor would share with
/// every other thread listing it.
Result<std::vector<std::string>> list_names(int dir_fd, std::string_view what);

/// Renames without replacing: renameat2(RENAME_NOREPLACE) or, where the file
/// system has no such flag (NFS answers EINVAL to any rename flag), a plain
/// renameat. Callers use it for destination names that are unique by
/// construction, so nothing is replaced either way; link+unlink would not
/// do: two processes could both "win", and a crash between the two calls
/// leaves two names. 0, or the errno (ENOENT: the source is gone, EEXIST:
/// the destination exists).
int rename_noreplace(int from_dir, const char* from, int to_dir, const char* to) noexcept;

/// The value of decimal text `s`: all of it, digits with an optional leading
/// '-' (for a signed T), no '+', no space. Nothing when the text is empty,
/// is not a number, or does not fit in T.
template <class T>
  requires std::is_integral_v<T>
std::optional<T> number(std::string_view s) noexcept {
  T v{};
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace ringdrop::detail

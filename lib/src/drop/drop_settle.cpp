#include "drop/drop_settle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "drop/drop_name.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {

std::string message_key(const DropHeaders& headers, std::string_view id) {
  const auto it = headers.find(drop_header::idempotency_key);
  return it != headers.end() && !it->second.empty() ? it->second : std::string(id);
}

bool key_processed(const DropTree& t, std::string_view key) {
  struct stat st{};
  return ::fstatat(t.fd(Dir::keys), key_file_name(key).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
}

std::error_code record_key(const DropTree& t, std::string_view key) {
  const std::string name = key_file_name(key);
  const int fd = ::openat(t.fd(Dir::keys), name.c_str(),
                          O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                          t.options.dir_mode & 0666);
  if (fd < 0) return fs_error(errno, "create", t.path(Dir::keys, name));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(errc::unsafe_file, t.path(Dir::keys, name) + " is not a regular file");
  }
  ::futimens(fd, nullptr);  // retention counts from the latest ack
  ::close(fd);
  sync_dir(t, Dir::keys);
  return {};
}

std::error_code finish_message(const DropTree& t, std::string_view id, uint32_t attempts,
                               const std::string& work_name) {
  if (t.options.archive) {
    if (auto ec = move_entry(t, Dir::work, work_name, Dir::done, ready_name(id, attempts))) return ec;
    const std::string meta(id), kept = std::string(id) + ".headers";
    (void)::renameat(t.fd(Dir::meta), meta.c_str(), t.fd(Dir::done), kept.c_str());
    return {};
  }
  if (auto ec = remove_entry(t, Dir::work, work_name)) return ec;
  discard_entry(t, Dir::meta, std::string(id));
  return {};
}

std::chrono::milliseconds retry_delay(const DropOptions& o, uint32_t attempt) noexcept {
  auto d = o.retry_backoff;
  for (uint32_t i = 1; i < attempt && d < o.retry_backoff_max; ++i) d *= 2;
  return std::min(d, o.retry_backoff_max);
}

}  // namespace ringdrop::detail

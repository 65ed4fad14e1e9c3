#include "drop_settle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "drop_name.hpp"

namespace ringdrop::detail {

std::string message_key(const DropHeaders& headers, std::string_view id) {
  const auto it = headers.find(drop_header::idempotency_key);
  return it != headers.end() && !it->second.empty() ? it->second : std::string(id);
}

bool key_processed(const DropTree& t, std::string_view key) {
  return ::faccessat(t.fd(Dir::keys), key_file_name(key).c_str(), F_OK, 0) == 0;
}

std::error_code record_key(const DropTree& t, std::string_view key) {
  const std::string name = key_file_name(key);
  const int fd = ::openat(t.fd(Dir::keys), name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                          t.options.dir_mode & 0666);
  if (fd < 0) return fs_error(errno, "create", t.path(Dir::keys, name));
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
  (void)remove_entry(t, Dir::meta, id);
  return {};
}

std::chrono::milliseconds retry_delay(const DropOptions& o, uint32_t attempt) noexcept {
  auto d = o.retry_backoff;
  for (uint32_t i = 1; i < attempt && d < o.retry_backoff_max; ++i) d *= 2;
  return std::min(d, o.retry_backoff_max);
}

}  // namespace ringdrop::detail

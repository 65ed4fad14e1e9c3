#include "process_identity.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ringdrop::detail {
namespace {

struct ProcStat {
  char state = '?';
  uint64_t start_ticks = 0;
};

// Reads state (field 3) and starttime (field 22) of /proc/<pid>/stat.
// Returns errno on failure, 0 on success.
int read_proc_stat(uint32_t pid, ProcStat& out) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  const int err = errno;
  ::close(fd);
  if (n <= 0) return n < 0 ? err : ESRCH;
  buf[n] = '\0';
  // The command name (field 2) is in parentheses and may itself contain
  // spaces and ')': the fields we want start after the *last* ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] != ' ') return EINVAL;
  p += 2;
  out.state = *p;
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (p == nullptr) return EINVAL;
    ++p;
  }
  out.start_ticks = std::strtoull(p, nullptr, 10);
  return 0;
}

uint64_t pack(uint32_t pid, uint64_t start_ticks) noexcept {
  return ((start_ticks & kStartMask) << kPidBits) | (pid & kPidMask);
}

}  // namespace

uint64_t self_identity() noexcept {
  // Cached per pid, so a forked child computes its own.
  static std::atomic<uint64_t> cached{0};
  const auto pid = static_cast<uint32_t>(::getpid());
  uint64_t id = cached.load(std::memory_order_relaxed);
  if (id != 0 && identity_pid(id) == pid) return id;
  ProcStat st;
  id = pack(pid, read_proc_stat(pid, st) == 0 ? st.start_ticks : 0);
  cached.store(id, std::memory_order_relaxed);
  return id;
}

bool identity_alive(uint64_t identity) noexcept {
  const uint32_t pid = identity_pid(identity);
  if (pid == 0) return false;
  ProcStat st;
  const int err = read_proc_stat(pid, st);
  if (err == ENOENT || err == ESRCH) return false;
  if (err != 0) {
    // /proc hidden from us (hidepid): fall back to the pid alone.
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  }
  if (st.state == 'Z' || st.state == 'X') return false;
  return ((st.start_ticks & kStartMask) << kPidBits) == (identity & ~kPidMask);
}

}  // namespace ringdrop::detail

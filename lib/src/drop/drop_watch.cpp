#include "drop/drop_watch.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

constexpr uint32_t kReadyMask = IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE;
constexpr uint32_t kIncomingMask = IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE | IN_ATTRIB;

int poll_timeout_ms(Deadline until) {
  const auto left = until - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

}  // namespace

Result<Watch> Watch::open(const DropTree& t) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return fs_error(errno, "inotify_init1 for", t.root);
  // Watch by path: inotify_add_watch takes no directory descriptor.
  const int ready = ::inotify_add_watch(fd, (t.root + "/new").c_str(), kReadyMask);
  const int incoming = ::inotify_add_watch(fd, (t.root + "/incoming").c_str(), kIncomingMask);
  if (ready < 0 || incoming < 0) {
    const int err = errno;
    ::close(fd);
    return fs_error(err, "inotify_add_watch on", t.root);
  }
  return Watch(fd, ready, incoming);
}

Result<Watch> Watch::open(const DropTree& t, Dir d) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return fs_error(errno, "inotify_init1 for", t.root);
  const std::string dir = t.root + "/" + dir_path(d);
  const int wd = ::inotify_add_watch(fd, dir.c_str(), kReadyMask);
  if (wd < 0) {
    const int err = errno;
    ::close(fd);
    return fs_error(err, "inotify_add_watch on", dir);
  }
  return Watch(fd, wd, -1);
}

Watch::Watch(Watch&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), ready_wd_(other.ready_wd_), incoming_wd_(other.incoming_wd_) {}

Watch& Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    ready_wd_ = other.ready_wd_;
    incoming_wd_ = other.incoming_wd_;
  }
  return *this;
}

Watch::~Watch() {
  if (fd_ >= 0) ::close(fd_);
}

Watch::Events Watch::drain() {
  Events ev;
  alignas(inotify_event) char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      ev.broken = n < 0 && errno != EAGAIN;
      ev.overflow = ev.overflow || ev.broken;  // whatever was pending is lost
      return ev;
    }
    for (ssize_t off = 0; off < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      if (e->mask & IN_Q_OVERFLOW) {
        ev.overflow = true;
      } else if (e->wd == incoming_wd_) {
        ev.incoming = true;
      } else if (e->wd == ready_wd_ && e->len > 0) {
        ev.ready.emplace_back(e->name);
      }
    }
  }
}

bool Watch::wait(Deadline until) const {
  pollfd p{fd_, POLLIN, 0};
  for (;;) {
    const int r = ::poll(&p, 1, poll_timeout_ms(until));
    if (r > 0) return true;
    if (r == 0 && Clock::now() >= until) return false;
    // EINTR, or poll's millisecond rounding woke us early: wait the rest.
  }
}

void sleep_until(Deadline until) { std::this_thread::sleep_until(until); }

}  // namespace ringdrop::detail

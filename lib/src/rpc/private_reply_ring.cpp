// Private reply rings: one per Client, "ringdrop.reply.<pid>.<random>",
// removed by the client when it closes — and, when it was killed, by the
// next client that starts (or `ringdrop gc`).
//
// Which rings are dead. A client is its ring's only consumer, so "no
// consumer attached" (the kernel-held peer locks, as inspect_mpmc reads
// them) says its client is gone — except in the instant between a client
// creating its ring and attaching to it. The pid in the name closes that
// gap: the creating process still exists then. So a ring is removed only
// when both hold; a reused pid merely keeps a dead ring a while longer.
#include <dirent.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/rpc_client.hpp"
#include "rpc/rpc_internal.hpp"

namespace ringdrop::detail {

namespace {

constexpr std::string_view kPrefix = "ringdrop.reply.";
constexpr const char* kShmDir = "/dev/shm";  // where Linux keeps POSIX shared memory objects

// The pid in "ringdrop.reply.<pid>.<hex>"; 0 if the name is not one.
pid_t pid_of(std::string_view name) noexcept {
  if (!name.starts_with(kPrefix)) return 0;
  name.remove_prefix(kPrefix.size());
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= name.size()) return 0;
  int pid = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + dot, pid);
  return ec == std::errc{} && end == name.data() + dot && pid > 0 ? pid : 0;
}

bool process_exists(pid_t pid) noexcept { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// Whether a consumer holds the ring at `where`. A ring its creator never
// finished (killed between creating the object and its header) has none.
// Anything that is not a ringdrop segment (another program's object under
// our name) counts as held: it is left alone.
bool has_consumer(const Location& where) {
  auto seg = Segment::inspect(where);  // no wait for a header that will never come
  if (!seg) return seg.error() != errc::not_found && seg.error() != errc::timed_out && seg.error() != errc::corrupted;
  auto stats = inspect_mpmc(where);
  if (!stats) return stats.error() != errc::not_found;
  for (const PeerInfo& p : stats->peers) {
    if (!p.producer) return true;
  }
  return false;
}

}  // namespace

Location private_reply_location() {
  uint32_t r = 0;
  if (::getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r) r = static_cast<uint32_t>(next_message_id());
  char name[64];
  std::snprintf(name, sizeof name, "%.*s%d.%08x", static_cast<int>(kPrefix.size()), kPrefix.data(),
                static_cast<int>(::getpid()), r);
  return Location::shm(name);
}

size_t remove_dead_private_reply_rings() noexcept {
  try {
    std::vector<std::string> dead;
    if (DIR* dir = ::opendir(kShmDir)) {
      while (const dirent* e = ::readdir(dir)) {
        const pid_t pid = pid_of(e->d_name);
        if (pid != 0 && !process_exists(pid)) dead.emplace_back(e->d_name);
      }
      ::closedir(dir);
    }
    size_t removed = 0;
    for (const std::string& name : dead) {
      const Location where = Location::shm(name);
      if (is_abandoned_reply_ring(where) && !Segment::remove(where)) ++removed;
    }
    return removed;
  } catch (...) {  // out of memory listing: nothing removed, nothing lost
    return 0;
  }
}

}  // namespace ringdrop::detail

namespace ringdrop {

bool is_abandoned_reply_ring(const Location& ring) {
  if (ring.is_file()) return false;
  const pid_t pid = detail::pid_of(ring.name());
  return pid != 0 && !detail::process_exists(pid) && !detail::has_consumer(ring);
}

}  // namespace ringdrop

// ringdrop doctor — what this host gives ringdrop, and what to change:
// /dev/shm, inotify limits, the file systems of drop channels, the service
// registry's permissions, the futex and the clocks, leftovers.
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <fstream>

#include "cli.hpp"

namespace ringdrop::cli {

namespace {

struct Check {
  std::string name;
  std::string status;  // ok, warn, fail
  std::string found;
  std::string advice;  // what to change (empty when ok)
};

void check_shm(std::vector<Check>& out) {
  struct statfs fs {};
  struct statvfs vfs {};
  if (::statfs("/dev/shm", &fs) != 0 || ::statvfs("/dev/shm", &vfs) != 0) {
    out.push_back({"/dev/shm", "fail", "cannot be read: " + std::string(std::strerror(errno)),
                   "mount a tmpfs on /dev/shm: shm rings live there"});
    return;
  }
  const uint64_t size = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  const uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  const bool tmpfs = static_cast<unsigned long>(fs.f_type) == 0x01021994UL;  // TMPFS_MAGIC
  const std::string found = std::string(tmpfs ? "tmpfs" : "not tmpfs") + ", " + human_bytes(size) + ", " +
                            human_bytes(avail) + " free";
  if (!tmpfs) {
    out.push_back({"/dev/shm", "warn", found, "shm rings should live in memory: mount a tmpfs on /dev/shm"});
  } else if (avail < (64u << 20) || avail * 10 < size) {
    out.push_back({"/dev/shm", "warn", found,
                   "little room: a ring's capacity is reserved when it is made; grow it (mount -o remount,size=2G "
                   "/dev/shm; Docker: --shm-size) or remove stale rings (ringdrop gc)"});
  } else {
    out.push_back({"/dev/shm", "ok", found, ""});
  }
}

long read_long(const char* path) {
  std::ifstream in(path);
  long v = -1;
  in >> v;
  return in ? v : -1;
}

void check_inotify(std::vector<Check>& out) {
  struct Limit {
    const char* key;
    long want;
    const char* why;
  };
  const Limit limits[] = {
      {"max_user_watches", 8192, "each consumer of a drop channel watches 2 directories"},
      {"max_user_instances", 128, "each drop consumer (and receipt wait) holds an inotify instance"},
      {"max_queued_events", 16384, "a burst larger than this overflows and costs a full rescan"},
  };
  for (const auto& l : limits) {
    const std::string path = std::string("/proc/sys/fs/inotify/") + l.key;
    const long v = read_long(path.c_str());
    const std::string name = std::string("inotify ") + l.key;
    if (v < 0) {
      out.push_back({name, "warn", "unknown (no " + path + ")", "drop consumers will poll"});
    } else if (v < l.want) {
      out.push_back({name, "warn", std::to_string(v),
                     std::string(l.why) + ": raise it (sysctl fs.inotify." + l.key + "=" + std::to_string(l.want) + ")"});
    } else {
      out.push_back({name, "ok", std::to_string(v), ""});
    }
  }
}

const char* network_fs(unsigned long type) {
  switch (type) {
    case 0x6969UL: return "NFS";
    case 0x517BUL: return "SMB";
    case 0xFE534D42UL: return "SMB2";
    case 0xFF534D42UL: return "CIFS";
    case 0x65735546UL: return "FUSE";
    default: return nullptr;
  }
}

void check_channel(const std::string& root, std::vector<Check>& out) {
  const std::string name = "channel " + root;
  struct statfs fs {};
  if (::statfs(root.c_str(), &fs) != 0) {
    out.push_back({name, "fail", std::strerror(errno), "create it, or fix the path in --channel / the config"});
    return;
  }
  if (::access(root.c_str(), W_OK | X_OK) != 0) {
    out.push_back({name, "fail", "not writable by this user", "consumers move files: give this user write access"});
    return;
  }
  if (const char* net = network_fs(static_cast<unsigned long>(fs.f_type))) {
    out.push_back({name, "warn", std::string("on ") + net,
                   "inotify sees no changes made on other hosts: consumers poll every scan_interval (fine, slower)"});
    return;
  }
  auto c = ops::inspect_channel(root);
  if (!c) {
    out.push_back({name, "fail", last_error_detail(), "not a drop channel (or of another layout)"});
  } else if (c->counts.failed > 0) {
    out.push_back({name, "warn", std::to_string(c->counts.failed) + " dead letters",
                   "look at them: ringdrop dlq ls " + root});
  } else {
    out.push_back({name, "ok", "local file system, no dead letters", ""});
  }
}

void check_registry(const Globals& g, std::vector<Check>& out) {
  const auto dir = g.inventory().registry;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    out.push_back({"service registry", "ok", dir.string() + " not made yet (made by the first server)", ""});
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    out.push_back({"service registry", "fail", dir.string() + " is not a directory", "remove it"});
  } else if (st.st_uid != ::getuid() && st.st_uid != 0) {
    out.push_back({"service registry", "fail", dir.string() + " belongs to uid " + std::to_string(st.st_uid),
                   "another user's registry could redirect clients: remove it, or set RINGDROP_SERVICE_DIR"});
  } else if ((st.st_mode & S_IWOTH) != 0) {
    out.push_back({"service registry", "warn", dir.string() + " is writable by everyone",
                   "chmod o-w: anyone could register a service"});
  } else {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    out.push_back({"service registry", "ok", dir.string() + ", mode " + mode, ""});
  }
}

void check_futex(std::vector<Check>& out) {
  std::atomic<uint32_t> word{1};
  auto* addr = reinterpret_cast<uint32_t*>(&word);
  // A wait on a value the word does not hold returns at once (EAGAIN); one
  // on the value it holds sleeps until its timeout.
  const long mismatch = ::syscall(SYS_futex, addr, FUTEX_WAIT, 0, nullptr, nullptr, 0);
  const int mismatch_err = errno;
  struct timespec ts {0, 1000000};
  const long timed = ::syscall(SYS_futex, addr, FUTEX_WAIT, 1, &ts, nullptr, 0);
  const int timed_err = errno;
  const long woken = ::syscall(SYS_futex, addr, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  if (mismatch == -1 && mismatch_err == EAGAIN && timed == -1 && timed_err == ETIMEDOUT && woken >= 0) {
    out.push_back({"futex", "ok", "wait, timeout and wake behave", ""});
  } else {
    out.push_back({"futex", "fail", "futex(2) does not behave (a sandbox or emulation?)",
                   "blocking waits cannot work: use spin/yield wait modes, or run on a real kernel"});
  }
}

void check_clocks(std::vector<Check>& out) {
  struct timespec res {}, a {}, b {}, wall {};
  ::clock_getres(CLOCK_MONOTONIC, &res);
  ::clock_gettime(CLOCK_MONOTONIC, &a);
  ::clock_gettime(CLOCK_MONOTONIC, &b);
  ::clock_gettime(CLOCK_REALTIME, &wall);
  const bool forward = b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec);
  const std::string found = "CLOCK_MONOTONIC resolution " + std::to_string(res.tv_nsec) + " ns";
  if (!forward) {
    out.push_back({"clocks", "fail", "CLOCK_MONOTONIC went backwards", "deadlines cannot be trusted on this host"});
  } else if (wall.tv_sec < 1577836800) {  // 2020-01-01
    out.push_back({"clocks", "warn", "the wall clock says before 2020",
                   "message ids and receipts carry wall-clock times: set the clock (NTP)"});
  } else if (res.tv_sec > 0 || res.tv_nsec > 1000) {
    out.push_back({"clocks", "warn", found, "coarse clock: short timeouts and latency figures will be rough"});
  } else {
    out.push_back({"clocks", "ok", found, ""});
  }
}

void check_leftovers(const Globals& g, std::vector<Check>& out) {
  const ops::Inventory inv = ops::take_inventory(g.inventory());
  size_t stale = 0, dead = 0;
  for (const auto& r : inv.rings) stale += r.stale() ? 1 : 0;
  for (const auto& s : inv.services) dead += s.alive ? 0 : 1;
  if (stale + dead == 0) {
    out.push_back({"leftovers", "ok", std::to_string(inv.rings.size()) + " rings, none stale", ""});
  } else {
    out.push_back({"leftovers", "warn", std::to_string(stale) + " stale rings, " + std::to_string(dead) + " dead service entries",
                   "see them with `ringdrop ls --stale`; remove them with `ringdrop gc`"});
  }
}

}  // namespace

void add_doctor(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("doctor", "Check this host for what ringdrop depends on, and say what to change");
  cmd->footer("Exit status 9 when a check fails (warnings alone: 0).\nExample: ringdrop doctor --channel /srv/drop/orders");
  cmd->callback([&g] {
    std::vector<Check> checks;
    check_shm(checks);
    check_inotify(checks);
    for (const auto& c : g.channels) check_channel(c, checks);
    check_registry(g, checks);
    check_futex(checks);
    check_clocks(checks);
    check_leftovers(g, checks);
    size_t failed = 0;
    ops::Json list = ops::Json::array();
    for (const auto& c : checks) {
      failed += c.status == "fail" ? 1 : 0;
      list.push_back({{"check", c.name}, {"status", c.status}, {"found", c.found}, {"advice", c.advice}});
    }
    if (g.json) {
      print_json({{"ok", failed == 0}, {"checks", list}});
    } else {
      for (const auto& c : checks) {
        std::printf("%-5s %-32s %s\n", c.status.c_str(), c.name.c_str(), c.found.c_str());
        if (!c.advice.empty()) std::printf("      -> %s\n", c.advice.c_str());
      }
    }
    std::fflush(stdout);
    if (failed > 0) fail(Exit::problems, std::to_string(failed) + " check(s) failed");
  });
}

}  // namespace ringdrop::cli

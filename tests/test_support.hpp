// test_support.hpp — what the tests share: unique segment names that clean
// up after themselves, child processes started with fork+exec, and counts
// scaled down under sanitizers (checks stay the same).
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "ringdrop/ringdrop.hpp"

namespace ringdrop::test {

/// Stress counts divided under sanitizers (which run 5-20x slower).
constexpr uint64_t scaled(uint64_t n) {
#if defined(RINGDROP_TSAN)
  return n / 20 > 0 ? n / 20 : 1;
#elif defined(RINGDROP_ASAN)
  return n / 10 > 0 ? n / 10 : 1;
#else
  return n;
#endif
}

/// Fast liveness checks so peer_gone tests finish promptly.
inline RingOptions quick_options(uint64_t capacity = 0) {
  RingOptions o;
  o.capacity = capacity;
  o.wait.liveness_interval = std::chrono::milliseconds(2);
  return o;
}

/// MPMC options with fast liveness checks (as quick_options).
inline MpmcOptions quick_mpmc(uint64_t capacity = 0, uint32_t cell_size = 0,
                              OnConsumerDeath policy = OnConsumerDeath::redeliver) {
  MpmcOptions o;
  static_cast<RingOptions&>(o) = quick_options(capacity);
  o.cell_size = cell_size;
  o.on_consumer_death = policy;
  return o;
}

/// A directory of its own under /tmp, removed with all it holds when it
/// goes out of scope.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/ringdrop-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path;
};

/// A shm name unique to this process and test, removed when it goes out of
/// scope (whatever happened to the test). A random part as well as the pid:
/// a test process killed earlier (by a timeout, or by hand) leaves its
/// segment behind, and pids are reused (pid_max is 32768 on small machines),
/// so pid and counter alone once named an existing segment and the create
/// failed with `exists`.
class ScopedName {
 public:
  ScopedName() {
    static int counter = 0;
    static const std::string nonce = [] {
      char hex[9];
      std::snprintf(hex, sizeof hex, "%08x", std::random_device{}());
      return std::string(hex);
    }();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = "ringdrop-test-" + std::to_string(::getpid()) + "-" + nonce + "-" +
            std::to_string(++counter) + "-" + (info ? info->name() : "x");
    // Unique by its prefix; the test's name is only a reader's aid, cut so
    // the name also serves as a service name (at most 100 characters).
    if (name_.size() > 90) name_.resize(90);
    for (char& c : name_) {
      if (c == '/') c = '_';
    }
  }
  ~ScopedName() { (void)Segment::remove(location()); }
  ScopedName(const ScopedName&) = delete;
  ScopedName& operator=(const ScopedName&) = delete;

  const std::string& name() const { return name_; }
  Location location() const { return Location::shm(name_); }

 private:
  std::string name_;
};

/// Waits at most `timeout` for child `pid` to exit, and reaps it: its exit
/// code, or 128+signal; nothing if it still runs (it is left running).
inline std::optional<int> wait_exit_for(pid_t pid, std::chrono::milliseconds timeout) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) throw std::runtime_error("pidfd_open");
  pollfd p{pidfd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  ::close(pidfd);
  if (ready <= 0) return std::nullopt;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// A child process running ringdrop-test-peer, killed (if still running)
/// and reaped when it goes out of scope.
class Peer {
 public:
  explicit Peer(std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    args.insert(args.begin(), RINGDROP_TEST_PEER);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
  }
  ~Peer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    if (out_) std::fclose(out_);
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  /// Blocks until the peer prints a line (its announcement); "" at EOF.
  std::string read_line() {
    char buf[256];
    if (std::fgets(buf, sizeof buf, out_) == nullptr) return "";
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }

  /// kill -9, and reap: afterwards the process is truly gone (not a zombie).
  void kill9() {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  /// kill -9 without reaping: the process stays a zombie until this Peer
  /// goes out of scope.
  void kill9_leave_zombie() { ::kill(pid_, SIGKILL); }

  /// Waits for the peer to exit; its exit code, or 128+signal.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  /// Waits at most `timeout` for the peer to exit: its exit code as wait()
  /// gives it, or nothing if it still runs (it is then left running). For a
  /// peer that must finish but might hang: the test fails instead of hanging.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    auto code = wait_exit_for(pid_, timeout);
    if (code) pid_ = -1;
    return code;
  }

  /// Sends `sig` (e.g. SIGTERM to a peer that waits for it to leave cleanly).
  void signal(int sig) { ::kill(pid_, sig); }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

}  // namespace ringdrop::test

// drop_support.hpp — what the drop-channel tests share: a temporary directory
// removed (recursively) at scope exit, fast options, bytes <-> text, directory
// listings, and a child process running ringdrop-drop-peer whose stdout lines
// can be read with a deadline (and from several children at once) and whose
// stdin takes lines (lock-step with the parent).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"
#include "ringdrop/error.hpp"
#include "test_support.hpp"

namespace ringdrop::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
/// when it goes out of scope, whatever happened to the test.
class ScopedDir {
 public:
  ScopedDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ringdrop-drop-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = pattern;
  }
  ~ScopedDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScopedDir(const ScopedDir&) = delete;
  ScopedDir& operator=(const ScopedDir&) = delete;

  const std::string& path() const { return path_; }
  /// `path()/name`.
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }
  /// Where a test puts its channel (created by DropChannel::open).
  std::string root() const { return path_ + "/channel"; }
  /// `root()/sub`, e.g. sub("new").
  std::string sub(std::string_view name) const { return root() + "/" + std::string(name); }

 private:
  std::string path_;
};

/// Options for tests: no fsync, quick scans and retries, short settling.
inline DropOptions fast_drop(Discovery discovery = Discovery::automatic) {
  using namespace std::chrono_literals;
  DropOptions o;
  o.durable = false;
  o.scan_interval = 20ms;
  o.retry_backoff = 1ms;
  o.retry_backoff_max = 10ms;
  o.ingest.settle_time = 50ms;
  o.discovery = discovery;
  return o;
}

inline std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> b(s.size());
  std::transform(s.begin(), s.end(), b.begin(), [](char c) { return static_cast<std::byte>(c); });
  return b;
}

inline std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// The names in `dir` (not "." and ".."), sorted; empty when it is missing.
inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// Whether `path` exists (a dangling symlink counts: lstat).
inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void spit(const std::string& path, std::string_view content, bool append = false) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

/// Changes channel `root`'s completion rule as an operator would: rewriting
/// state/ingest (the format of lib/src/drop/drop_ingest_rule.hpp). Openers
/// from then on follow it.
inline void set_ingest_rule(const std::string& root, const IngestOptions& o) {
  spit(root + "/state/ingest", std::string("completion ") +
                                   (o.completion == Completion::marker ? "marker" : "settle") + "\nsettle_ms " +
                                   std::to_string(o.settle_time.count()) + "\nmarker_suffix " + o.marker_suffix + "\n");
}

/// A claim's content as text (empty, with a test failure, when read fails).
inline std::string read_text(const DropClaim& c) {
  auto r = c.read();
  if (!r) {
    ADD_FAILURE() << "read: " << r.error().message();
    return {};
  }
  return text_of(*r);
}

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// "incoming ready claimed retrying failed done", for messages.
inline std::string describe(const DropCounts& c) {
  std::ostringstream s;
  s << "incoming " << c.incoming << " ready " << c.ready << " claimed " << c.claimed
    << " retrying " << c.retrying << " failed " << c.failed << " done " << c.done;
  return s.str();
}

/// A child process running ringdrop-drop-peer (tests/drop_peer_main.cpp),
/// its stdout and stdin connected to this process. Killed (if still running)
/// and reaped when it goes out of scope.
/// A child process running `program` (fork + exec) with pipes to its
/// stdin and stdout; killed and reaped when it goes out of scope.
class ExecPeer {
 public:
  ExecPeer(const char* program, std::vector<std::string> args) {
    ::signal(SIGPIPE, SIG_IGN);  // a peer that died must fail a test, not kill it
    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    args.insert(args.begin(), program);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copies
      ::dup2(in[0], STDIN_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    out_ = out[0];
    in_ = in[1];
  }
  ~ExecPeer() {
    if (pid_ > 0) kill9();
    if (out_ >= 0) ::close(out_);
    if (in_ >= 0) ::close(in_);
  }
  ExecPeer(const ExecPeer&) = delete;
  ExecPeer& operator=(const ExecPeer&) = delete;

  int out_fd() const { return out_; }
  pid_t pid() const { return pid_; }

  /// A complete line already received, without its '\n'.
  std::optional<std::string> take_line() {
    const auto nl = buf_.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    std::string line = buf_.substr(0, nl);
    buf_.erase(0, nl + 1);
    return line;
  }

  /// One read(2) of what the peer printed into the buffer; false at EOF.
  bool read_some() {
    char chunk[4096];
    ssize_t n;
    do {
      n = ::read(out_, chunk, sizeof chunk);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  /// The next line the peer prints; nothing at EOF or when `timeout` passes
  /// (a bound so a bug fails the test instead of hanging it).
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto line = take_line()) return line;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return std::nullopt;
      if (!read_some()) return take_line();
    }
  }

  /// Sends one line to the peer's stdin.
  void send_line(std::string_view line) {
    std::string s(line);
    s += '\n';
    if (::write(in_, s.data(), s.size()) != static_cast<ssize_t>(s.size())) {
      ADD_FAILURE() << "cannot write to the peer";
    }
  }

  void signal(int sig) { ::kill(pid_, sig); }

  /// kill -9 and reap.
  void kill9() {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  /// Waits at most `timeout` for the peer to exit: its exit code (128+signal
  /// when killed), or nothing if it still runs.
  std::optional<int> wait_for(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto code = wait_exit_for(pid_, timeout);
    if (code) pid_ = -1;
    return code;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, in_ = -1;
  std::string buf_;
};

/// ringdrop-drop-peer in a child process.
class DropPeer : public ExecPeer {
 public:
  explicit DropPeer(std::vector<std::string> args) : ExecPeer(RINGDROP_DROP_PEER, std::move(args)) {}
};

/// Runs `body` in a forked child (no exec) and returns its exit code, or
/// 128+signal. `body` returns the code; the child leaves with _exit, so
/// nothing of the test framework runs twice.
template <class F>
int in_child(F body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::alarm(60);  // a hang kills the child, and fails the test
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}


// --- opening and publishing, failing the test with the library's detail ---

inline DropChannel open_channel(const ScopedDir& dir, DropOptions options = fast_drop()) {
  auto ch = DropChannel::open(dir.root(), std::move(options));
  if (!ch) throw std::runtime_error("open " + dir.root() + ": " + ch.error().message() + " — " + last_error_detail());
  return std::move(*ch);
}

inline DropConsumer open_consumer(const DropChannel& ch) {
  auto rx = DropConsumer::open(ch);
  if (!rx) throw std::runtime_error("consumer: " + rx.error().message() + " — " + last_error_detail());
  return std::move(*rx);
}

inline std::string publish(DropChannel& ch, std::string_view text, const DropHeaders& headers = {}) {
  auto id = ch.publish(to_bytes(text), headers);
  if (!id) throw std::runtime_error("publish: " + id.error().message() + " — " + last_error_detail());
  return *id;
}

inline std::string header(const DropClaim& c, std::string_view key) {
  auto it = c.headers().find(key);
  return it == c.headers().end() ? "<missing>" : it->second;
}

// Nothing is ready now: a fresh scan finds nothing to claim.
inline void expect_nothing_ready(DropConsumer& rx, const std::string& why) {
  EXPECT_FALSE(rx.scan()) << why;
  auto c = rx.try_claim();
  EXPECT_FALSE(c) << why << ": delivered " << (c ? c->id() : "");
  if (!c) {
    EXPECT_EQ(c.error(), errc::would_block) << why;
  }
}

}  // namespace ringdrop::test

// The C++ side of the Fortran receiver: a broadcast publisher that sends
// blocks of samples to receiver.f90 and checks, bit for bit, every value the
// Fortran program reports.
//
//   ringdrop-fortran-sender <path of receiver> [blocks [too-large]]
//
// For each of the receiver's two ways of taking a message (`copy`:
// ringdrop_ring_receive; `view`: ringdrop_ring_read + _release):
// 1. Creates a broadcast ring with a fresh name, with more cells than
//    blocks, and publishes every block into it (the same blocks as
//    publisher.f90: sequence, count, last flag, doubles chosen to be
//    compared bit for bit; the last block a short one). With no subscriber
//    yet nothing waits, and the ring keeps them all.
// 2. Runs `receiver <name> copy|view` with its stdout on a pipe: the
//    receiver subscribes from the oldest block, takes them up to the one
//    flagged last, and prints each header and each double's 64 bits.
// 3. Compares every line with what was sent, and expects "end <blocks> 0"
//    and exit status 0.
// With `too-large`, block <blocks>/2 carries 100 samples (816 bytes: it
// fits the ring's cell, not the receiver's sample_block of 64): the
// receiver must report the blocks before it exactly, then stop at it with
// exit status 8, naming it and its size on stderr ("block <k> is 816
// bytes, more than the 528 of a sample_block") — not skip it, not report
// any block after it, not print an end line.
// Exit status 0 when both runs reported every block exactly; 1 otherwise.
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ringdrop/ringdrop.hpp"
#include "sample_block.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

using fortran::kHeader;
using fortran::kMaxSamples;
using fortran::SampleBlock;
using fortran::sample;

int count_of(int k, int blocks) { return k == blocks - 1 ? 10 : kMaxSamples; }

// The too-large block: more samples than a sample_block holds.
constexpr int kTooMany = 100;

int failures = 0;

void fail(const std::string& what) {
  std::fprintf(stderr, "fortran_sender: FAIL: %s\n", what.c_str());
  ++failures;
}

std::string fresh_name() {
  std::random_device rd;
  char b[64];
  std::snprintf(b, sizeof b, "rd-fortran-rx-%d-%08x", static_cast<int>(::getpid()), rd());
  return b;
}

// Runs `program name mode`, returns its stdout lines; *status its wait status.
// With `err`, its stderr goes to an unlinked temporary file, read into *err
// once it has ended (and echoed, for the test log); else it is ours.
std::vector<std::string> run(const std::string& program, const std::string& name, const std::string& mode,
                             int* status, std::string* err = nullptr) {
  std::vector<std::string> lines;
  *status = -1;
  int err_fd = -1;
  if (err) {
    std::string path = (std::filesystem::temp_directory_path() / "ringdrop-fortran-rx-err-XXXXXX").string();
    err_fd = ::mkstemp(path.data());
    if (err_fd < 0) {
      fail("mkstemp: " + std::string(std::strerror(errno)));
      return lines;
    }
    ::unlink(path.c_str());
  }
  int fds[2];
  if (::pipe(fds) != 0) {
    fail("pipe: " + std::string(std::strerror(errno)));
    if (err_fd >= 0) ::close(err_fd);
    return lines;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  if (err_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, err_fd);
  }
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<char*> argv{const_cast<char*>(program.c_str()), const_cast<char*>(name.c_str()),
                          const_cast<char*>(mode.c_str()), nullptr};
  std::fflush(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    fail("cannot start " + program + ": " + std::strerror(rc));
    ::close(fds[0]);
    if (err_fd >= 0) ::close(err_fd);
    return lines;
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EOF: the receiver ended
    }
  }
  ::close(fds[0]);
  while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
  if (err_fd >= 0) {
    // The receiver has ended: its stderr is complete.
    err->clear();
    for (off_t at = 0;;) {
      const ssize_t n = ::pread(err_fd, buf, sizeof buf, at);
      if (n > 0) {
        err->append(buf, static_cast<std::size_t>(n));
        at += n;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;
      }
    }
    ::close(err_fd);
    std::fprintf(stderr, "%s", err->c_str());
  }
  for (std::size_t at = 0; at < out.size();) {
    auto nl = out.find('\n', at);
    if (nl == std::string::npos) nl = out.size();
    lines.push_back(out.substr(at, nl - at));
    at = nl + 1;
  }
  return lines;
}

// One run: publish `blocks` blocks, run the receiver in `mode`, check. With
// `too_large`, block blocks/2 has kTooMany samples, and the receiver must
// stop there.
void exchange(const std::string& program, int blocks, const std::string& mode, bool too_large) {
  using namespace ringdrop;
  const int before = failures;
  const int big = too_large ? blocks / 2 : -1;  // the oversized block, if any
  const std::string name = fresh_name();
  const auto where = Location::shm(name);
  BroadcastOptions options;
  options.cell_size = 1024;  // 1008 payload bytes: a full block is 528
  // More cells than blocks (at least 16): every block is kept until read.
  options.capacity = 1024 * std::max<std::size_t>(16, std::bit_ceil(static_cast<std::size_t>(blocks) + 1));
  options.policy = SlowSubscriber::block;
  auto opened = BroadcastPublisher::open(where, OpenMode::create, options);
  if (!opened) {
    fail("opening " + name + ": " + opened.error().message());
    return;
  }
  auto pub = std::move(opened.value());
  for (int k = 0; k < blocks; ++k) {
    if (k == big) {
      // The header and kTooMany samples, laid out as a sample_block would
      // be if it had room: 816 bytes, within the cell's 1008.
      SampleBlock h{};
      h.sequence = k;
      h.count = kTooMany;
      h.last = k == blocks - 1 ? 1 : 0;
      std::vector<std::byte> message(kHeader + 8 * static_cast<std::size_t>(kTooMany));
      std::memcpy(message.data(), &h, kHeader);
      for (int i = 1; i <= kTooMany; ++i) {
        const double v = sample(k, i);
        std::memcpy(message.data() + kHeader + 8 * static_cast<std::size_t>(i - 1), &v, sizeof v);
      }
      if (auto ec = pub.send(message, 5s)) fail("send block " + std::to_string(k) + ": " + ec.message());
      continue;
    }
    SampleBlock b{};
    b.sequence = k;
    b.count = count_of(k, blocks);
    b.last = k == blocks - 1 ? 1 : 0;
    for (int i = 1; i <= b.count; ++i) b.samples[i - 1] = sample(k, i);
    const std::span<const std::byte> whole(reinterpret_cast<const std::byte*>(&b), sizeof b);
    // Only the used part, as publisher.f90 sends it.
    if (auto ec = pub.send(whole.first(kHeader + 8 * static_cast<std::size_t>(b.count)), 5s)) {
      fail("send block " + std::to_string(k) + ": " + ec.message());
    }
  }
  std::printf("fortran_sender: ring %s, %d blocks published%s, running %s %s\n", name.c_str(), blocks,
              too_large ? (", block " + std::to_string(big) + " too large").c_str() : "", program.c_str(),
              mode.c_str());
  // The publisher stays attached while the receiver runs: the last flag,
  // not peer_gone, is its end of data.
  int status = 0;
  std::string err;
  const auto lines = run(program, name, mode, &status, too_large ? &err : nullptr);
  const int want_status = too_large ? 8 : 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != want_status) {
    fail("receiver " + mode + ": did not exit with status " + std::to_string(want_status));
  }

  std::size_t at = 0;
  auto expect = [&](const std::string& want, const std::string& what) {
    if (at >= lines.size()) {
      fail(mode + ": " + what + ": no line, expected '" + want + "'");
    } else if (lines[at] != want) {
      fail(mode + ": " + what + ": got '" + lines[at] + "', expected '" + want + "'");
    }
    ++at;
  };
  // Every block before the oversized one (all of them without one).
  for (int k = 0; k < (too_large ? big : blocks); ++k) {
    const int count = count_of(k, blocks);
    const std::string where_k = "block " + std::to_string(k);
    expect("block " + std::to_string(k) + " " + std::to_string(count) + " " + (k == blocks - 1 ? "1" : "0"),
           where_k + " header");
    for (int i = 1; i <= count; ++i) {
      char want[64];
      std::snprintf(want, sizeof want, "sample %d %016" PRIX64, i, std::bit_cast<std::uint64_t>(sample(k, i)));
      expect(want, where_k + " sample " + std::to_string(i));
    }
  }
  if (too_large) {
    // Stopped at the oversized block: nothing of it or after it on stdout,
    // no end line; on stderr, which block and why.
    char want[128];
    std::snprintf(want, sizeof want, "receiver: block %d is %zu bytes, more than the %zu of a sample_block", big,
                  kHeader + 8 * static_cast<std::size_t>(kTooMany), sizeof(SampleBlock));
    if (err.find(want) == std::string::npos) fail(mode + ": stderr does not say '" + want + "'");
  } else {
    expect("end " + std::to_string(blocks) + " 0", "end line (blocks received, missed)");
  }
  if (lines.size() != at) fail(mode + ": " + std::to_string(lines.size()) + " lines, expected " + std::to_string(at));
  if (auto ec = Segment::remove(where)) fail("removing " + name + ": " + ec.message());
  std::printf("fortran_sender: %s: %zu lines, %s\n", mode.c_str(), lines.size(),
              failures != before ? "MISMATCH"
              : too_large        ? "every block up to the oversized one as sent, then refused with its size"
                                 : "every block and sample as sent");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4 || (argc == 4 && std::strcmp(argv[3], "too-large") != 0)) {
    std::fprintf(stderr, "usage: %s <receiver> [blocks [too-large]]\n", argv[0]);
    return 2;
  }
  const int blocks = argc >= 3 ? std::atoi(argv[2]) : 20;
  if (blocks < 1 || blocks > 1000) {
    std::fprintf(stderr, "fortran_sender: blocks must be 1-1000\n");
    return 2;
  }
  const bool too_large = argc == 4;
  exchange(argv[1], blocks, "copy", too_large);
  exchange(argv[1], blocks, "view", too_large);
  return failures == 0 ? 0 : 1;
}

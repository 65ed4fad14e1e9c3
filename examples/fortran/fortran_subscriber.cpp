// The C++ side of the Fortran example: a broadcast subscriber that runs the
// Fortran publisher and checks every sample it published, bit for bit.
//
//   ringdrop-fortran-subscriber <path of publisher> [blocks]
//
// 1. Creates a broadcast ring with a fresh name and attaches to it as a
//    subscriber — before anything is published: a broadcast subscriber sees
//    only what is published after it joined (StartAt::oldest as well, for
//    the record). The ring is smaller than the stream (16 cells for 20
//    blocks) with the block policy, so the publisher has to wait for us:
//    the back-pressure path is exercised too.
// 2. Starts `publisher <name> <blocks>`.
// 3. Receives blocks until peer_gone (the publisher closed the ring), and
//    compares each with what publisher.f90 computes: sequence, count, the
//    last flag, and each double's bit pattern (NaN: any NaN).
// Exit status 0 when every block arrived exactly, in order; 1 otherwise.
// No sleeps: blocking receives with timeouts, and the publisher's exit
// status checked between them.
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
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

int failures = 0;

void fail(const std::string& what) {
  std::fprintf(stderr, "fortran_subscriber: FAIL: %s\n", what.c_str());
  ++failures;
}

std::string hex(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%016llx (%.17g)",
                static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(v)), v);
  return b;
}

// Checks message `n` (0-based) of a stream of `blocks`.
void check_block(const std::vector<std::byte>& message, int n, int blocks) {
  const std::string where = "block " + std::to_string(n);
  if (message.size() < kHeader) {
    fail(where + ": " + std::to_string(message.size()) + " bytes, shorter than the header");
    return;
  }
  SampleBlock b{};
  std::memcpy(&b, message.data(), std::min(message.size(), sizeof b));
  const bool last = n == blocks - 1;
  const int count = last ? 10 : kMaxSamples;
  if (b.sequence != n) fail(where + ": sequence " + std::to_string(b.sequence));
  if (b.count != count) fail(where + ": count " + std::to_string(b.count) + ", expected " + std::to_string(count));
  if (b.last != (last ? 1 : 0)) fail(where + ": last flag " + std::to_string(b.last));
  const std::size_t want_size = kHeader + 8 * static_cast<std::size_t>(count);
  if (message.size() != want_size) {
    fail(where + ": " + std::to_string(message.size()) + " bytes, expected " + std::to_string(want_size));
    return;
  }
  for (int i = 1; i <= count; ++i) {
    const double got = b.samples[i - 1], want = sample(n, i);
    const bool same = std::isnan(want) ? std::isnan(got)
                                       : std::bit_cast<std::uint64_t>(got) == std::bit_cast<std::uint64_t>(want);
    if (!same) fail(where + " sample " + std::to_string(i) + ": got " + hex(got) + ", expected " + hex(want));
  }
}

std::string fresh_name() {
  std::random_device rd;
  char b[64];
  std::snprintf(b, sizeof b, "rd-fortran-%d-%08x", static_cast<int>(::getpid()), rd());
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringdrop;
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s <publisher> [blocks]\n", argv[0]);
    return 2;
  }
  const std::string program = argv[1];
  const int blocks = argc == 3 ? std::atoi(argv[2]) : 20;
  if (blocks < 1) {
    std::fprintf(stderr, "fortran_subscriber: blocks must be positive\n");
    return 2;
  }

  const std::string name = fresh_name();
  const auto where = Location::shm(name);
  BroadcastOptions options;
  options.capacity = 16 * 1024;   // 16 cells...
  options.cell_size = 1024;       // ...of 1008 payload bytes: a full block is 528
  options.policy = SlowSubscriber::block;
  options.wait.liveness_interval = 10ms;  // the publisher's exit is seen soon
  auto opened = BroadcastSubscriber::open(where, OpenMode::create, options, StartAt::oldest);
  if (!opened) {
    std::fprintf(stderr, "fortran_subscriber: opening %s: %s\n", name.c_str(), opened.error().message().c_str());
    return 1;
  }
  auto sub = std::move(opened.value());
  std::printf("fortran_subscriber: ring %s, starting %s\n", name.c_str(), program.c_str());
  std::fflush(stdout);

  const std::string count = std::to_string(blocks);
  std::vector<char*> args{const_cast<char*>(program.c_str()), const_cast<char*>(name.c_str()),
                          const_cast<char*>(count.c_str()), nullptr};
  pid_t pid = -1;
  if (const int rc = ::posix_spawn(&pid, program.c_str(), nullptr, nullptr, args.data(), environ)) {
    std::fprintf(stderr, "fortran_subscriber: cannot start %s: %s\n", program.c_str(), std::strerror(rc));
    (void)Segment::remove(where);
    return 1;
  }

  int received = 0, status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;  // a bound, never a measure
  for (;;) {
    auto msg = sub.receive(250ms);
    if (msg) {
      if (received < blocks) check_block(msg.value(), received, blocks);
      ++received;
      continue;
    }
    if (msg.error() == errc::peer_gone) break;  // the publisher left after its last block
    if (msg.error() != errc::timed_out) {
      fail("receive: " + msg.error().message());
      break;
    }
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail("the publisher failed before the end of its data");
        break;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      fail("no end of data within 60 s");
      break;
    }
  }
  if (!exited && ::waitpid(pid, &status, 0) == pid) exited = true;
  if (!exited || !WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("publisher: did not exit with status 0");
  if (received != blocks) fail(std::to_string(received) + " blocks received, expected " + count);
  if (sub.last_missed() != 0) fail(std::to_string(sub.last_missed()) + " blocks missed");
  if (auto ec = Segment::remove(where)) fail("removing " + name + ": " + ec.message());
  std::printf("fortran_subscriber: %d blocks received; %s\n", received,
              failures == 0 ? "every sample as expected" : "MISMATCH");
  return failures == 0 ? 0 : 1;
}

// ringdrop-demo — two processes exchange messages over SPSC rings.
//
// The parent creates two rings (requests and replies), starts a second copy
// of this program as the "service", and then:
//   1. sends a few text messages; the service prints them and answers each;
//   2. streams a million small messages with zero-copy reserve/commit; the
//      service reads them in place, checksums them and reports back;
//   3. prints what was sent, what came back and how fast.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kStreamCount = 1'000'000;
constexpr size_t kStreamSize = 64;

[[noreturn]] void die(const char* what, std::error_code ec) {
  std::fprintf(stderr, "demo: %s: %s %s\n", what, ec.message().c_str(), last_error_detail().c_str());
  std::exit(1);
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) die(what, r.error());
  return std::move(r).value();
}

std::string text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

uint64_t fnv1a(std::span<const std::byte> b, uint64_t h = 0xcbf29ce484222325ull) {
  for (std::byte c : b) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return h;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------- service

int service(const std::string& requests, const std::string& replies) {
  auto rx = must(SpscConsumer::open(Location::shm(requests), OpenMode::open), "open requests");
  auto tx = must(SpscProducer::open(Location::shm(replies), OpenMode::open), "open replies");
  for (;;) {  // 1. text messages, answered one by one, until "stream"
    const std::string msg = text(must(rx.receive(10s), "receive"));
    if (msg == "stream") break;
    std::printf("  service (pid %d) got: \"%s\"\n", getpid(), msg.c_str());
    const std::string answer = "ack: " + msg;
    if (auto ec = tx.send(bytes_of(answer), 10s)) die("reply", ec);
  }
  uint64_t sum = 0xcbf29ce484222325ull;  // 2. the stream, read in place
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < kStreamCount; ++i) {
    sum = fnv1a(must(rx.read(10s), "read"), sum);
    if (i % 64 == 63) rx.release();  // batch release
  }
  rx.release();
  const double secs = seconds_since(t0);
  const std::string report = std::to_string(kStreamCount) + " messages, checksum " +
                             std::to_string(sum) + ", " +
                             std::to_string(static_cast<uint64_t>(kStreamCount / secs)) + " msg/s";
  if (auto ec = tx.send(bytes_of(report), 10s)) die("report", ec);
  return 0;
}

// ---------------------------------------------------------------- client

int client(const char* self) {
  const std::string base = "ringdrop-demo-" + std::to_string(getpid());
  const std::string requests = base + "-requests", replies = base + "-replies";
  auto tx = must(SpscProducer::open(Location::shm(requests), OpenMode::create), "create requests");
  auto rx = must(SpscConsumer::open(Location::shm(replies), OpenMode::create), "create replies");
  const pid_t child = fork();
  if (child == 0) {
    execl(self, self, "--service", requests.c_str(), replies.c_str(), nullptr);
    _exit(127);
  }
  std::printf("ringdrop %s demo: client pid %d, service pid %d, rings shm:%s and shm:%s\n\n",
              RINGDROP_VERSION_STRING, getpid(), child, requests.c_str(), replies.c_str());

  std::printf("1. request/reply over two rings\n");
  for (const char* m : {"hello", "order 1001: 3 x widget", "order 1002: 1 x gadget"}) {
    const auto t0 = Clock::now();
    if (auto ec = tx.send(bytes_of(m), 10s)) die("send", ec);
    const std::string reply = text(must(rx.receive(10s), "receive reply"));
    std::printf("  client sent \"%s\", got \"%s\" in %.1f us\n", m, reply.c_str(),
                seconds_since(t0) * 1e6);
  }

  std::printf("\n2. stream of %llu x %zu-byte messages, zero-copy\n",
              static_cast<unsigned long long>(kStreamCount), kStreamSize);
  if (auto ec = tx.send(bytes_of("stream"), 10s)) die("send", ec);
  uint64_t sum = 0xcbf29ce484222325ull;
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < kStreamCount; ++i) {
    auto span = must(tx.reserve(kStreamSize, 10s), "reserve");
    for (size_t b = 0; b < kStreamSize; ++b) span[b] = std::byte(static_cast<uint8_t>(i + b));
    sum = fnv1a(span, sum);
    if (auto ec = (i % 32 == 31) ? tx.commit(kStreamSize) : tx.stage(kStreamSize)) die("commit", ec);
  }
  tx.publish();
  const double secs = seconds_since(t0);
  const std::string report = text(must(rx.receive(30s), "receive report"));
  std::printf("  client sent %llu messages in %.3f s (%.1f M msg/s, %.0f MB/s), checksum %llu\n",
              static_cast<unsigned long long>(kStreamCount), secs, kStreamCount / secs / 1e6,
              kStreamCount * kStreamSize / secs / 1e6, static_cast<unsigned long long>(sum));
  std::printf("  service received %s\n", report.c_str());
  const bool match = report.find(" checksum " + std::to_string(sum) + ",") != std::string::npos;
  std::printf("  checksums %s\n", match ? "match" : "DIFFER");

  int status = 0;
  waitpid(child, &status, 0);
  (void)Segment::remove(Location::shm(requests));
  (void)Segment::remove(Location::shm(replies));
  return match && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the two processes share the terminal
  if (argc == 4 && std::strcmp(argv[1], "--service") == 0) return service(argv[2], argv[3]);
  return client("/proc/self/exe");
}

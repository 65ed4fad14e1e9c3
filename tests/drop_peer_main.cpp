// ringdrop-drop-peer — the other process in drop-channel cross-process tests.
//
//   produce ROOT --producer P --count N
//        publish N messages, payload "P SEQ " followed by (SEQ % 61) 'x'
//        bytes, header producer: P; print "DONE" after the last
//   consume ROOT [--archive] [--polling] [--lease-ms L]
//        print "READY", then claim each message, check its payload and its
//        producer header, ack it, and print "GOT P SEQ" (after the ack); run
//        until SIGTERM, then exit 0
//   hold ROOT [--lease-ms L]
//        claim one message (waiting up to 30 s), print "CLAIMED ID ATTEMPT"
//        and wait to be killed
//   slow-write PATH --pieces K [--marker-suffix S]
//        for i in 0..K-1: append piece i (1000 bytes of the letter 'a'+i%26)
//        to PATH, print "WROTE i" and wait for a line on stdin; then close
//        PATH, create PATH+S (default ".done") and print "MARKED"
//
// Channels are opened with durable off and quick scans (20 ms) and retries.
// Exit 0 on success; on a failure, one line on stderr and exit 1.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"
#include "ringdrop/error.hpp"

using namespace ringdrop;
using namespace std::chrono;

namespace {

volatile sig_atomic_t g_stop = 0;

void on_term(int) { g_stop = 1; }

struct Args {
  std::string mode, root, marker_suffix = ".done";
  uint64_t producer = 0, count = 0, pieces = 0;
  long lease_ms = -1;
  bool archive = false, polling = false;
};

[[noreturn]] void die(const std::string& what, std::error_code ec = {}) {
  std::fprintf(stderr, "drop-peer: %s%s%s%s%s\n", what.c_str(), ec ? ": " : "",
               ec ? ec.message().c_str() : "", ec && !last_error_detail().empty() ? " — " : "",
               ec ? last_error_detail().c_str() : "");
  std::exit(1);
}

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 3) die("usage: see the comment at the top of drop_peer_main.cpp");
  a.mode = argv[1];
  a.root = argv[2];
  for (int i = 3; i < argc; ++i) {
    const std::string flag = argv[i];
    auto num = [&] {
      return i + 1 < argc ? std::strtoull(argv[++i], nullptr, 10) : (die(flag + " needs a value"), 0ull);
    };
    if (flag == "--producer") a.producer = num();
    else if (flag == "--count") a.count = num();
    else if (flag == "--pieces") a.pieces = num();
    else if (flag == "--lease-ms") a.lease_ms = static_cast<long>(num());
    else if (flag == "--marker-suffix" && i + 1 < argc) a.marker_suffix = argv[++i];
    else if (flag == "--archive") a.archive = true;
    else if (flag == "--polling") a.polling = true;
    else die("unknown flag " + flag);
  }
  return a;
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

DropOptions options(const Args& a) {
  DropOptions o;
  o.create = false;
  o.durable = false;
  o.scan_interval = milliseconds(20);
  o.retry_backoff = milliseconds(1);
  o.retry_backoff_max = milliseconds(10);
  o.archive = a.archive;
  if (a.polling) o.discovery = Discovery::polling;
  if (a.lease_ms >= 0) o.lease = milliseconds(a.lease_ms);
  return o;
}

DropChannel open_channel(const Args& a) {
  auto ch = DropChannel::open(a.root, options(a));
  if (!ch) die("open " + a.root, ch.error());
  return std::move(*ch);
}

DropConsumer open_consumer(const DropChannel& ch) {
  auto rx = DropConsumer::open(ch);
  if (!rx) die("open consumer", rx.error());
  return std::move(*rx);
}

std::string payload(uint64_t producer, uint64_t seq) {
  return std::to_string(producer) + " " + std::to_string(seq) + " " + std::string(seq % 61, 'x');
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

int produce(const Args& a) {
  auto ch = open_channel(a);
  const DropHeaders headers{{"producer", std::to_string(a.producer)}};
  for (uint64_t seq = 0; seq < a.count; ++seq) {
    auto id = ch.publish(as_bytes(payload(a.producer, seq)), headers);
    if (!id) die("publish #" + std::to_string(seq), id.error());
  }
  say("DONE");
  return 0;
}

int consume(const Args& a) {
  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a wait ends early
  sigaction(SIGTERM, &sa, nullptr);
  auto ch = open_channel(a);
  auto rx = open_consumer(ch);
  say("READY");
  while (!g_stop) {
    auto c = rx.claim(milliseconds(100));
    if (!c) {
      if (c.error() == errc::timed_out || g_stop) continue;
      die("claim", c.error());
    }
    auto bytes = c->read();
    if (!bytes) die("read " + c->id(), bytes.error());
    const std::string text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    uint64_t producer = 0, seq = 0;
    if (std::sscanf(text.c_str(), "%" SCNu64 " %" SCNu64, &producer, &seq) != 2 || text != payload(producer, seq)) {
      die("message " + c->id() + " is wrong: '" + text + "'");
    }
    auto it = c->headers().find("producer");
    if (it == c->headers().end() || it->second != std::to_string(producer)) {
      die("message " + c->id() + " has the wrong producer header");
    }
    if (auto ec = c->ack()) die("ack " + c->id(), ec);
    say("GOT " + std::to_string(producer) + " " + std::to_string(seq));
  }
  return 0;
}

int hold(const Args& a) {
  auto ch = open_channel(a);
  auto rx = open_consumer(ch);
  auto c = rx.claim(seconds(30));
  if (!c) die("claim", c.error());
  say("CLAIMED " + c->id() + " " + std::to_string(c->attempt()));
  for (;;) pause();
}

int slow_write(const Args& a) {
  const int fd = ::open(a.root.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + a.root + ": " + std::strerror(errno));
  for (uint64_t i = 0; i < a.pieces; ++i) {
    const std::string piece(1000, static_cast<char>('a' + i % 26));
    if (::write(fd, piece.data(), piece.size()) != static_cast<ssize_t>(piece.size())) die("write");
    say("WROTE " + std::to_string(i));
    std::string line;
    if (!std::getline(std::cin, line)) die("stdin closed");
  }
  if (::close(fd) != 0) die("close");
  const std::string marker = a.root + a.marker_suffix;
  const int m = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (m < 0 || ::close(m) != 0) die("marker " + marker);
  say("MARKED");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.mode == "produce") return produce(a);
  if (a.mode == "consume") return consume(a);
  if (a.mode == "hold") return hold(a);
  if (a.mode == "slow-write") return slow_write(a);
  die("unknown mode " + a.mode);
}

// drop_bench.cpp — the file-drop channel (drop_channel.hpp), cross-process:
// the parent publishes, a fork()ed child consumes with its own DropChannel
// and DropConsumer. Every row runs in a fresh directory under $TMPDIR (or
// /tmp), removed afterwards with everything in it.
//
//   latency     64 B messages, one at a time: the parent publishes one, the
//               child claims it (claim with a timeout), reads it, acks it and
//               bumps a futex word in shared memory; a sample is publish
//               start to the parent seeing that bump. With polling the
//               parent first sleeps a random part of the scan interval, so
//               messages arrive at random points of the child's scan cycle
//               (back to back, they would all land at the same point).
//   throughput  64 B messages: the parent publishes N as fast as it can while
//               the child claims, reads and acks them; the clock runs from
//               the first publish until the child has acked the last. A
//               warm-up of N/10 messages, fully acked, comes first.
//   large       One large file at a time, by reference: the parent either
//               moves an already-written file in with publish_file() (the
//               writing is not timed) or writes the bytes from memory with a
//               DropWriter and commits; the child claims it, map()s it, sums
//               every byte and acks. The clock runs from publish_file() (or
//               begin_publish()) until the parent sees the child's ack.
//   socket      The baseline for large: the same bytes from memory through a
//               Unix stream socket (socketpair); the child read()s them into
//               a buffer (allocated and touched once, before timing), then
//               sums every byte.
// The child checks every message (the sequence number in a small one, the
// byte sum of a large one) and that nothing is delivered twice.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "benches.hpp"
#include "ringdrop/drop_consumer.hpp"

namespace pingpong {

namespace {

using ringdrop::DropChannel;
using ringdrop::DropClaim;
using ringdrop::DropConsumer;
using ringdrop::DropOptions;

constexpr uint64_t kSmallSize = 64;
constexpr uint64_t kLatencyIters = 2'000;
constexpr uint64_t kThroughputMessages = 10'000;
constexpr uint64_t kLargeTransfers = 5;  // 3 with --quick, after one warm-up

/// What the parent and the child share.
struct Control {
  Tally ready;  // the child's consumer is open
  Tally acked;  // messages the child has acked (or large transfers summed)
  alignas(128) std::atomic<uint64_t> checksum{0};  // byte sum of the last large message
  std::atomic<uint64_t> out_of_order{0};           // claimed after a later-published one
};

// ================================================================ directories

std::string scratch_base() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

const char* fs_name(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0) return "unknown file system";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:
      return "ext4";
    case TMPFS_MAGIC:
      return "tmpfs: no disk at all";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    case NFS_SUPER_MAGIC:
      return "nfs";
    default:
      return "other file system";
  }
}

/// A fresh directory for one row; removed, with everything in it, by the
/// destructor (the child never runs it: it ends with _exit).
class ScratchDir {
 public:
  ScratchDir() {
    std::string name = scratch_base() + "/ringdrop-pingpong-XXXXXX";
    if (::mkdtemp(name.data()) == nullptr) throw_errno("mkdtemp");
    path_ = name;
    if (::mkdir(channel().c_str(), 0700) != 0) {
      const int error = errno;
      ::rmdir(path_.c_str());
      errno = error;
      throw_errno("mkdir");
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  std::string channel() const { return path_ + "/channel"; }
  /// A file beside the channel, on the same file system.
  std::string file(uint64_t n) const { return path_ + "/file-" + std::to_string(n); }

 private:
  std::string path_;
};

// ================================================================ the consumer side

DropOptions drop_options(const DropSetup& setup) {
  DropOptions options;
  options.durable = setup.durable;
  options.discovery = setup.discovery;
  options.scan_interval = setup.scan_interval;
  return options;
}

/// The child's own channel handle and consumer.
struct Receiver {
  Receiver(const std::string& root, const DropSetup& setup)
      : channel(take(DropChannel::open(root, drop_options(setup)), "drop: open (child)")),
        consumer(take(DropConsumer::open(channel), "drop: open consumer")) {
    const bool inotify = setup.discovery == ringdrop::Discovery::inotify;
    if (consumer.uses_inotify() != inotify) {
      throw BenchError(inotify ? "drop: consumer does not use inotify"
                               : "drop: polling consumer uses inotify");
    }
  }
  DropChannel channel;
  DropConsumer consumer;
};

DropClaim claim_first_delivery(DropConsumer& consumer) {
  DropClaim claim = take(consumer.claim(kTimeout), "drop: claim");
  if (claim.attempt() != 1) throw BenchError("drop: a message was delivered again");
  return claim;
}

/// The sequence number in the first 8 bytes of a small message.
uint64_t read_seq(const DropClaim& claim) {
  const std::vector<std::byte> bytes = take(claim.read(), "drop: read");
  if (bytes.size() != kSmallSize) throw BenchError("drop: message of the wrong size");
  uint64_t seq = 0;
  std::memcpy(&seq, bytes.data(), sizeof seq);
  return seq;
}

/// Child side of the small-message rows: claims, reads and acks `count`
/// messages. `in_order`: one message at a time, so each must be the next.
void consume_small(const std::string& root, const DropSetup& setup, Control& control,
                   uint64_t count, bool in_order) {
  Receiver rx(root, setup);
  arrive(control.ready);
  std::vector<bool> seen(count);
  uint64_t latest = 0;
  for (uint64_t i = 0; i < count; ++i) {
    DropClaim claim = claim_first_delivery(rx.consumer);
    const uint64_t seq = read_seq(claim);
    if (seq >= count || seen[seq]) throw BenchError("drop: unknown or duplicate message");
    if (in_order && seq != i) throw BenchError("drop: message out of order");
    if (seq < latest) control.out_of_order.fetch_add(1, std::memory_order_relaxed);
    seen[seq] = true;
    latest = std::max(latest, seq);
    check(claim.ack(), "drop: ack");
    arrive(control.acked);
  }
}

/// The sum of every byte, in blocks of 256 summed in 16 bits (256 * 255 fits):
/// a loop the compiler vectorises, several times faster than summing into 64
/// bits byte by byte, so the consumer's own work weighs little in MB/s.
uint64_t sum_bytes(std::span<const std::byte> bytes) {
  constexpr size_t kBlock = 256;
  uint64_t sum = 0;
  for (size_t at = 0; at < bytes.size(); at += kBlock) {
    uint16_t part = 0;
    for (const std::byte b : bytes.subspan(at, std::min(kBlock, bytes.size() - at))) {
      part = static_cast<uint16_t>(part + std::to_integer<uint16_t>(b));
    }
    sum += part;
  }
  return sum;
}

/// Child side of the large rows: claims, maps and sums `count` files of `size` bytes.
void consume_large(const std::string& root, const DropSetup& setup, Control& control,
                   uint64_t count, uint64_t size) {
  Receiver rx(root, setup);
  arrive(control.ready);
  for (uint64_t i = 0; i < count; ++i) {
    DropClaim claim = claim_first_delivery(rx.consumer);
    if (claim.size() != size) throw BenchError("drop: large file of the wrong size");
    {
      const ringdrop::MappedFile mapped = take(claim.map(), "drop: map");
      control.checksum.store(sum_bytes(mapped.bytes()), std::memory_order_relaxed);
    }
    check(claim.ack(), "drop: ack");
    arrive(control.acked);
  }
}

// ================================================================ the producer side

void await_acks(Control& control, uint64_t n, Child& child, const char* what) {
  await(control.acked, static_cast<uint32_t>(n), what, [&] { child.throw_if_exited(); });
}

void publish_seq(DropChannel& channel, std::vector<std::byte>& payload, uint64_t seq) {
  std::memcpy(payload.data(), &seq, sizeof seq);
  (void)take(channel.publish(payload), "drop: publish");
}

/// Sleeps a random part of the scan interval when polling (nothing with inotify).
class Stagger {
 public:
  explicit Stagger(const DropSetup& setup)
      : polling_(setup.discovery != ringdrop::Discovery::inotify),
        interval_us_(setup.scan_interval.count() * 1000) {}
  void sleep() {
    if (!polling_ || interval_us_ <= 0) return;
    std::uniform_int_distribution<int64_t> part(0, interval_us_ - 1);
    std::this_thread::sleep_for(std::chrono::microseconds(part(rng_)));
  }

 private:
  bool polling_;
  int64_t interval_us_;
  std::mt19937_64 rng_{42};
};

/// A payload whose byte sum is known: bytes 0..250 over and over.
std::vector<std::byte> large_payload(uint64_t size) {
  std::vector<std::byte> payload(size);
  for (uint64_t i = 0; i < size; ++i) payload[i] = static_cast<std::byte>(i % 251);
  return payload;
}

void write_file(const std::string& path, std::span<const std::byte> bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("open scratch file");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw_errno("write scratch file");
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw_errno("close scratch file");
}

/// The by-reference large row's options: inotify, and not durable (neither
/// is the socket it is compared with).
DropSetup large_setup() { return drop_notify(); }

/// Publishes one large message the way `how` says; the timed part.
void publish_large(DropChannel& channel, LargePublish how, const std::string& prepared,
                   std::span<const std::byte> payload) {
  if (how == LargePublish::move) {
    (void)take(channel.publish_file(prepared), "drop: publish_file");
    return;
  }
  ringdrop::DropWriter writer = take(channel.begin_publish(), "drop: begin_publish");
  check(writer.write(payload), "drop: write");
  (void)take(writer.commit(), "drop: commit");
}

uint64_t large_transfers(const Context& ctx) { return ctx.divisor > 1 ? 3 : kLargeTransfers; }

// ================================================================ the socket baseline

/// A connected pair of Unix stream sockets; every send or receive gives up
/// after kTimeout.
class SocketPair {
 public:
  SocketPair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) != 0) throw_errno("socketpair");
    const timeval limit{static_cast<time_t>(kTimeout / 1s), 0};
    for (const int fd : fds_) {
      if (::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) != 0 ||
          ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) != 0) {
        throw_errno("setsockopt");
      }
    }
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  ~SocketPair() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int parent() const noexcept { return fds_[0]; }
  int child() const noexcept { return fds_[1]; }

 private:
  int fds_[2] = {-1, -1};
};

void send_all(int fd, std::span<const std::byte> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("socket: send");
    done += static_cast<size_t>(n);
  }
}

void receive_all(int fd, std::span<std::byte> buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("socket: read");
    if (n == 0) throw BenchError("socket: closed early");
    done += static_cast<size_t>(n);
  }
}

/// Child side of the socket row: receives and sums `count` messages of `size` bytes.
void receive_copies(int fd, Control& control, uint64_t count, uint64_t size) {
  std::vector<std::byte> buffer(size);  // zeroed, so touched before timing
  arrive(control.ready);
  for (uint64_t i = 0; i < count; ++i) {
    receive_all(fd, buffer);
    control.checksum.store(sum_bytes(buffer), std::memory_order_relaxed);
    arrive(control.acked);
  }
}

void expect_checksum(const Control& control, uint64_t expected, const char* what) {
  if (control.checksum.load(std::memory_order_relaxed) != expected) {
    throw BenchError(std::string(what) + ": the child summed different bytes");
  }
}

double seconds_of(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

std::string drop_dir_note() {
  const std::string base = scratch_base();
  return "drop rows: channels in " + base + " (" + fs_name(base) +
         "), a fresh directory per row, removed after it";
}

Row measure_drop_latency(const Context& ctx, const DropSetup& setup) {
  const uint64_t iters = ctx.scaled(kLatencyIters);
  const Counts counts{iters / 10, iters};
  ScratchDir dir;
  DropChannel channel = take(DropChannel::open(dir.channel(), drop_options(setup)), "drop: open");
  SharedMemory<Control> control;
  Child child(ctx.cpus.child, [&] {
    consume_small(dir.channel(), setup, *control, counts.warmup + counts.iters, true);
  });
  await(control->ready, 1, "drop: consumer open", [&] { child.throw_if_exited(); });
  std::vector<std::byte> payload(kSmallSize, std::byte{0x5a});
  std::vector<uint64_t> samples;
  samples.reserve(counts.iters);
  Stagger stagger(setup);
  for (uint64_t seq = 0; seq < counts.warmup + counts.iters; ++seq) {
    stagger.sleep();
    const auto start = Clock::now();
    publish_seq(channel, payload, seq);
    await_acks(*control, seq + 1, child, "drop: latency");
    if (seq >= counts.warmup) samples.push_back(ns_between(start, Clock::now()));
  }
  child.wait();
  return rtt_row(setup.mechanism, setup.mode, "1->1", kSmallSize, std::move(samples));
}

Row measure_drop_throughput(const Context& ctx, const DropSetup& setup, const Report& report) {
  const uint64_t messages = ctx.scaled(kThroughputMessages);
  const Counts counts{messages / 10, messages};
  const uint64_t total = counts.warmup + counts.iters;
  ScratchDir dir;
  DropChannel channel = take(DropChannel::open(dir.channel(), drop_options(setup)), "drop: open");
  SharedMemory<Control> control;
  Child child(ctx.cpus.child, [&] { consume_small(dir.channel(), setup, *control, total, false); });
  await(control->ready, 1, "drop: consumer open", [&] { child.throw_if_exited(); });
  std::vector<std::byte> payload(kSmallSize, std::byte{0x5a});
  for (uint64_t seq = 0; seq < counts.warmup; ++seq) publish_seq(channel, payload, seq);
  await_acks(*control, counts.warmup, child, "drop: throughput warm-up");
  const auto start = Clock::now();
  for (uint64_t seq = counts.warmup; seq < total; ++seq) publish_seq(channel, payload, seq);
  await_acks(*control, total, child, "drop: throughput");
  const double seconds = seconds_of(ns_between(start, Clock::now()));
  child.wait();
  if (const uint64_t late = control->out_of_order.load(); late != 0) {
    const std::string text = std::string(setup.mechanism) + " " + setup.mode + ": " +
                             std::to_string(late) + " of " + std::to_string(total) +
                             " messages claimed after a later-published one";
    report.note(text.c_str());
  }
  return throughput_row(setup.mechanism, setup.mode, "1->1", kSmallSize, counts.iters, seconds);
}

Row measure_drop_large(const Context& ctx, LargePublish how, uint64_t size) {
  const Counts counts{1, large_transfers(ctx)};
  const uint64_t total = counts.warmup + counts.iters;
  const DropSetup setup = large_setup();
  ScratchDir dir;
  DropChannel channel = take(DropChannel::open(dir.channel(), drop_options(setup)), "drop: open");
  SharedMemory<Control> control;
  Child child(ctx.cpus.child, [&] { consume_large(dir.channel(), setup, *control, total, size); });
  const std::vector<std::byte> payload = large_payload(size);
  const uint64_t expected = sum_bytes(payload);
  await(control->ready, 1, "drop: consumer open", [&] { child.throw_if_exited(); });
  uint64_t timed_ns = 0;
  for (uint64_t i = 0; i < total; ++i) {
    if (how == LargePublish::move) write_file(dir.file(i), payload);  // not timed
    const auto start = Clock::now();
    publish_large(channel, how, dir.file(i), payload);
    await_acks(*control, i + 1, child, "drop: large");
    if (i >= counts.warmup) timed_ns += ns_between(start, Clock::now());
    expect_checksum(*control, expected, "drop: large");
  }
  child.wait();
  const char* mode = how == LargePublish::move ? "move" : "write";
  return throughput_row(setup.mechanism, mode, "1->1", size, counts.iters, seconds_of(timed_ns));
}

Row measure_socket_copy(const Context& ctx, uint64_t size) {
  const Counts counts{1, large_transfers(ctx)};
  const uint64_t total = counts.warmup + counts.iters;
  SocketPair sockets;
  SharedMemory<Control> control;
  Child child(ctx.cpus.child, [&] { receive_copies(sockets.child(), *control, total, size); });
  const std::vector<std::byte> payload = large_payload(size);
  const uint64_t expected = sum_bytes(payload);
  await(control->ready, 1, "socket: child ready", [&] { child.throw_if_exited(); });
  uint64_t timed_ns = 0;
  for (uint64_t i = 0; i < total; ++i) {
    const auto start = Clock::now();
    send_all(sockets.parent(), payload);
    await_acks(*control, i + 1, child, "socket: copy");
    if (i >= counts.warmup) timed_ns += ns_between(start, Clock::now());
    expect_checksum(*control, expected, "socket: copy");
  }
  child.wait();
  return throughput_row("socket", "copy", "1->1", size, counts.iters, seconds_of(timed_ns));
}

}  // namespace pingpong

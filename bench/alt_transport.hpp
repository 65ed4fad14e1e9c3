// alt_transport.hpp — the alternatives a user would pick instead of
// ringdrop (pipe, Unix socket, TCP loopback, POSIX message queue,
// Boost.Interprocess message_queue, ZeroMQ), each behind one tiny interface
// so alt_rtt.cpp and alt_throughput.cpp measure them all the same way.
//
// Every message has the row's fixed size; a stream (pipe, sockets) carries
// them back to back and a receiver reads exactly that many bytes. Two ways
// to wait, so spinning compares with spinning and blocking with blocking:
//   block  blocking calls (read, recv, mq_receive, timed_receive, zmq_recv);
//   spin   non-blocking calls retried in a busy loop (O_NONBLOCK read/recv,
//          mq_receive on an O_NONBLOCK queue, try_receive, ZMQ_DONTWAIT).
// No blocking call waits more than kTimeout: sockets and ZeroMQ have
// timeouts; pipes and POSIX queues are interrupted every second by an
// interval timer (SIGALRM, see WatchdogTimer) so they can check theirs; the
// Boost queue uses its timed calls. A peer that dies shows as end of file.
#pragma once

#include <csignal>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "harness.hpp"

namespace pingpong {

enum class AltWait { block, spin };

inline const char* wait_name(AltWait wait) { return wait == AltWait::spin ? "spin" : "block"; }

/// What a row asks of a mechanism.
struct LinkSpec {
  AltWait wait;
  uint64_t size;  // every message has this size
  bool duplex;    // rtt: both ways; throughput: parent -> child only
};

/// One process's end of a link.
class Endpoint {
 public:
  Endpoint() = default;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  virtual ~Endpoint() = default;

  /// Sends one message (all of it); throws on an error or after kTimeout.
  virtual void send(std::span<const std::byte> message) = 0;
  /// Receives one message of exactly message.size() bytes.
  virtual void receive(std::span<std::byte> message) = 0;
  /// Buffer memory this end sets aside for messages in flight: for the
  /// direction it sends in (`sending`) or the one it receives from.
  virtual uint64_t buffer_bytes(bool sending) const = 0;
};

/// A mechanism set up for one row. Made in the parent before the fork, so
/// both processes inherit what they need; after it each takes its end
/// (which may set up more: a ZeroMQ context must not cross a fork).
class Link {
 public:
  Link() = default;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  virtual ~Link() = default;

  virtual std::unique_ptr<Endpoint> parent_end() = 0;
  virtual std::unique_ptr<Endpoint> child_end() = 0;
};

struct Mechanism {
  const char* name;
  /// Empty if the mechanism can carry `size`-byte messages here; else why not.
  std::string (*unsupported)(uint64_t size);
  std::unique_ptr<Link> (*make)(const LinkSpec& spec);
};

/// pipe, unix, tcp, posixmq, boostmq, zmq: in that order.
std::span<const Mechanism> alternatives();

// The factories, one file per family.
std::unique_ptr<Link> make_pipe_link(const LinkSpec& spec);    // alt_fd.cpp
std::unique_ptr<Link> make_unix_link(const LinkSpec& spec);    // alt_fd.cpp
std::unique_ptr<Link> make_tcp_link(const LinkSpec& spec);     // alt_fd.cpp
std::unique_ptr<Link> make_posix_mq_link(const LinkSpec& spec);  // alt_mq.cpp
std::unique_ptr<Link> make_boost_mq_link(const LinkSpec& spec);  // alt_mq.cpp
std::unique_ptr<Link> make_zmq_link(const LinkSpec& spec);       // alt_zmq.cpp
std::string posix_mq_unsupported(uint64_t size);                 // alt_mq.cpp
/// Queue depth of the message queues: the kernel's default msg_max.
constexpr long kQueueDepth = 10;

/// While alive, SIGALRM arrives every second (handler does nothing, no
/// SA_RESTART), so a blocking read/write/mq call returns EINTR and can
/// check its deadline; and SIGPIPE is ignored, so a write to a dead peer
/// fails with EPIPE. Arm it in each process around the measured work only
/// (stdio does not retry a write cut short by a signal); interval timers
/// are not inherited across fork. The destructor restores both signals.
class WatchdogTimer {
 public:
  WatchdogTimer();
  WatchdogTimer(const WatchdogTimer&) = delete;
  WatchdogTimer& operator=(const WatchdogTimer&) = delete;
  ~WatchdogTimer();

 private:
  struct sigaction old_alarm_ {};
  struct sigaction old_pipe_ {};
};

/// The retry policy of every call that can fail for lack of data or room:
/// after(errno) returns if the call should be tried again (EINTR from the
/// watchdog; EAGAIN when spinning), throwing once kTimeout has passed, and
/// throws `what: strerror` for any other error.
class Retry {
 public:
  Retry(const char* what, AltWait wait) : what_(what), deadline_(what), wait_(wait) {}
  void after(int err);

 private:
  const char* what_;
  LazyDeadline deadline_;
  AltWait wait_;
  uint32_t spins_ = 0;
};

/// A name no other queue or socket of this run has:
/// "ringdrop-pingpong-<pid>-<what>-<n>".
std::string fresh_name(const char* what);

}  // namespace pingpong

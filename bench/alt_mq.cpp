// alt_mq.cpp — the message-queue alternatives, both kQueueDepth (10, the
// kernel's default msg_max) messages of the row's size deep:
//   posixmq  POSIX message queues (mq_open): one each way, created in the
//            parent and unlinked at once (the descriptors cross the fork);
//            O_NONBLOCK in spin mode. Not measured above
//            /proc/sys/fs/mqueue/msgsize_max (8192 by default): raising it is
//            a system-wide setting, and the bytes of the queues would exceed
//            RLIMIT_MSGQUEUE (819200 by default) anyway, which only
//            CAP_SYS_RESOURCE may raise.
//   boostmq  boost::interprocess::message_queue: a shared-memory segment with
//            a process-shared mutex and condition variables; created in the
//            parent, its name removed at once (the mapping crosses the fork).
//            Blocking mode uses timed_send/timed_receive (a 10 s deadline),
//            spin mode try_send/try_receive.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>
#include <cerrno>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "alt_transport.hpp"

namespace pingpong {

namespace {

// ================================================================ POSIX

/// A queue made by this process, its name already unlinked; closed on destruction.
class PosixQueue {
 public:
  PosixQueue(uint64_t size, AltWait wait) {
    const std::string name = "/" + fresh_name("mq");
    mq_attr attr{};
    attr.mq_maxmsg = kQueueDepth;
    attr.mq_msgsize = static_cast<long>(size);
    const int nonblocking = wait == AltWait::spin ? O_NONBLOCK : 0;
    queue_ = ::mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | nonblocking, 0600, &attr);
    if (queue_ == static_cast<mqd_t>(-1)) throw_errno("mq_open");
    ::mq_unlink(name.c_str());
  }
  PosixQueue(const PosixQueue&) = delete;
  PosixQueue& operator=(const PosixQueue&) = delete;
  ~PosixQueue() { ::mq_close(queue_); }
  mqd_t get() const noexcept { return queue_; }

 private:
  mqd_t queue_;
};

class PosixMqEndpoint final : public Endpoint {
 public:
  PosixMqEndpoint(const PosixQueue* tx, const PosixQueue* rx, AltWait wait)
      : tx_(tx), rx_(rx), wait_(wait) {}

  void send(std::span<const std::byte> message) override {
    Retry retry("mq_send", wait_);
    const auto* bytes = reinterpret_cast<const char*>(message.data());
    while (::mq_send(tx_->get(), bytes, message.size(), 0) != 0) retry.after(errno);
  }

  void receive(std::span<std::byte> message) override {
    Retry retry("mq_receive", wait_);
    auto* bytes = reinterpret_cast<char*>(message.data());
    ssize_t n;
    while ((n = ::mq_receive(rx_->get(), bytes, message.size(), nullptr)) < 0) retry.after(errno);
    if (static_cast<size_t>(n) != message.size()) throw BenchError("mq_receive: wrong size");
  }

  uint64_t buffer_bytes(bool sending) const override {
    mq_attr attr{};
    if (!sending || ::mq_getattr(tx_->get(), &attr) != 0) return 0;
    return static_cast<uint64_t>(attr.mq_maxmsg) * static_cast<uint64_t>(attr.mq_msgsize);
  }

 private:
  const PosixQueue* tx_;
  const PosixQueue* rx_;
  AltWait wait_;
};

class PosixMqLink final : public Link {
 public:
  explicit PosixMqLink(const LinkSpec& spec) : ping_(spec.size, spec.wait), wait_(spec.wait) {
    if (spec.duplex) pong_.emplace(spec.size, spec.wait);
  }
  std::unique_ptr<Endpoint> parent_end() override {
    return std::make_unique<PosixMqEndpoint>(&ping_, pong(), wait_);
  }
  std::unique_ptr<Endpoint> child_end() override {
    return std::make_unique<PosixMqEndpoint>(pong(), &ping_, wait_);
  }

 private:
  const PosixQueue* pong() const { return pong_ ? &*pong_ : nullptr; }

  PosixQueue ping_;
  std::optional<PosixQueue> pong_;
  AltWait wait_;
};

long read_proc_long(const char* path) {
  std::ifstream in(path);
  long value = -1;
  in >> value;
  return value;
}

// ================================================================ Boost

namespace bip = boost::interprocess;

/// A queue whose name is removed as soon as it exists: the mapping lives on
/// in this process and every child forked later.
class BoostQueue {
 public:
  explicit BoostQueue(uint64_t size) : name_(fresh_name("bmq")) {
    queue_ = std::make_unique<bip::message_queue>(bip::create_only, name_.c_str(), kQueueDepth,
                                                  size);
    struct stat st {};
    if (::stat(("/dev/shm/" + name_).c_str(), &st) == 0) bytes_ = static_cast<uint64_t>(st.st_size);
    bip::message_queue::remove(name_.c_str());
  }
  bip::message_queue& get() const noexcept { return *queue_; }
  uint64_t bytes() const noexcept { return bytes_; }

 private:
  std::string name_;
  std::unique_ptr<bip::message_queue> queue_;
  uint64_t bytes_ = 0;  // the segment's size
};

boost::posix_time::ptime boost_deadline() {
  return boost::posix_time::microsec_clock::universal_time() +
         boost::posix_time::milliseconds(
             std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout).count());
}

class BoostMqEndpoint final : public Endpoint {
 public:
  BoostMqEndpoint(const BoostQueue* tx, const BoostQueue* rx, AltWait wait)
      : tx_(tx), rx_(rx), wait_(wait) {}

  void send(std::span<const std::byte> message) override {
    auto& queue = tx_->get();
    if (wait_ == AltWait::block) {
      if (!queue.timed_send(message.data(), message.size(), 0, boost_deadline())) {
        throw BenchError("boost message_queue send: timed out");
      }
      return;
    }
    LazyDeadline deadline("boost message_queue try_send");
    for (uint32_t i = 1; !queue.try_send(message.data(), message.size(), 0); ++i) {
      if (i % 4096 == 0) deadline.check();
    }
  }

  void receive(std::span<std::byte> message) override {
    auto& queue = rx_->get();
    bip::message_queue::size_type received = 0;
    unsigned priority = 0;
    if (wait_ == AltWait::block) {
      if (!queue.timed_receive(message.data(), message.size(), received, priority,
                               boost_deadline())) {
        throw BenchError("boost message_queue receive: timed out");
      }
    } else {
      LazyDeadline deadline("boost message_queue try_receive");
      for (uint32_t i = 1; !queue.try_receive(message.data(), message.size(), received, priority);
           ++i) {
        if (i % 4096 == 0) deadline.check();
      }
    }
    if (received != message.size()) throw BenchError("boost message_queue: wrong size");
  }

  uint64_t buffer_bytes(bool sending) const override { return sending ? tx_->bytes() : 0; }

 private:
  const BoostQueue* tx_;
  const BoostQueue* rx_;
  AltWait wait_;
};

class BoostMqLink final : public Link {
 public:
  explicit BoostMqLink(const LinkSpec& spec) : ping_(spec.size), wait_(spec.wait) {
    if (spec.duplex) pong_.emplace(spec.size);
  }
  std::unique_ptr<Endpoint> parent_end() override {
    return std::make_unique<BoostMqEndpoint>(&ping_, pong(), wait_);
  }
  std::unique_ptr<Endpoint> child_end() override {
    return std::make_unique<BoostMqEndpoint>(pong(), &ping_, wait_);
  }

 private:
  const BoostQueue* pong() const { return pong_ ? &*pong_ : nullptr; }

  BoostQueue ping_;
  std::optional<BoostQueue> pong_;
  AltWait wait_;
};

}  // namespace

std::string posix_mq_unsupported(uint64_t size) {
  const long limit = read_proc_long("/proc/sys/fs/mqueue/msgsize_max");
  if (limit >= 0 && size > static_cast<uint64_t>(limit)) {
    return "above /proc/sys/fs/mqueue/msgsize_max (" + std::to_string(limit) +
           " B), not raised (see alt_mq.cpp)";
  }
  rlimit budget{};
  const uint64_t needed = 2 * kQueueDepth * size;  // both queues, overhead aside
  if (::getrlimit(RLIMIT_MSGQUEUE, &budget) == 0 && budget.rlim_cur != RLIM_INFINITY &&
      needed > budget.rlim_cur) {
    return "two queues of " + std::to_string(kQueueDepth) + " exceed RLIMIT_MSGQUEUE (" +
           std::to_string(budget.rlim_cur) + " B)";
  }
  return {};
}

std::unique_ptr<Link> make_posix_mq_link(const LinkSpec& spec) {
  return std::make_unique<PosixMqLink>(spec);
}

std::unique_ptr<Link> make_boost_mq_link(const LinkSpec& spec) {
  return std::make_unique<BoostMqLink>(spec);
}

}  // namespace pingpong

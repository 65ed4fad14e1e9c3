// alt_zmq.cpp — ZeroMQ: a ZMQ_PAIR socket each side over ipc:// (an
// abstract Unix socket, so no file is left behind). Nothing is made before
// the fork (a ZeroMQ context must not cross one): the parent binds, the
// child connects, each in its own context with one I/O thread, which runs
// on the same CPU as its process's main thread. Spin mode passes
// ZMQ_DONTWAIT and retries EAGAIN; blocking mode waits with a 10 s
// ZMQ_SNDTIMEO / ZMQ_RCVTIMEO. High-water marks are ZeroMQ's defaults
// (1000 messages each way and side).
#include <zmq.h>

#include <cerrno>
#include <chrono>

#include "alt_transport.hpp"

namespace pingpong {

namespace {

[[noreturn]] void throw_zmq(const char* what) {
  throw BenchError(std::string(what) + ": " + zmq_strerror(zmq_errno()));
}

void set_int(void* socket, int option, int value, const char* what) {
  if (zmq_setsockopt(socket, option, &value, sizeof value) != 0) throw_zmq(what);
}

int get_int(void* socket, int option) {
  int value = 0;
  size_t length = sizeof value;
  if (zmq_getsockopt(socket, option, &value, &length) != 0) return 0;
  return value;
}

/// One process's context and PAIR socket, bound or connected.
class ZmqEndpoint final : public Endpoint {
 public:
  ZmqEndpoint(const std::string& address, bool bind, const LinkSpec& spec)
      : wait_(spec.wait), size_(spec.size) {
    context_ = zmq_ctx_new();
    if (!context_) throw_zmq("zmq_ctx_new");
    socket_ = zmq_socket(context_, ZMQ_PAIR);
    if (!socket_) {
      zmq_ctx_term(context_);
      throw_zmq("zmq_socket");
    }
    try {
      configure();
      const int rc = bind ? zmq_bind(socket_, address.c_str()) : zmq_connect(socket_, address.c_str());
      if (rc != 0) throw_zmq(bind ? "zmq_bind" : "zmq_connect");
    } catch (...) {
      close();
      throw;
    }
  }
  ~ZmqEndpoint() override { close(); }

  void send(std::span<const std::byte> message) override {
    Retry retry("zmq_send", wait_);
    while (zmq_send(socket_, message.data(), message.size(), flags()) < 0) retry.after(zmq_errno());
  }

  void receive(std::span<std::byte> message) override {
    Retry retry("zmq_recv", wait_);
    int n;
    while ((n = zmq_recv(socket_, message.data(), message.size(), flags())) < 0) {
      retry.after(zmq_errno());
    }
    if (static_cast<size_t>(n) != message.size()) throw BenchError("zmq_recv: wrong size");
  }

  /// The high-water mark's worth of messages (a bound, not what was used).
  uint64_t buffer_bytes(bool sending) const override {
    const int hwm = get_int(socket_, sending ? ZMQ_SNDHWM : ZMQ_RCVHWM);
    return static_cast<uint64_t>(hwm > 0 ? hwm : 0) * size_;
  }

 private:
  void configure() {
    const int timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout).count());
    set_int(socket_, ZMQ_LINGER, 0, "ZMQ_LINGER");
    set_int(socket_, ZMQ_SNDTIMEO, timeout_ms, "ZMQ_SNDTIMEO");
    set_int(socket_, ZMQ_RCVTIMEO, timeout_ms, "ZMQ_RCVTIMEO");
    // The child may connect before the parent binds: retry after 1 ms, not 100.
    set_int(socket_, ZMQ_RECONNECT_IVL, 1, "ZMQ_RECONNECT_IVL");
  }
  int flags() const { return wait_ == AltWait::spin ? ZMQ_DONTWAIT : 0; }
  void close() noexcept {
    if (socket_) zmq_close(socket_);
    if (context_) zmq_ctx_term(context_);
    socket_ = context_ = nullptr;
  }

  AltWait wait_;
  uint64_t size_;
  void* context_ = nullptr;
  void* socket_ = nullptr;
};

class ZmqLink final : public Link {
 public:
  explicit ZmqLink(const LinkSpec& spec) : spec_(spec), address_("ipc://@" + fresh_name("zmq")) {}
  std::unique_ptr<Endpoint> parent_end() override {
    return std::make_unique<ZmqEndpoint>(address_, true, spec_);
  }
  std::unique_ptr<Endpoint> child_end() override {
    return std::make_unique<ZmqEndpoint>(address_, false, spec_);
  }

 private:
  LinkSpec spec_;
  std::string address_;
};

}  // namespace

std::unique_ptr<Link> make_zmq_link(const LinkSpec& spec) { return std::make_unique<ZmqLink>(spec); }

}  // namespace pingpong

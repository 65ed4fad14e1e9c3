// alt_fd.cpp — the alternatives that are file descriptors:
//   pipe  two pipes (one each way; one for a throughput row);
//   unix  a socketpair(AF_UNIX, SOCK_STREAM);
//   tcp   a TCP connection over 127.0.0.1, TCP_NODELAY on both ends.
// Made before the fork; each process closes the other's descriptors, so a
// peer that dies shows as end of file. Messages go back to back on the
// stream; the receiver read()s until it has exactly the message's size.
// In spin mode every descriptor is O_NONBLOCK and EAGAIN is retried at once.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "alt_transport.hpp"

namespace pingpong {

namespace {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const noexcept { return fd_; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// How an end's buffer memory is found (Endpoint::buffer_bytes).
enum class FdKind {
  pipe,  // sending: the pipe's capacity (F_GETPIPE_SZ); receiving: none of its own
  unix_stream,  // sending: SO_SNDBUF (a stream's bytes in flight count against it); receiving: none
  tcp,   // sending: SO_SNDBUF; receiving: SO_RCVBUF (both autotuned: read at the end)
};

int socket_option(int fd, int option) {
  int value = 0;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return 0;
  return value;
}

class FdEndpoint final : public Endpoint {
 public:
  FdEndpoint(UniqueFd tx, UniqueFd rx, FdKind kind, AltWait wait)
      : tx_(std::move(tx)), rx_(std::move(rx)), kind_(kind), wait_(wait) {}

  void send(std::span<const std::byte> message) override {
    Retry retry("write", wait_);
    for (size_t done = 0; done < message.size();) {
      const ssize_t n = ::write(tx_.get(), message.data() + done, message.size() - done);
      if (n >= 0) {
        done += static_cast<size_t>(n);
      } else {
        retry.after(errno);
      }
    }
  }

  void receive(std::span<std::byte> message) override {
    Retry retry("read", wait_);
    for (size_t done = 0; done < message.size();) {
      const ssize_t n = ::read(rx_.get(), message.data() + done, message.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n == 0) {
        throw BenchError("read: the peer closed its end");
      } else {
        retry.after(errno);
      }
    }
  }

  uint64_t buffer_bytes(bool sending) const override {
    const int fd = sending ? tx_.get() : rx_.get();
    if (fd < 0) return 0;
    int bytes = 0;
    switch (kind_) {
      case FdKind::pipe:
        bytes = sending ? ::fcntl(fd, F_GETPIPE_SZ) : 0;
        break;
      case FdKind::unix_stream:
        bytes = sending ? socket_option(fd, SO_SNDBUF) : 0;
        break;
      case FdKind::tcp:
        bytes = socket_option(fd, sending ? SO_SNDBUF : SO_RCVBUF);
        break;
    }
    return bytes > 0 ? static_cast<uint64_t>(bytes) : 0;
  }

 private:
  UniqueFd tx_, rx_;  // the same socket for unix and tcp
  FdKind kind_;
  AltWait wait_;
};

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("fcntl O_NONBLOCK");
}

UniqueFd duplicate(const UniqueFd& fd) {
  const int copy = ::dup(fd.get());
  if (copy < 0) throw_errno("dup");
  return UniqueFd(copy);
}

/// Descriptors made in the parent; each side keeps its own and closes the
/// other side's. For a socket, tx and rx are the same socket (rx a dup).
class FdLink final : public Link {
 public:
  struct Side {
    UniqueFd tx, rx;
  };

  FdLink(Side parent, Side child, FdKind kind, AltWait wait)
      : parent_(std::move(parent)), child_(std::move(child)), kind_(kind), wait_(wait) {
    if (wait == AltWait::spin) {
      for (const UniqueFd* fd : {&parent_.tx, &parent_.rx, &child_.tx, &child_.rx}) {
        if (fd->get() >= 0) set_nonblocking(fd->get());
      }
    }
  }

  std::unique_ptr<Endpoint> parent_end() override { return take(parent_, child_); }
  std::unique_ptr<Endpoint> child_end() override { return take(child_, parent_); }

 private:
  std::unique_ptr<Endpoint> take(Side& mine, Side& theirs) {
    theirs = Side{};
    return std::make_unique<FdEndpoint>(std::move(mine.tx), std::move(mine.rx), kind_, wait_);
  }

  Side parent_, child_;
  FdKind kind_;
  AltWait wait_;
};

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_no_delay(int fd) {
  const int on = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) throw_errno("TCP_NODELAY");
}

UniqueFd tcp_socket() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw_errno("socket");
  return fd;
}

/// A listening socket on 127.0.0.1 and a free port; returns it and its address.
UniqueFd listen_on_loopback(sockaddr_in& address) {
  UniqueFd listener = tcp_socket();
  address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // any free port
  socklen_t length = sizeof address;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw_errno("tcp listen");
  }
  return listener;
}

}  // namespace

std::unique_ptr<Link> make_pipe_link(const LinkSpec& spec) {
  Pipe ping = make_pipe();
  FdLink::Side parent{std::move(ping.write), {}};
  FdLink::Side child{{}, std::move(ping.read)};
  if (spec.duplex) {
    Pipe pong = make_pipe();
    parent.rx = std::move(pong.read);
    child.tx = std::move(pong.write);
  }
  return std::make_unique<FdLink>(std::move(parent), std::move(child), FdKind::pipe, spec.wait);
}

std::unique_ptr<Link> make_unix_link(const LinkSpec& spec) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw_errno("socketpair");
  UniqueFd parent(fds[0]), child(fds[1]);
  FdLink::Side parent_side{duplicate(parent), std::move(parent)};
  FdLink::Side child_side{duplicate(child), std::move(child)};
  return std::make_unique<FdLink>(std::move(parent_side), std::move(child_side), FdKind::unix_stream,
                                  spec.wait);
}

std::unique_ptr<Link> make_tcp_link(const LinkSpec& spec) {
  sockaddr_in address{};
  UniqueFd listener = listen_on_loopback(address);
  UniqueFd client = tcp_socket();
  // Loopback: the kernel completes the handshake from the backlog, so the
  // connect returns before the accept.
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw_errno("tcp connect");
  }
  UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (server.get() < 0) throw_errno("tcp accept");
  set_no_delay(client.get());
  set_no_delay(server.get());
  FdLink::Side parent_side{duplicate(client), std::move(client)};
  FdLink::Side child_side{duplicate(server), std::move(server)};
  return std::make_unique<FdLink>(std::move(parent_side), std::move(child_side), FdKind::tcp,
                                  spec.wait);
}

}  // namespace pingpong

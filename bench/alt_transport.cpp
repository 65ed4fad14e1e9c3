// alt_transport.cpp — the list of alternatives, the watchdog timer and
// fresh names.
#include "alt_transport.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace pingpong {

namespace {

#if !RINGDROP_BENCH_ZMQ
std::string zmq_not_built(uint64_t) {
  return "not built: pkg-config found no libzmq (install libzmq3-dev)";
}
#endif
std::string always_supported(uint64_t) { return {}; }

constexpr Mechanism kAlternatives[] = {
    {"pipe", always_supported, make_pipe_link},
    {"unix", always_supported, make_unix_link},
    {"tcp", always_supported, make_tcp_link},
    {"posixmq", posix_mq_unsupported, make_posix_mq_link},
    {"boostmq", always_supported, make_boost_mq_link},
#if RINGDROP_BENCH_ZMQ
    {"zmq", always_supported, make_zmq_link},
#else
    {"zmq", zmq_not_built, nullptr},
#endif
};

void on_alarm(int) {}

void set_interval(long seconds) {
  itimerval interval{};
  interval.it_interval.tv_sec = seconds;
  interval.it_value.tv_sec = seconds;
  (void)::setitimer(ITIMER_REAL, &interval, nullptr);
}

}  // namespace

std::span<const Mechanism> alternatives() { return kAlternatives; }

WatchdogTimer::WatchdogTimer() {
  struct sigaction action {};
  action.sa_handler = on_alarm;  // no SA_RESTART: blocking calls return EINTR
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGALRM, &action, &old_alarm_);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &old_pipe_);
  set_interval(1);
}

WatchdogTimer::~WatchdogTimer() {
  set_interval(0);
  ::sigaction(SIGALRM, &old_alarm_, nullptr);
  ::sigaction(SIGPIPE, &old_pipe_, nullptr);
}

void Retry::after(int err) {
  if (err == EINTR) {
    deadline_.check();
    return;
  }
  if (err == EAGAIN && wait_ == AltWait::spin) {
    if (++spins_ % 4096 == 0) deadline_.check();
    return;
  }
  if (err == EAGAIN) throw BenchError(std::string(what_) + ": timed out");  // ZeroMQ's timeouts
  errno = err;
  throw_errno(what_);
}

std::string fresh_name(const char* what) {
  static unsigned next = 0;
  return "ringdrop-pingpong-" + std::to_string(::getpid()) + "-" + what + "-" +
         std::to_string(next++);
}

}  // namespace pingpong

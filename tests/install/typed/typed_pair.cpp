// A typed request/response pair built against the installed ringdrop only:
// a Server of greeter.Hello in a child process, a Client calling it, and
// the server's own error carried back. Exits 0 when every answer is right.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "greeter.capnp.h"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

volatile std::sig_atomic_t stopping = 0;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "typed_pair: %s (%s)\n", what, last_error_detail().c_str());
  std::exit(1);
}

[[noreturn]] void serve(const std::string& name, int ready_fd) {
  std::signal(SIGTERM, [](int) { stopping = 1; });
  auto server = Server::open(name);
  if (!server) fail("open the service");
  server->handle<greeter::Hello, greeter::Greeting>([](greeter::Hello::Reader in, greeter::Greeting::Builder out) {
    if (in.getTimes() == 0) return Status::error(422, "times must be positive");
    std::string text;
    for (uint32_t i = 0; i < in.getTimes(); ++i) text += std::string("hello ") + in.getName().cStr() + "! ";
    out.setText(text);
    return Status::ok();
  });
  if (::write(ready_fd, "r", 1) != 1) std::_Exit(2);
  while (!stopping) (void)server->serve(deadline_after(50ms));
  std::_Exit(0);
}

}  // namespace

int main() {
  const std::string name = "typed-pair-" + std::to_string(::getpid());
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  const pid_t child = ::fork();
  if (child == 0) serve(name, fds[1]);
  char c;
  if (::read(fds[0], &c, 1) != 1) fail("the server did not start");

  int failures = 0;
  auto client = Client::connect(name);
  if (!client) fail("connect");
  auto greeting = client->call<greeter::Hello, greeter::Greeting>(
      [](greeter::Hello::Builder h) {
        h.setName("ringdrop");
        h.setTimes(2);
      },
      deadline_after(5s));
  if (!greeting) fail("call");
  const std::string text = greeting->get().getText().cStr();
  if (text != "hello ringdrop! hello ringdrop! ") {
    std::fprintf(stderr, "typed_pair: got \"%s\"\n", text.c_str());
    ++failures;
  }
  auto refused = client->call<greeter::Hello, greeter::Greeting>(
      [](greeter::Hello::Builder h) { h.setName("nobody"); }, deadline_after(5s));
  if (refused || refused.error() != errc::remote_error || client->last_remote_error().code != 422) {
    std::fprintf(stderr, "typed_pair: times 0 was not the server's error 422\n");
    ++failures;
  }
  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
  (void)Segment::remove(Location::shm("ringdrop.svc." + name));  // the server's request ring
  std::printf("typed_pair: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}

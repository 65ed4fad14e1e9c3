// ringdrop-bridge-host-peer — one "host" of the two-host test: a mount
// namespace of its own with a private /dev/shm (so no ring is shared with
// the other host: messages can only pass through the broker), a
// ringdrop-bridge in it, and a producer or a consumer of its ring.
//
//   ringdrop-bridge-host-peer produce|consume|serve|call RING COUNT typed|raw BRIDGE [BRIDGE ARGS...]
//
// serve and call are request/response across the hosts: serve runs a
// ringdrop Server on RING (its bridge's inbound route has replies=true),
// call a Client of RING (its bridge's outbound route has a reply_queue).
// Needs CAP_SYS_ADMIN (root in CI) for unshare(CLONE_NEWNS) and the tmpfs;
// exits 77 without it (the test skips). Prints, on stdout:
//   ready                 the bridge's route runs (consume: its queue is bound)
//   done N DUPS           consume: N distinct messages, in order per
//                         producer, envelopes intact; DUPS duplicates
//   sent N                produce
//   served N              serve: the server handled N requests, then a Stop,
//                         and its bridge carried COUNT replies back
//   called N              call: N Echo calls (blocking, async, and two to a
//                         shared reply queue) answered right; a Fail one
//                         ended remote_error with its code and text, a
//                         Stranger one unknown_type, a Hold one (answered
//                         after its deadline) timed_out
//   fail WHY              anything else (exit 1)
// The consumer starts its bridge and says `ready` before the producer
// starts, so nothing is published before the queue exists.
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bridge_status.hpp"
#include "route_context.hpp"
#include "ringdrop/message.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/reply_queue.hpp"
#include "ringdrop/rpc_client.hpp"
#include "ringdrop/rpc_server.hpp"
#include "rpc_test.capnp.h"

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

pid_t g_bridge = -1;

[[noreturn]] void fail(const std::string& why) {
  if (g_bridge > 0) ::kill(g_bridge, SIGKILL);
  std::printf("fail %s\n", why.c_str());
  std::fflush(stdout);
  std::exit(1);
}

// A host of our own: private mounts, and a fresh tmpfs on /dev/shm.
void become_a_host() {
  if (::unshare(CLONE_NEWNS) != 0) {
    std::printf("fail unshare(CLONE_NEWNS): %s (needs root)\n", std::strerror(errno));
    std::exit(77);
  }
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("mount --make-rprivate /");
  if (::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=512m,mode=1777") != 0) {
    fail(std::string("mount tmpfs /dev/shm: ") + std::strerror(errno));
  }
}

pid_t start_bridge(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);  // our stdout is the test's channel
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string state_dir_of(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--state-dir") return args[i + 1];
  }
  fail("no --state-dir");
}

// Every route of the bridge runs (a reply route too).
void wait_running(const std::string& state_dir) {
  const auto end = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < end) {
    auto s = bridge::read_status(state_dir);
    if (s && (*s)["routes"].size() > 0 &&
        std::all_of((*s)["routes"].begin(), (*s)["routes"].end(),
                    [](const auto& r) { return r.value("state", "") == "running"; })) {
      return;
    }
    std::this_thread::sleep_for(20ms);  // the status file is rewritten every 500 ms
  }
  fail("the bridge's routes are not running after 60 s");
}

// The statistics of the bridge's route `name`.
uint64_t route_counter(const std::string& state_dir, const std::string& name, const char* key) {
  auto s = bridge::read_status(state_dir);
  if (!s) return 0;
  for (const auto& r : (*s)["routes"]) {
    if (r.value("name", "") == name) return r.value(key, uint64_t{0});
  }
  return 0;
}

int stop_bridge(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Payload i: an Echo with seq i, a text and a few data bytes that depend on i.
MpmcOptions ring_options() {
  MpmcOptions o;
  o.cell_size = 512;
  o.capacity = 8u << 20;
  o.max_deliveries = 1000;
  return o;
}

void produce(MpmcProducer* tx, uint64_t count, bool typed) {
  const std::pair<std::string_view, std::string_view> headers[] = {{"host", "a"}};
  for (uint64_t i = 0; i < count; ++i) {
    std::error_code ec;
    if (typed) {
      MessageOptions mo;
      mo.headers = headers;
      mo.correlation_id = i + 1;
      ec = send_message<rdtest::Echo>(
          *tx, deadline_after(120s), [&](rdtest::Echo::Builder e) {
            e.setSeq(i);
            e.setText("m" + std::to_string(i));
          },
          mo);
    } else {
      const std::string text = "raw " + std::to_string(i);
      ec = tx->send(bytes_of(text), 120s);
    }
    if (ec) fail("send " + std::to_string(i) + ": " + last_error_detail());
  }
}

// Reads `count` distinct messages; checks order and content.
std::pair<uint64_t, uint64_t> consume(MpmcConsumer* rx, uint64_t count, bool typed) {
  uint64_t next = 0, dups = 0;
  while (next < count) {
    auto view = rx->read(120s);
    if (!view && view.error() == errc::peer_gone) continue;
    if (!view) fail("after " + std::to_string(next) + ": " + last_error_detail());
    uint64_t seq = 0;
    if (typed) {
      auto msg = IncomingMessage::open(*view);
      if (!msg) fail("message " + std::to_string(next) + ": " + last_error_detail());
      auto e = msg->payload<rdtest::Echo>();
      if (!e) fail("not an Echo");
      seq = e->getSeq();
      if (seq == next && (std::string_view(e->getText().cStr()) != "m" + std::to_string(seq) ||
                          msg->envelope().getCorrelationId() != seq + 1 || msg->header("host") != "a" ||
                          msg->header("x-ringdrop-origin") != "host-a")) {
        fail("message " + std::to_string(seq) + ": the envelope or payload changed on the way");
      }
    } else {
      const std::string text(reinterpret_cast<const char*>(view->data()), view->size());
      if (text.rfind("raw ", 0) != 0) fail("raw message '" + text + "'");
      seq = std::stoull(text.substr(4));
    }
    rx->release();
    if (seq < next) {
      ++dups;
    } else if (seq > next) {
      fail("out of order: " + std::to_string(seq) + " after " + std::to_string(next - 1));
    } else {
      ++next;
    }
  }
  return {next, dups};
}

// Host B: a server of the request ring, until a Stop notification.
uint64_t serve(Server* server, pid_t bridge_pid, const std::string& state_dir, uint64_t replies) {
  uint64_t handled = 0;
  bool stop = false;
  server->handle<rdtest::Echo, rdtest::EchoReply>([&](rdtest::Echo::Reader e, rdtest::EchoReply::Builder r) {
    ++handled;
    r.setSeq(e.getSeq());
    r.setText(std::string("re ") + e.getText().cStr());
    return Status::ok();
  });
  server->handle<rdtest::Fail, rdtest::EchoReply>([&](rdtest::Fail::Reader f, rdtest::EchoReply::Builder) {
    ++handled;
    return Status::error(f.getCode(), f.getMessage().cStr());
  });
  // Answers after the realtime instant in its seq (ns): after its caller's
  // deadline, which is the point (both hosts share the machine's clock).
  server->handle<rdtest::Hold, rdtest::EchoReply>([&](rdtest::Hold::Reader h, rdtest::EchoReply::Builder r) {
    ++handled;
    while (bridge::real_now_ns() < static_cast<int64_t>(h.getSeq())) std::this_thread::sleep_for(10ms);
    r.setSeq(h.getSeq());
    return Status::ok();
  });
  server->on_notification<rdtest::Stop>([&](rdtest::Stop::Reader) { stop = true; });
  while (!stop) {
    if (auto ec = server->serve(deadline_after(200ms)); ec && ec != errc::timed_out && ec != errc::unknown_type) {
      fail("serve: " + last_error_detail());
    }
    if (::waitpid(bridge_pid, nullptr, WNOHANG) == bridge_pid) fail("the bridge died");
  }
  // The bridge stops once its reply routes took every reply (a late one
  // is taken and dropped): "serve.replies" and "serve.shared-replies".
  const auto end = std::chrono::steady_clock::now() + 120s;
  auto moved = [&](const char* route) {
    return route_counter(state_dir, route, "bridged") + route_counter(state_dir, route, "late_replies") +
           route_counter(state_dir, route, "dead_lettered");
  };
  while (moved("serve.replies") + moved("serve.shared-replies") < replies) {
    if (std::chrono::steady_clock::now() > end) fail("the bridge did not carry every reply back in 120 s");
    std::this_thread::sleep_for(20ms);
  }
  return handled;
}

std::string expect_error(const Result<Reply<rdtest::EchoReply>>& r, errc want, const char* what) {
  if (r) return std::string(what) + ": answered, not " + make_error_code(want).message();
  if (r.error() != want) return std::string(what) + ": " + r.error().message() + " (" + last_error_detail() + "), not " +
                                make_error_code(want).message();
  return {};
}

// Host A: calls through the broker, each kind of ending once.
uint64_t call(const std::string& ring, uint64_t count, const std::string& state_dir) {
  auto client = Client::connect(Location::shm(ring));
  if (!client) fail("client: " + last_error_detail());
  uint64_t sent = 0;  // requests and notifications the bridge must carry out
  for (uint64_t i = 0; i < count; ++i) {
    auto r = client->call<rdtest::Echo, rdtest::EchoReply>(
        [&](rdtest::Echo::Builder e) {
          e.setSeq(i);
          e.setText("c" + std::to_string(i));
        },
        deadline_after(30s));
    ++sent;
    if (!r) fail("call " + std::to_string(i) + ": " + last_error_detail());
    if (r->get().getSeq() != i || std::string_view(r->get().getText().cStr()) != "re c" + std::to_string(i)) {
      fail("call " + std::to_string(i) + ": the wrong reply");
    }
  }
  uint64_t async_ok = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    auto id = client->call_async<rdtest::Echo, rdtest::EchoReply>(
        [&](rdtest::Echo::Builder e) { e.setSeq(1000 + i); }, deadline_after(30s),
        [&, i](Result<Reply<rdtest::EchoReply>> r) { async_ok += r && r->get().getSeq() == 1000 + i ? 1 : 0; });
    if (!id) fail("call_async: " + last_error_detail());
    ++sent;
  }
  if (auto ec = client->poll(deadline_after(30s))) fail("poll: " + last_error_detail());
  if (async_ok != 50) fail(std::to_string(async_ok) + " of 50 async calls answered right");

  auto failed = client->call<rdtest::Fail, rdtest::EchoReply>(
      [](rdtest::Fail::Builder f) {
        f.setCode(42);
        f.setMessage("out of stock");
      },
      deadline_after(30s));
  ++sent;
  if (auto why = expect_error(failed, errc::remote_error, "Fail"); !why.empty()) fail(why);
  if (client->last_remote_error().code != 42 || client->last_remote_error().message != "out of stock") {
    fail("Fail: remote error " + std::to_string(client->last_remote_error().code) + " '" +
         client->last_remote_error().message + "'");
  }
  auto stranger = client->call<rdtest::Stranger, rdtest::EchoReply>([](rdtest::Stranger::Builder) {}, deadline_after(30s));
  ++sent;
  if (auto why = expect_error(stranger, errc::unknown_type, "Stranger"); !why.empty()) fail(why);
  // Replies to a shared reply queue of this host: the request's own
  // correlation id (or its id) and its id in request-id come back.
  ClientOptions shared_options;
  shared_options.reply_queue = ring + "-rq";
  auto sender = Client::connect(Location::shm(ring), shared_options);
  if (!sender) fail("client with a reply queue: " + last_error_detail());
  RequestOptions with_correlation;
  with_correlation.correlation_id = 4242;
  auto first = sender->send_request<rdtest::Echo>([](rdtest::Echo::Builder e) { e.setSeq(7001); }, deadline_after(30s),
                                                  with_correlation);
  auto second = sender->send_request<rdtest::Echo>([](rdtest::Echo::Builder e) { e.setSeq(7002); }, deadline_after(30s));
  if (!first || !second) fail("send_request: " + last_error_detail());
  sent += 2;
  auto queue = ReplyQueue::open(shared_options.reply_queue);
  if (!queue) fail("reply queue: " + last_error_detail());
  for (int i = 0; i < 2; ++i) {
    auto r = queue->take(deadline_after(30s));
    if (!r) fail("reply queue take: " + last_error_detail());
    const uint64_t seq = r->get<rdtest::EchoReply>().getSeq();
    const bool is_first = r->request_id() == *first;
    if (!is_first && r->request_id() != *second) fail("a shared reply with request-id " + std::to_string(r->request_id()));
    if (seq != (is_first ? 7001u : 7002u) || r->correlation_id() != (is_first ? 4242u : *second)) {
      fail("shared reply " + std::to_string(seq) + ": correlation id " + std::to_string(r->correlation_id()));
    }
    if (auto ec = queue->ack()) fail("ack: " + last_error_detail());
  }

  // Answered after its deadline, whatever the path's delays (3 s to cross).
  const int64_t answer_at = bridge::real_now_ns() + 4'500'000'000;
  auto held = client->call<rdtest::Hold, rdtest::EchoReply>(
      [&](rdtest::Hold::Builder h) { h.setSeq(static_cast<uint64_t>(answer_at)); }, deadline_after(3s));
  ++sent;
  if (auto why = expect_error(held, errc::timed_out, "Hold"); !why.empty()) fail(why);
  if (auto ec = client->notify<rdtest::Stop>([](rdtest::Stop::Builder) {}, deadline_after(30s))) {
    fail("notify: " + last_error_detail());
  }
  ++sent;
  // Stopped only once it carried everything out (the Stop too).
  const auto end = std::chrono::steady_clock::now() + 120s;
  while (route_counter(state_dir, "calls", "bridged") < sent) {
    if (std::chrono::steady_clock::now() > end) fail("the bridge did not carry out every request in 120 s");
    std::this_thread::sleep_for(20ms);
  }
  return count + 50 + 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s produce|consume RING COUNT typed|raw BRIDGE [ARGS...]\n", argv[0]);
    return 2;
  }
  const std::string role = argv[1], ring = argv[2];
  const uint64_t count = std::stoull(argv[3]);
  const bool typed = std::string(argv[4]) == "typed";
  const std::vector<std::string> bridge(argv + 5, argv + argc);
  become_a_host();
  if (role == "serve" || role == "call") {
    // The request ring before the bridge attaches: the server's (host B),
    // or one the client connects to (host A).
    std::optional<MpmcProducer> requests;
    std::optional<Server> server;
    if (role == "call") {
      auto t = MpmcProducer::open(Location::shm(ring), OpenMode::create, ring_options());
      if (!t) fail("create " + ring + ": " + last_error_detail());
      requests.emplace(std::move(*t));
    } else {
      auto s = Server::open_ring(Location::shm(ring));
      if (!s) fail("server: " + last_error_detail());
      server.emplace(std::move(*s));
    }
    const pid_t pid = start_bridge(bridge);
    g_bridge = pid;
    wait_running(state_dir_of(bridge));
    std::printf("ready\n");
    std::fflush(stdout);
    const uint64_t n = role == "serve" ? serve(&*server, pid, state_dir_of(bridge), count) : call(ring, count, state_dir_of(bridge));
    if (int code = stop_bridge(pid)) fail("the bridge exited " + std::to_string(code));
    std::printf("%s %llu\n", role == "serve" ? "served" : "called", static_cast<unsigned long long>(n));
    std::fflush(stdout);
    return 0;
  }
  // The ring first, with this test's cells, then the bridge that attaches to it.
  std::optional<MpmcProducer> tx;
  std::optional<MpmcConsumer> rx;
  if (role == "produce") {
    auto t = MpmcProducer::open(Location::shm(ring), OpenMode::create, ring_options());
    if (!t) fail("create " + ring + ": " + last_error_detail());
    tx.emplace(std::move(*t));
  } else {
    auto r = MpmcConsumer::open(Location::shm(ring), OpenMode::create, ring_options());
    if (!r) fail("create " + ring + ": " + last_error_detail());
    rx.emplace(std::move(*r));
  }
  const pid_t pid = start_bridge(bridge);
  g_bridge = pid;
  wait_running(state_dir_of(bridge));
  std::printf("ready\n");
  std::fflush(stdout);
  if (role == "produce") {
    produce(&*tx, count, typed);
    // The bridge stops once everything it took is confirmed: wait for it.
    const auto end = std::chrono::steady_clock::now() + 300s;
    for (;;) {
      auto s = bridge::read_status(state_dir_of(bridge));
      if (s && (*s)["routes"][0].value("bridged", uint64_t{0}) + (*s)["routes"][0].value("dead_lettered", uint64_t{0}) >= count) {
        break;
      }
      if (std::chrono::steady_clock::now() > end) fail("the bridge did not confirm everything in 300 s");
      std::this_thread::sleep_for(20ms);
    }
    if (int code = stop_bridge(pid)) fail("the bridge exited " + std::to_string(code));
    std::printf("sent %llu\n", static_cast<unsigned long long>(count));
  } else {
    auto [n, dups] = consume(&*rx, count, typed);
    if (int code = stop_bridge(pid)) fail("the bridge exited " + std::to_string(code));
    std::printf("done %llu %llu\n", static_cast<unsigned long long>(n), static_cast<unsigned long long>(dups));
  }
  std::fflush(stdout);
  return 0;
}

// ringdrop-rpc-peer — the other process in the request/response and typed
// message tests. Talks to the test over stdin/stdout, one line at a time.
//
//   serve <ring>                 a Server on <ring>; prints "ready"
//   serve-registered <dir> <svc> a Server registered as <svc> in registry <dir>
//     options (after the mode's arguments):
//       --wait-go                read a line from stdin before serving
//       --remember N             remembered replies (dedupe); default 1024
//       --dead-letters DIR       where poison requests go (ServerOptions::dead_letters)
//     handlers: Echo (echoes, with pid and run count; the text "poison"
//     kills the server, as a request that crashes its handler would); Fail (Status::error);
//     Hold (prints "holding <seq>", waits for a stdin line, then echoes);
//     notification Stop (ends the loop). At the end prints
//     "stats runs=<echo runs> duplicates=<n> expired=<n> unknown=<n>".
//   bad-replier <ring>           answers three requests badly: a reply whose
//                                payload points outside the message, a reply
//                                of the wrong type, then plain garbage
//   reply-twice <ring>           answers one request with two copies of its
//                                reply, the second committed first (so it is in
//                                the reply ring when the first is taken); prints
//                                "sent", then waits for a line
//   reply-instance <ring> <queue> <n> <handle>
//                                an instance of a calling service sharing reply
//                                queue <queue>: sends n Echo requests to <ring>
//                                (seq i, correlation id 1000000+i; prints "sent <n>"),
//                                takes and acks <handle> replies from the queue
//                                (prints "handled <correlation id> <deliveries>"
//                                after each ack), takes one more and prints
//                                "holding <correlation id>", then waits (to be killed)
//   reply-hold <queue>           opens reply queue <queue>, takes one reply and
//                                prints "holding <correlation id> <deliveries>",
//                                then waits (to be killed)
//   private-client <ring>        a Client that made one call: prints its reply
//                                ring ("reply-ring shm:..."), then waits for a line
//   publish <ring> <n>           a typed publisher on broadcast <ring>: waits
//                                for a stdin line, then publishes n rounds of
//                                Echo{seq=i} and Stranger{x=i}, and exits
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/reply_queue.hpp"
#include "ringdrop/rpc_client.hpp"
#include "ringdrop/rpc_server.hpp"
#include "ringdrop/typed_ring.hpp"
#include "rpc_test.capnp.h"

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

int fail(const char* what, std::error_code ec) {
  std::printf("error %s: %s (%s)\n", what, ec.message().c_str(), last_error_detail().c_str());
  std::fflush(stdout);
  return 2;
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::string wait_line() {
  std::string line;
  std::getline(std::cin, line);
  return line;
}

ServerOptions quick_server(int argc, char** argv, int first) {
  ServerOptions o;
  o.wait.liveness_interval = 10ms;
  o.cells = 16;
  for (int i = first; i < argc; ++i) {
    if (std::strcmp(argv[i], "--remember") == 0 && i + 1 < argc) o.remembered_replies = std::stoul(argv[++i]);
    if (std::strcmp(argv[i], "--dead-letters") == 0 && i + 1 < argc) o.dead_letters = argv[++i];
  }
  return o;
}

bool has_flag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) return true;
  }
  return false;
}

int serve(Server& server, bool wait_go) {
  uint64_t runs = 0;
  bool stop = false;
  server.handle<rdtest::Echo, rdtest::EchoReply>([&](rdtest::Echo::Reader in, rdtest::EchoReply::Builder out) {
    if (std::string_view(in.getText().cStr()) == "poison") ::kill(::getpid(), SIGKILL);
    ++runs;
    out.setSeq(in.getSeq());
    out.setText(in.getText());
    out.setData(in.getData());
    out.setServer(static_cast<uint32_t>(::getpid()));
    out.setRuns(runs);
    return Status::ok();
  });
  server.handle<rdtest::Fail, rdtest::EchoReply>([](rdtest::Fail::Reader in, rdtest::EchoReply::Builder) {
    return Status::error(in.getCode(), in.getMessage().cStr());
  });
  server.handle<rdtest::Hold, rdtest::EchoReply>([&](rdtest::Hold::Reader in, rdtest::EchoReply::Builder out) {
    say("holding " + std::to_string(in.getSeq()));
    wait_line();
    out.setSeq(in.getSeq());
    return Status::ok();
  });
  server.on_notification<rdtest::Stop>([&](rdtest::Stop::Reader) { stop = true; });
  say("ready");
  if (wait_go) wait_line();
  while (!stop) {
    if (auto ec = server.serve_one(deadline_after(10s)); ec && ec != errc::timed_out &&
                                                           ec != errc::unknown_type && ec != errc::bad_message &&
                                                           ec != errc::deadline_exceeded) {
      return fail("serve", ec);
    }
  }
  const auto s = server.stats();
  say("stats runs=" + std::to_string(runs) + " duplicates=" + std::to_string(s.duplicates) +
      " expired=" + std::to_string(s.expired) + " unknown=" + std::to_string(s.unknown_type));
  return 0;
}

// The reply to `request`: an EchoReply (or a Stranger), flattened.
std::vector<capnp::word> reply_to(const IncomingMessage& request, bool wrong_type) {
  HeapMessage m;
  MessageOptions o;
  o.kind = MessageKind::RESPONSE;
  o.correlation_id = request.id();
  if (wrong_type) {
    m.init<rdtest::Stranger>(o).setX(1);
  } else {
    m.init<rdtest::EchoReply>(o).setText("the last thing built");  // at the end of the segment
  }
  std::vector<capnp::word> flat(m.size() / sizeof(capnp::word));
  detail::write_flat(m.builder().getSegmentsForOutput(), std::as_writable_bytes(std::span(flat)));
  return flat;
}

// The request ring of a replier written by hand (bad-replier, reply-twice),
// opened or made with room for a few requests; says "ready" once open.
Result<MpmcConsumer> open_request_ring(const Location& where) {
  MpmcOptions o;
  o.cell_size = 4096;
  o.capacity = 4096 * 16;
  auto rx = MpmcConsumer::open(where, OpenMode::open_or_create, o);
  if (rx) say("ready");
  return rx;
}

int bad_replier(const Location& where) {
  auto rx = open_request_ring(where);
  if (!rx) return fail("open", rx.error());
  for (int i = 0; i < 3; ++i) {
    auto view = rx->read(deadline_after(30s));
    if (!view) return fail("read", view.error());
    auto msg = IncomingMessage::open(*view);
    if (!msg) return fail("parse", msg.error());
    auto tx = MpmcProducer::open(*Location::parse(msg->envelope().getReplyTo().cStr()), OpenMode::open);
    if (!tx) return fail("open reply", tx.error());
    auto flat = reply_to(*msg, i == 1);
    if (i == 0) {
      // The segment table now claims two words fewer: the text's pointer
      // points past the end of the message (the envelope itself is intact).
      reinterpret_cast<uint32_t*>(flat.data())[1] -= 2;
    }
    std::vector<std::byte> bytes(std::as_bytes(std::span(flat)).begin(), std::as_bytes(std::span(flat)).end());
    if (i == 2) bytes.assign(24, std::byte{0xff});
    if (auto ec = tx->send(bytes, deadline_after(10s))) return fail("send", ec);
    rx->release();
    say("sent " + std::to_string(i));
  }
  wait_line();
  return 0;
}

int reply_twice(const Location& where) {
  auto rx = open_request_ring(where);
  if (!rx) return fail("open", rx.error());
  auto view = rx->read(deadline_after(30s));
  if (!view) return fail("read", view.error());
  auto msg = IncomingMessage::open(*view);
  if (!msg) return fail("parse", msg.error());
  // Two producers claim the reply ring's next two cells in order; the
  // second cell is committed first, so the first, which the caller waits
  // on, is ready only when the copy behind it already is.
  const auto reply_ring = Location::parse(msg->envelope().getReplyTo().cStr());
  if (!reply_ring) return fail("reply-to", errc::invalid_argument);
  auto first = MpmcProducer::open(*reply_ring, OpenMode::open);
  auto second = MpmcProducer::open(*reply_ring, OpenMode::open);
  if (!first || !second) return fail("open reply", first ? second.error() : first.error());
  const auto flat = reply_to(*msg, false);
  const auto bytes = std::as_bytes(std::span(flat));
  auto cell = first->reserve(bytes.size(), deadline_after(10s));
  if (!cell) return fail("reserve", cell.error());
  if (auto ec = second->send(bytes, deadline_after(10s))) return fail("send", ec);
  std::memcpy(cell->data(), bytes.data(), bytes.size());
  if (auto ec = first->commit(bytes.size())) return fail("commit", ec);
  rx->release();
  say("sent");
  wait_line();
  return 0;
}

int reply_instance(const Location& where, const std::string& queue, uint64_t n, uint64_t handle) {
  ClientOptions co;
  co.reply_queue = queue;
  auto client = Client::connect(where, co);
  if (!client) return fail("connect", client.error());
  auto replies = ReplyQueue::open(queue);
  if (!replies) return fail("open queue", replies.error());
  for (uint64_t i = 1; i <= n; ++i) {
    RequestOptions ro;
    ro.correlation_id = 1000000 + i;
    auto id = client->send_request<rdtest::Echo>(
        [&](rdtest::Echo::Builder e) {
          e.setSeq(i);
          e.setText("order " + std::to_string(i));
        },
        deadline_after(60s), ro);
    if (!id) return fail("send", id.error());
  }
  say("sent " + std::to_string(n));
  for (uint64_t i = 0; i < handle; ++i) {
    auto r = replies->take(deadline_after(60s));
    if (!r) return fail("take", r.error());
    const uint64_t corr = r->correlation_id();
    const uint32_t deliveries = r->delivery_count();
    if (auto ec = replies->ack()) return fail("ack", ec);
    say("handled " + std::to_string(corr) + " " + std::to_string(deliveries));
  }
  auto r = replies->take(deadline_after(60s));
  if (!r) return fail("take", r.error());
  say("holding " + std::to_string(r->correlation_id()));
  wait_line();
  return 0;
}

int reply_hold(const std::string& queue) {
  auto replies = ReplyQueue::open(queue);
  if (!replies) return fail("open queue", replies.error());
  auto r = replies->take(deadline_after(60s));
  if (!r) return fail("take", r.error());
  say("holding " + std::to_string(r->correlation_id()) + " " + std::to_string(r->delivery_count()));
  wait_line();
  return 0;
}

int private_client(const Location& where) {
  auto client = Client::connect(where);
  if (!client) return fail("connect", client.error());
  auto r = client->call<rdtest::Echo, rdtest::EchoReply>([](rdtest::Echo::Builder e) { e.setSeq(1); },
                                                         deadline_after(30s));
  if (!r) return fail("call", r.error());
  say("reply-ring " + client->reply_ring().describe());
  wait_line();
  return 0;
}

int publish(const Location& where, int rounds) {
  auto pub = BroadcastPublisher::open(where, OpenMode::open);
  if (!pub) return fail("open", pub.error());
  TypedSender tx(std::move(*pub));
  say("ready");
  wait_line();
  for (int i = 0; i < rounds; ++i) {
    auto ec = tx.send<rdtest::Echo>([&](rdtest::Echo::Builder e) {
      e.setSeq(static_cast<uint64_t>(i));
      e.setText("event " + std::to_string(i));
    }, deadline_after(10s));
    if (ec) return fail("echo", ec);
    ec = tx.send<rdtest::Stranger>([&](rdtest::Stranger::Builder x) { x.setX(static_cast<uint32_t>(i)); },
                                   deadline_after(10s));
    if (ec) return fail("stranger", ec);
  }
  say("published");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ringdrop-rpc-peer <mode> ...\n");
    return 64;
  }
  const std::string mode = argv[1];
  if (mode == "serve") {
    auto server = Server::open_ring(Location::shm(argv[2]), quick_server(argc, argv, 3));
    if (!server) return fail("open", server.error());
    return serve(*server, has_flag(argc, argv, "--wait-go"));
  }
  if (mode == "serve-registered" && argc >= 4) {
    auto o = quick_server(argc, argv, 4);
    o.registry = argv[2];
    o.info = "test server";
    auto server = Server::open(argv[3], o);
    if (!server) return fail("open", server.error());
    return serve(*server, has_flag(argc, argv, "--wait-go"));
  }
  if (mode == "bad-replier") return bad_replier(Location::shm(argv[2]));
  if (mode == "reply-twice" && argc >= 3) return reply_twice(Location::shm(argv[2]));
  if (mode == "reply-instance" && argc >= 6) {
    return reply_instance(Location::shm(argv[2]), argv[3], std::stoull(argv[4]), std::stoull(argv[5]));
  }
  if (mode == "reply-hold" && argc >= 3) return reply_hold(argv[2]);
  if (mode == "private-client" && argc >= 3) return private_client(Location::shm(argv[2]));
  if (mode == "publish" && argc >= 4) return publish(Location::shm(argv[2]), std::stoi(argv[3]));
  std::fprintf(stderr, "ringdrop-rpc-peer: unknown mode %s\n", mode.c_str());
  return 64;
}

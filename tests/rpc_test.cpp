// Request/response across real processes: the server is ringdrop-rpc-peer
// (fork + exec); every way a call can end is made to happen.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "drop_support.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/rpc_client.hpp"
#include "ringdrop/rpc_server.hpp"
#include "rpc_support.hpp"
#include "rpc_test.capnp.h"
#include "test_support.hpp"

using namespace ringdrop;
using namespace ringdrop::test;
using namespace std::chrono_literals;

namespace {

std::string text(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

ClientOptions quick_client() {
  ClientOptions o;
  o.wait.liveness_interval = 10ms;
  return o;
}

// A Hold call (its handler waits for a line on the server's stdin) made on
// another thread, so the test can act while the call is in flight.
struct HoldCall {
  std::optional<Result<Reply<rdtest::EchoReply>>> result;
  std::thread caller;
  HoldCall(Client& c, Deadline deadline)
      : caller([this, &c, deadline] {
          result = c.call<rdtest::Hold, rdtest::EchoReply>([](rdtest::Hold::Builder h) { h.setSeq(1); }, deadline);
        }) {}
  Result<Reply<rdtest::EchoReply>>& wait() {
    caller.join();
    return *result;
  }
};

Result<Reply<rdtest::EchoReply>> echo(Client& c, uint64_t seq, Deadline deadline, CallOptions o = {}) {
  return c.call<rdtest::Echo, rdtest::EchoReply>(
      [&](rdtest::Echo::Builder e) {
        e.setSeq(seq);
        e.setText("call " + std::to_string(seq));
      },
      deadline, o);
}

}  // namespace

TEST(Rpc, BlockingCallGetsItsReply) {
  ScopedName name;
  ServerPeer server(name);
  auto client = Client::connect(name.location(), quick_client()).value();
  for (uint64_t seq = 1; seq <= 100; ++seq) {
    auto r = echo(client, seq, deadline_after(10s));
    ASSERT_TRUE(r) << r.error().message() << " " << last_error_detail();
    EXPECT_EQ(r->get().getSeq(), seq);
    EXPECT_EQ(text(r->get().getText()), "call " + std::to_string(seq));
    EXPECT_EQ(r->message().envelope().getKind(), MessageKind::RESPONSE);
  }
  EXPECT_EQ(client.stats().ok, 100u);
  EXPECT_EQ(server.stop(client), "stats runs=100 duplicates=0 expired=0 unknown=0");
}

TEST(Rpc, TheServersOwnErrorComesBackInTheEnvelope) {
  ScopedName name;
  ServerPeer server(name);
  auto client = Client::connect(name.location(), quick_client()).value();
  auto r = client.call<rdtest::Fail, rdtest::EchoReply>(
      [](rdtest::Fail::Builder f) {
        f.setCode(404);
        f.setMessage("no such order");
      },
      deadline_after(10s));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::remote_error);
  EXPECT_EQ(client.last_remote_error().code, 404);
  EXPECT_EQ(client.last_remote_error().message, "no such order");
}

TEST(Rpc, AnUnknownRequestTypeIsReportedNotMisread) {
  ScopedName name;
  ServerPeer server(name);
  auto client = Client::connect(name.location(), quick_client()).value();
  auto r = client.call<rdtest::Stranger, rdtest::EchoReply>([](rdtest::Stranger::Builder s) { s.setX(1); },
                                                            deadline_after(10s));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::unknown_type);
  EXPECT_TRUE(echo(client, 1, deadline_after(10s))) << "the server carries on";
  EXPECT_EQ(server.stop(client), "stats runs=1 duplicates=0 expired=0 unknown=1");
}

TEST(Rpc, NoAnswerByTheDeadlineIsTimedOutAndTheLateReplyIsDiscarded) {
  ScopedName name;
  ServerPeer server(name);
  auto client = Client::connect(name.location(), quick_client()).value();
  // The handler holds the request until told to go on. (The deadline only
  // has to leave the idle server time to start the handler.)
  HoldCall call(client, deadline_after(2s));
  EXPECT_EQ(server.read_line(), "holding 1");
  auto& r = call.wait();  // the call's deadline passes while the handler holds
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timed_out);
  server.send_line("go");
  // The next call meets the late reply first: discarded, counted.
  auto next = echo(client, 2, deadline_after(10s));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(next->get().getSeq(), 2u);
  EXPECT_EQ(client.stats().late_replies, 1u);
  EXPECT_EQ(client.stats().timed_out, 1u);
}

TEST(Rpc, AServerKilledWhileHandlingIsPeerGoneNotATimeout) {
  ScopedName name;
  ServerPeer server(name);
  auto client = Client::connect(name.location(), quick_client()).value();
  HoldCall call(client, deadline_after(60s));
  EXPECT_EQ(server.read_line(), "holding 1");
  server.kill9();
  auto& r = call.wait();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::peer_gone) << last_error_detail();
  EXPECT_EQ(client.stats().peer_gone, 1u);
}

TEST(Rpc, AMalformedReplyIsBadMessage) {
  ScopedName name;
  ExecPeer bad(RINGDROP_RPC_PEER, {"bad-replier", name.name()});
  ASSERT_EQ(bad.read_line(), "ready");
  auto client = Client::connect(name.location(), quick_client()).value();
  // A reply whose payload points outside the message: the call it names ends.
  auto r = echo(client, 1, deadline_after(30s));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_message) << last_error_detail();
  // A well-formed reply of the wrong type.
  r = echo(client, 2, deadline_after(30s));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_message) << last_error_detail();
  // Garbage names no call: the call ends at its deadline; the garbage is
  // counted when it is taken off the ring (here by poll, once it was sent).
  r = echo(client, 3, deadline_after(100ms));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timed_out);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bad.read_line(), "sent " + std::to_string(i));
  EXPECT_FALSE(client.poll(deadline_after(0ms)));
  EXPECT_EQ(client.stats().bad_replies, 3u);
  bad.send_line("bye");
}

TEST(Rpc, ABlockingCallReturnsAtItsOwnReplyAndLeavesTheOnesBehindItForTheNextCall) {
  ScopedName name;
  ExecPeer twice(RINGDROP_RPC_PEER, {"reply-twice", name.name()});
  ASSERT_EQ(twice.read_line(), "ready");
  auto client = Client::connect(name.location(), quick_client()).value();
  // The server puts a second copy of the reply behind the first, already
  // committed when the first is: the call returns without taking it.
  auto r = echo(client, 1, deadline_after(30s));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(twice.read_line(), "sent");
  EXPECT_EQ(client.stats().late_replies, 0u) << "the call took a reply behind its own";
  // The next look at the reply ring takes it, and counts it as late.
  EXPECT_FALSE(client.poll(deadline_after(0ms)));
  EXPECT_EQ(client.stats().late_replies, 1u);
  twice.send_line("bye");
}

TEST(Rpc, AsyncCallsInFlightAreMatchedByCorrelationId) {
  ScopedName name;
  ServerPeer a(name), b(name);  // two servers compete for the requests
  auto client = Client::connect(name.location(), quick_client()).value();
  std::map<uint64_t, uint64_t> answered;  // seq -> times
  std::set<uint32_t> servers;
  for (uint64_t seq = 0; seq < 64; ++seq) {
    auto id = client.call_async<rdtest::Echo, rdtest::EchoReply>(
        [&](rdtest::Echo::Builder e) {
          e.setSeq(seq);
          e.setText("async " + std::to_string(seq));
        },
        deadline_after(30s),
        [&, seq](Result<Reply<rdtest::EchoReply>> r) {
          ASSERT_TRUE(r) << r.error().message();
          EXPECT_EQ(r->get().getSeq(), seq);
          EXPECT_EQ(text(r->get().getText()), "async " + std::to_string(seq));
          servers.insert(r->get().getServer());
          ++answered[seq];
        });
    ASSERT_TRUE(id) << id.error().message();
  }
  // call_async takes the replies already there: every call is answered or in flight.
  EXPECT_EQ(answered.size() + client.in_flight(), 64u);
  ASSERT_FALSE(client.poll(deadline_after(30s)));
  EXPECT_EQ(answered.size(), 64u);
  for (auto& [seq, times] : answered) EXPECT_EQ(times, 1u) << seq;
  EXPECT_EQ(client.in_flight(), 0u);
  EXPECT_GE(servers.size(), 1u);
}

TEST(Rpc, AsyncCallsPastTheirDeadlineEndTimedOut) {
  ScopedName name;
  ServerPeer server(name);
  auto client = Client::connect(name.location(), quick_client()).value();
  std::vector<std::error_code> ends;
  auto id = client.call_async<rdtest::Hold, rdtest::EchoReply>(
      [](rdtest::Hold::Builder h) { h.setSeq(1); }, deadline_after(2s),  // time to start the handler
      [&](Result<Reply<rdtest::EchoReply>> r) { ends.push_back(r.error()); });
  ASSERT_TRUE(id);
  EXPECT_EQ(server.read_line(), "holding 1");
  ASSERT_FALSE(client.poll(deadline_after(30s)));
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0], errc::timed_out);
  server.send_line("go");
}

TEST(Rpc, ARetriedIdempotentRequestRunsOnce) {
  ScopedName name;
  // The server holds off until both tries are in its ring.
  ServerPeer server(name, {"--wait-go"});
  ClientOptions o = quick_client();
  o.retry.attempts = 2;
  o.retry.backoff = 1ms;
  auto client = Client::connect(name.location(), o).value();
  std::optional<Result<Reply<rdtest::EchoReply>>> r;
  std::thread caller([&] {
    CallOptions co;
    co.idempotent = true;
    co.attempt_timeout = 50ms;
    r = echo(client, 7, deadline_after(30s), co);
  });
  // Wait (bounded) until the second try is in the ring.
  const auto limit = Clock::now() + 30s;
  while (inspect_mpmc(name.location()).value().messages_committed < 2 && Clock::now() < limit) {
    std::this_thread::yield();
  }
  server.send_line("go");
  caller.join();
  ASSERT_TRUE(*r) << r->error().message();
  EXPECT_EQ((*r)->get().getSeq(), 7u);
  EXPECT_EQ((*r)->get().getRuns(), 1u);
  EXPECT_EQ(client.stats().retries, 1u);
  EXPECT_EQ(server.stop(client), "stats runs=1 duplicates=1 expired=0 unknown=0");
}

TEST(Rpc, TheCircuitBreakerFailsFastAfterARunOfFailures) {
  ScopedName name;
  auto server = std::make_unique<ServerPeer>(name);
  ClientOptions o = quick_client();
  o.breaker.failure_threshold = 2;
  o.breaker.cool_down = 1h;
  auto client = Client::connect(name.location(), o).value();
  ASSERT_TRUE(echo(client, 1, deadline_after(10s)));
  server->kill9();
  for (int i = 0; i < 2; ++i) {
    auto r = echo(client, 2, deadline_after(30s));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::peer_gone);
  }
  auto fast = echo(client, 3, deadline_after(30s));
  ASSERT_FALSE(fast);
  EXPECT_EQ(fast.error(), errc::circuit_open);
  const auto st = client.stats();
  EXPECT_EQ(st.breaker.state, CircuitState::open);
  EXPECT_EQ(st.rejected, 1u);
  EXPECT_EQ(st.breaker.opened, 1u);
}

TEST(Rpc, TheCircuitClosesAgainAfterAGoodTrialCall) {
  ScopedName name;
  auto first = std::make_unique<ServerPeer>(name);
  ClientOptions o = quick_client();
  o.breaker.failure_threshold = 1;
  o.breaker.cool_down = 0ms;  // the next call after opening is the trial
  auto client = Client::connect(name.location(), o).value();
  first->kill9();
  EXPECT_EQ(echo(client, 1, deadline_after(30s)).error(), errc::peer_gone);
  EXPECT_EQ(client.stats().breaker.state, CircuitState::open);
  ServerPeer second(name);
  auto r = echo(client, 2, deadline_after(30s));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(client.stats().breaker.state, CircuitState::closed);
  EXPECT_EQ(client.stats().breaker.trials, 1u);
}

TEST(Rpc, NotificationsAreOneWayWithTheRingsBackPressure) {
  ScopedName name;
  ServerPeer server(name, {"--wait-go"});  // not serving yet: the ring fills
  auto client = Client::connect(name.location(), quick_client()).value();
  int sent = 0;
  std::error_code ec;
  while (!(ec = client.notify<rdtest::Echo>([](rdtest::Echo::Builder e) { e.setSeq(1); }, deadline_after(20ms)))) {
    ++sent;
    ASSERT_LT(sent, 1000) << "the ring never filled";
  }
  EXPECT_EQ(ec, errc::timed_out);
  EXPECT_EQ(sent, 16) << "the server peer's ring has 16 cells";
  server.send_line("go");
  server.stop(client);
}

// A call whose request never got into the ring (full until the deadline, or
// every server gone) is counted like one whose reply never came.
TEST(Rpc, ACallThatCouldNotSendItsRequestIsCountedByHowItEnded) {
  ScopedName name;
  ServerPeer server(name, {"--wait-go"});  // not serving: the ring fills
  auto client = Client::connect(name.location(), quick_client()).value();
  while (!client.notify<rdtest::Echo>([](rdtest::Echo::Builder e) { e.setSeq(1); }, deadline_after(20ms))) {
  }
  auto r = echo(client, 1, deadline_after(50ms));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timed_out);
  EXPECT_EQ(client.stats().timed_out, 1u);
  server.kill9();
  auto gone = echo(client, 2, deadline_after(60s));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error(), errc::peer_gone) << last_error_detail();
  EXPECT_EQ(client.stats().peer_gone, 1u);
  EXPECT_EQ(client.stats().timed_out, 1u);
  EXPECT_EQ(client.stats().calls, 2u);
}

TEST(Rpc, ServicesAreFoundByNameAndDeadOnesAreNot) {
  ScopedDir registry;
  const std::string service = "pricing-" + std::to_string(::getpid());
  ClientOptions o = quick_client();
  o.registry = registry.path();
  EXPECT_EQ(Client::connect(service, o).error(), errc::not_found);
  auto server = std::make_unique<ExecPeer>(RINGDROP_RPC_PEER,
                                           std::vector<std::string>{"serve-registered", registry.path(), service});
  ASSERT_EQ(server->read_line(), "ready");
  {
    auto client = Client::connect(service, o);
    ASSERT_TRUE(client) << client.error().message() << " " << last_error_detail();
    EXPECT_EQ(client->request_ring().name(), "ringdrop.svc." + service);
    ASSERT_TRUE(echo(*client, 1, deadline_after(10s)));
    auto list = ServiceRegistry::open(registry.path()).value().list().value();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].service, service);
    EXPECT_EQ(list[0].pid, server->pid());
    EXPECT_TRUE(list[0].alive);
    EXPECT_EQ(list[0].info, "test server");
  }
  server->kill9();
  EXPECT_EQ(Client::connect(service, o).error(), errc::not_found);
  (void)Segment::remove(Location::shm("ringdrop.svc." + service));
}

TEST(Rpc, AGatheredRequestCollectsTheAnswersThatCameByTheDeadline) {
  ScopedName a, b, c;
  ServerPeer sa(a), sb(b), sc(c, {"--wait-go"});  // c never gets to answer
  auto ca = Client::connect(a.location(), quick_client()).value();
  auto cb = Client::connect(b.location(), quick_client()).value();
  auto cc = Client::connect(c.location(), quick_client()).value();
  // The silent service first: the answers of the others, waiting in their
  // rings while gather polls it to the deadline, still count.
  Client* const clients[] = {&cc, &ca, &cb};
  auto results = gather<rdtest::Echo, rdtest::EchoReply>(
      std::span<Client* const>(clients), [](rdtest::Echo::Builder e) { e.setSeq(5); }, deadline_after(2s));
  ASSERT_EQ(results.size(), 3u);
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error(), errc::timed_out);
  ASSERT_TRUE(results[1]) << results[1].error().message();
  ASSERT_TRUE(results[2]) << results[2].error().message();
  EXPECT_EQ(results[1]->get().getServer(), static_cast<uint32_t>(sa.pid()));
  EXPECT_EQ(results[2]->get().getServer(), static_cast<uint32_t>(sb.pid()));
  EXPECT_EQ(results[2]->get().getSeq(), 5u);
  sc.send_line("go");
}

TEST(Rpc, AReplyTooLargeForTheCallersRingEndsTheCallAndTheServerLivesOn) {
  ScopedName name;
  ServerPeer server(name);
  ClientOptions tiny = quick_client();
  tiny.reply_cell_size = 64;  // not even the "too large" error fits
  auto small = Client::connect(name.location(), tiny).value();
  auto r = echo(small, 1, deadline_after(300ms));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timed_out) << "undeliverable: no answer at all";
  ClientOptions roomy = quick_client();
  roomy.reply_cell_size = 256;  // the error fits, the 1000-byte echo does not
  auto medium = Client::connect(name.location(), roomy).value();
  auto big = medium.call<rdtest::Echo, rdtest::EchoReply>(
      [](rdtest::Echo::Builder e) { e.setText(std::string(1000, 'x')); }, deadline_after(10s));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error(), errc::message_too_large) << last_error_detail();
  auto normal = Client::connect(name.location(), quick_client()).value();
  EXPECT_TRUE(echo(normal, 3, deadline_after(10s))) << "the server survived both";
}

// ringdrop-messaging — every communication style between real processes,
// with typed Cap'n Proto messages (examples/schemas/orders.capnp):
//
//   1. request/response, blocking: a quote with a deadline;
//   2. request/response, asynchronous: 8 quotes in flight at once;
//   3. one-way notification: "order filled", with the ring's back-pressure;
//   4. publish with async responses: one request to two services, the best
//      answer gathered by a deadline;
//   5. publish/subscribe: ticks and fills on a broadcast ring, a subscriber
//      that takes ticks only;
//   6. replies that outlive their caller: one process sends three requests
//      and exits, another takes the replies from a shared reply queue by
//      correlation id (the order number it would load its state with).
//
// Two quote services run as child processes and register themselves by
// name; the client finds them through the registry, not by segment name.
// Exits 0 when every answer was right.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "orders.capnp.h"
#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/reply_queue.hpp"
#include "ringdrop/rpc_client.hpp"
#include "ringdrop/rpc_server.hpp"
#include "ringdrop/typed_ring.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

volatile std::sig_atomic_t stopping = 0;

[[noreturn]] void die(const char* what, std::error_code ec) {
  std::fprintf(stderr, "messaging: %s: %s (%s)\n", what, ec.message().c_str(), last_error_detail().c_str());
  std::exit(1);
}

// A quote service: answers QuoteRequests at `unit_price`, logs fills.
[[noreturn]] void run_service(const std::string& name, double unit_price, int ready_fd) {
  std::signal(SIGTERM, [](int) { stopping = 1; });
  ServerOptions options;
  options.info = "quotes at " + std::to_string(unit_price);
  auto server = Server::open(name, options);
  if (!server) die("open service", server.error());
  server->handle<orders::QuoteRequest, orders::Quote>(
      [&](orders::QuoteRequest::Reader req, orders::Quote::Builder quote) {
        if (req.getQuantity() == 0) return Status::error(400, "quantity must be positive");
        quote.setSymbol(req.getSymbol());
        quote.setUnitPrice(unit_price);
        quote.setTotal(unit_price * req.getQuantity());
        return Status::ok();
      });
  server->on_notification<orders::Filled>([&](orders::Filled::Reader f) {
    std::printf("  [%s] order %llu filled: %u %s\n", name.c_str(), static_cast<unsigned long long>(f.getOrderId()),
                f.getQuantity(), f.getSymbol().cStr());
    std::fflush(stdout);
  });
  (void)!::write(ready_fd, "r", 1);
  while (!stopping) (void)server->serve(deadline_after(50ms));
  std::_Exit(0);
}

pid_t start_service(const std::string& name, double unit_price) {
  int fds[2];
  if (::pipe(fds) != 0) std::exit(1);
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid == 0) run_service(name, unit_price, fds[1]);
  char c;
  (void)!::read(fds[0], &c, 1);  // registered and serving
  ::close(fds[0]);
  ::close(fds[1]);
  return pid;
}

auto ask(const char* symbol, uint32_t quantity) {
  return [=](orders::QuoteRequest::Builder r) {
    r.setSymbol(symbol);
    r.setQuantity(quantity);
  };
}

bool check(bool ok, const char* what) {
  std::printf("  %s %s\n", ok ? "ok  " : "FAIL", what);
  return ok;
}

// 5. A subscriber process that takes ticks only (fills are filtered out).
pid_t start_subscriber(const Location& ring, int ready_fd) {
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  TypedReceiver rx(BroadcastSubscriber::open(ring, OpenMode::open).value());
  rx.accept<orders::Tick>();
  (void)!::write(ready_fd, "r", 1);
  for (int i = 0; i < 3; ++i) {
    auto msg = rx.receive(deadline_after(10s));
    if (!msg) die("subscriber", msg.error());
    auto tick = (*msg)->payload<orders::Tick>().value();
    std::printf("  [subscriber] tick %llu: %s %.4f\n", static_cast<unsigned long long>(tick.getSequence()),
                tick.getSymbol().cStr(), tick.getPrice());
  }
  std::fflush(stdout);
  std::_Exit(rx.stats().filtered == 2 ? 0 : 3);  // the fills published between the ticks
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines in order with the children's
  const std::string a = "quotes-a-" + std::to_string(::getpid()), b = "quotes-b-" + std::to_string(::getpid());
  const pid_t sa = start_service(a, 1.10), sb = start_service(b, 1.08);
  bool ok = true;

  auto client = Client::connect(a);
  if (!client) die("connect", client.error());
  std::printf("1. blocking call to %s\n", a.c_str());
  auto quote = client->call<orders::QuoteRequest, orders::Quote>(ask("EURUSD", 100), deadline_after(1s));
  if (!quote) die("call", quote.error());
  ok &= check(std::abs(quote->get().getTotal() - 110.0) < 1e-9, "100 EURUSD at 1.10 = 110.00");
  auto refused = client->call<orders::QuoteRequest, orders::Quote>(ask("EURUSD", 0), deadline_after(1s));
  ok &= check(refused.error() == errc::remote_error && client->last_remote_error().code == 400,
              "quantity 0 is the server's own error 400, carried back");

  std::printf("2. eight asynchronous calls in flight\n");
  double sum = 0;
  for (uint32_t q = 1; q <= 8; ++q) {
    auto id = client->call_async<orders::QuoteRequest, orders::Quote>(
        ask("GBPUSD", q), deadline_after(1s), [&](Result<Reply<orders::Quote>> r) {
          if (r) sum += r->get().getTotal();
        });
    if (!id) die("call_async", id.error());
  }
  if (auto ec = client->poll(deadline_after(2s))) die("poll", ec);
  ok &= check(sum > 39.59 && sum < 39.61, "all 8 answered: 36 units at 1.10 = 39.60");

  std::printf("3. one-way notification\n");
  ok &= check(!client->notify<orders::Filled>([](orders::Filled::Builder f) {
    f.setOrderId(42);
    f.setSymbol("EURUSD");
    f.setQuantity(100);
  }, deadline_after(1s)), "sent (the service logs it)");

  std::printf("4. one request to two services, answers gathered by a deadline\n");
  auto other = Client::connect(b);
  if (!other) die("connect", other.error());
  Client* const both[] = {&*client, &*other};
  auto quotes = gather<orders::QuoteRequest, orders::Quote>(std::span<Client* const>(both), ask("USDJPY", 10),
                                                            deadline_after(1s));
  ok &= check(quotes.size() == 2 && quotes[0] && quotes[1], "both answered");
  if (quotes[0] && quotes[1]) {
    const double best = std::min(quotes[0]->get().getUnitPrice(), quotes[1]->get().getUnitPrice());
    ok &= check(best == 1.08, "best unit price 1.08 (service b)");
  }

  std::printf("5. publish/subscribe: ticks and fills, a subscriber for ticks\n");
  const auto ticks = Location::shm("ringdrop-example-ticks-" + std::to_string(::getpid()));
  TypedSender pub(BroadcastPublisher::open(ticks, OpenMode::create).value());
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  const pid_t sub = start_subscriber(ticks, fds[1]);
  char c;
  (void)!::read(fds[0], &c, 1);  // subscribed: it sees everything from now on
  for (uint64_t i = 0; i < 3; ++i) {
    (void)pub.send<orders::Tick>([&](orders::Tick::Builder t) {
      t.setSymbol("EURUSD");
      t.setPrice(1.0841 + i * 0.0001);
      t.setSequence(i);
    }, deadline_after(1s));
    if (i < 2) (void)pub.send<orders::Filled>([&](orders::Filled::Builder f) { f.setOrderId(i); }, deadline_after(1s));
  }
  int status = 0;
  ::waitpid(sub, &status, 0);
  ok &= check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "3 ticks received, 2 fills filtered out");
  (void)Segment::remove(ticks);

  std::printf("6. replies that outlive the caller: a shared reply queue\n");
  const std::string queue = "quote-replies-" + std::to_string(::getpid());
  auto replies = ReplyQueue::open(queue);  // this process: the instance that takes the replies
  if (!replies) die("reply queue", replies.error());
  const pid_t sender = ::fork();
  if (sender == 0) {  // the instance that sends, then is gone before any reply comes
    ClientOptions co;
    co.reply_queue = queue;
    auto instance_a = Client::connect(a, co);
    for (uint64_t order = 1001; instance_a && order <= 1003; ++order) {
      RequestOptions ro;
      ro.correlation_id = order;  // the key its state would be saved under
      if (!instance_a->send_request<orders::QuoteRequest>(ask("EURUSD", static_cast<uint32_t>(order - 1000)),
                                                 deadline_after(1s), ro)) {
        ::_exit(1);
      }
    }
    ::_exit(instance_a ? 0 : 1);
  }
  ::waitpid(sender, &status, 0);
  double total = 0;
  std::set<uint64_t> orders_seen;
  for (int i = 0; i < 3; ++i) {
    auto r = replies->take(deadline_after(1s));
    if (!r) die("take", r.error());
    orders_seen.insert(r->correlation_id());
    if (r->ok()) total += r->get<orders::Quote>().getTotal();
    (void)replies->ack();  // handled: only now does it leave the queue
  }
  ok &= check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && orders_seen == std::set<uint64_t>{1001, 1002, 1003} &&
                  std::abs(total - 6.6) < 1e-9,
              "orders 1001-1003 answered after their sender exited: 6 units at 1.10 = 6.60");
  (void)Segment::remove(reply_queue_location(queue));

  const auto st = client->stats();
  std::printf("client: %llu calls, %llu ok, %llu remote errors, %llu timed out; circuit %s\n",
              static_cast<unsigned long long>(st.calls), static_cast<unsigned long long>(st.ok),
              static_cast<unsigned long long>(st.remote_errors), static_cast<unsigned long long>(st.timed_out),
              to_string(st.breaker.state));
  for (pid_t p : {sa, sb}) {
    ::kill(p, SIGTERM);
    ::waitpid(p, &status, 0);
  }
  (void)Segment::remove(Location::shm("ringdrop.svc." + a));
  (void)Segment::remove(Location::shm("ringdrop.svc." + b));
  // Killed by SIGTERM, the services left their registrations behind (dead:
  // nothing holds their locks); a client's find() would skip them, but an
  // example cleans up after itself.
  if (auto reg = ServiceRegistry::open()) (void)reg->remove_dead();
  std::printf(ok ? "all styles worked\n" : "SOMETHING FAILED\n");
  return ok ? 0 : 1;
}

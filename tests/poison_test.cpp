// Poison messages on the MPMC ring (issue 13): a message that kills every
// consumer that takes it is delivered max_deliveries times, then set aside
// as a dead letter, and the ring goes on; reject, requeue and purge; and a
// dead-letter store that cannot be written keeps the message in the ring.
//
// The workers are forked processes that die by SIGKILL on the poison, and a
// supervisor (the test) restarts each one that dies, as a service manager
// would.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <set>
#include <string>
#include <vector>

#include "ringdrop/ringdrop.hpp"
#include "rpc_test.capnp.h"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::ScopedName;

namespace {

std::string text(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

/// A scratch directory under /dev/shm, removed with what it holds.
class ScratchDir {
 public:
  ScratchDir() {
    static int n = 0;
    path_ = "/dev/shm/ringdrop-test-dlq-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    std::filesystem::create_directory(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

MpmcOptions options(const std::string& dead_letters, uint32_t max_deliveries = 5) {
  MpmcOptions o;
  o.capacity = 64 * 256;
  o.cell_size = 256;
  o.max_deliveries = max_deliveries;
  o.dead_letters = dead_letters;
  return o;
}

// A worker: takes messages one at a time; on "poison" it dies as a crashing
// consumer would (SIGKILL: no destructor, no release); every other message
// it releases, then reports on `out` ("<message> <delivery count>\n", one
// write: atomic on a pipe). Released first, so that once the supervisor has
// every report, no worker it then kills holds a message.
[[noreturn]] void worker(const Location& ring, const MpmcOptions& o, int out) {
  auto rx = MpmcConsumer::open(ring, OpenMode::open, o);
  if (!rx) ::_exit(2);
  for (;;) {
    auto view = rx->read(10s);
    if (!view) ::_exit(view.error() == errc::timed_out ? 0 : 3);
    const std::string m = text(*view);
    if (m == "poison") ::kill(::getpid(), SIGKILL);
    const std::string line = m + " " + std::to_string(rx->delivery_count()) + "\n";
    rx->release();
    if (::write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(4);
  }
}

/// Runs `workers` worker processes, restarting each one that dies, until
/// `done` says so (asked after every report and every death) or `guard`
/// passes (a hang guard, not a measure). Returns the deaths by SIGKILL.
struct Supervisor {
  Supervisor(Location r, MpmcOptions opts) : ring(std::move(r)), o(std::move(opts)) {}
  Location ring;
  MpmcOptions o;
  int workers = 3;
  std::map<std::string, int> received;  // message -> times reported
  std::map<std::string, uint32_t> counts;  // message -> its last delivery count
  int crashes = 0;

  template <typename Done>
  void run(Done done, std::chrono::seconds guard = 60s) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::set<pid_t> alive;
    const auto start = [&] {
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::close(fds[0]);
        worker(ring, o, fds[1]);
      }
      alive.insert(pid);
    };
    for (int i = 0; i < workers; ++i) start();
    std::string pending;
    const auto until = std::chrono::steady_clock::now() + guard;
    while (!done(*this) && std::chrono::steady_clock::now() < until) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        char buf[512];
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) pending.append(buf, static_cast<size_t>(n));
        for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
          const std::string line = pending.substr(0, nl);
          const auto sp = line.find(' ');
          ++received[line.substr(0, sp)];
          counts[line.substr(0, sp)] = static_cast<uint32_t>(std::stoul(line.substr(sp + 1)));
        }
      }
      int status = 0;
      for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
        alive.erase(pid);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++crashes;
        start();  // the service manager's restart
      }
    }
    for (pid_t pid : alive) ::kill(pid, SIGKILL);
    for (pid_t pid : alive) ::waitpid(pid, nullptr, 0);
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

}  // namespace

TEST(Poison, APoisonMessageCrashesMaxDeliveriesConsumersThenIsADeadLetterAndTheRingGoesOn) {
  ScopedName name;
  ScratchDir dir;
  const MpmcOptions o = options(dir.path());
  auto tx = MpmcProducer::open(name.location(), OpenMode::create, o);
  ASSERT_TRUE(tx) << last_error_detail();
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(tx->send(bytes_of("m" + std::to_string(i)), 1s));
  ASSERT_FALSE(tx->send(bytes_of("poison"), 1s));
  for (int i = 10; i < 20; ++i) ASSERT_FALSE(tx->send(bytes_of("m" + std::to_string(i)), 1s));

  Supervisor s(name.location(), o);
  s.run([&](const Supervisor& sv) {
    if (sv.received.size() < 20) return false;
    auto st = tx->stats();
    return st.dead_lettered == 1;
  });

  EXPECT_EQ(s.crashes, 5) << "one crash per delivery, max_deliveries = 5";
  EXPECT_EQ(s.received.size(), 20u) << "every other message is delivered";
  for (const auto& [m, times] : s.received) EXPECT_EQ(times, 1) << m << ": no consumer died holding it";
  const auto stats = tx->stats();
  EXPECT_EQ(stats.dead_lettered, 1u);
  EXPECT_EQ(stats.redelivered, 4u) << "deliveries 2 to 5";

  auto dl = RingDeadLetters::open(name.location(), dir.path());
  ASSERT_TRUE(dl) << last_error_detail();
  auto letters = dl->list();
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  const DeadLetter& d = letters->front();
  EXPECT_EQ(d.attempts, 5u);
  EXPECT_NE(d.reason.find("delivered 5 times"), std::string::npos) << d.reason;
  EXPECT_EQ(d.headers.at(std::string(drop_header::source)), name.location().describe());
  EXPECT_EQ(d.headers.at(std::string(drop_header::source_kind)), "mpmc");
  auto bytes = dl->payload(d.id);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(text(*bytes), "poison");

  // The ring still works, for producers and consumers alike.
  auto rx = MpmcConsumer::open(name.location(), OpenMode::open, o);
  ASSERT_TRUE(rx);
  ASSERT_FALSE(tx->send(bytes_of("after"), 1s));
  auto got = rx->receive(1s);
  ASSERT_TRUE(got) << last_error_detail();
  EXPECT_EQ(text(*got), "after");
  EXPECT_EQ(rx->delivery_count(), 1u);
}

TEST(Poison, AMessageWhoseConsumersDieIsDeliveredAgainWithItsCount) {
  ScopedName name;
  ScratchDir dir;
  const MpmcOptions o = options(dir.path());
  auto tx = MpmcProducer::open(name.location(), OpenMode::create, o);
  ASSERT_TRUE(tx);
  ASSERT_FALSE(tx->send(bytes_of("job"), 1s));
  // Three consumers in turn read it and close without releasing (as a
  // consumer that died would leave it: redelivered).
  for (uint32_t i = 1; i <= 3; ++i) {
    auto rx = MpmcConsumer::open(name.location(), OpenMode::open, o);
    ASSERT_TRUE(rx);
    auto view = rx->read(1s);
    ASSERT_TRUE(view) << last_error_detail();
    EXPECT_EQ(rx->delivery_count(), i);
  }
  auto rx = MpmcConsumer::open(name.location(), OpenMode::open, o);
  auto view = rx->read(1s);
  ASSERT_TRUE(view);
  EXPECT_EQ(rx->delivery_count(), 4u);
  rx->release();
  EXPECT_EQ(tx->stats().dead_lettered, 0u);
}

TEST(Poison, ARejectedMessageIsADeadLetterWithItsReasonAndCanBeRequeuedOnceAndPurged) {
  ScopedName name;
  ScratchDir dir;
  const MpmcOptions o = options(dir.path());
  auto tx = MpmcProducer::open(name.location(), OpenMode::create, o);
  auto rx = MpmcConsumer::open(name.location(), OpenMode::open, o);
  ASSERT_TRUE(tx && rx);
  EXPECT_EQ(rx->reject("nothing held"), errc::invalid_argument);

  ASSERT_FALSE(tx->send(bytes_of("order 17"), 1s));
  ASSERT_FALSE(tx->send(bytes_of("order 18"), 1s));
  ASSERT_TRUE(rx->read(1s));
  ASSERT_FALSE(rx->reject("unknown customer 4711"));
  auto next = rx->receive(1s);
  ASSERT_TRUE(next);
  EXPECT_EQ(text(*next), "order 18") << "the rejected message is not delivered again";
  EXPECT_EQ(rx->try_read().error(), errc::would_block);
  EXPECT_EQ(tx->stats().dead_lettered, 1u);

  auto dl = RingDeadLetters::open(name.location(), dir.path());
  ASSERT_TRUE(dl);
  auto letters = dl->list();
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  const std::string id = letters->front().id;
  EXPECT_NE(letters->front().reason.find("unknown customer 4711"), std::string::npos) << letters->front().reason;
  EXPECT_EQ(letters->front().attempts, 1u);

  // Requeued: back in the ring, delivered once, counted from 1 again.
  ASSERT_FALSE(dl->requeue(id, 1s)) << last_error_detail();
  EXPECT_TRUE(dl->list()->empty());
  auto again = rx->receive(1s);
  ASSERT_TRUE(again);
  EXPECT_EQ(text(*again), "order 17");
  EXPECT_EQ(rx->delivery_count(), 1u);
  EXPECT_EQ(rx->try_read().error(), errc::would_block);
  EXPECT_EQ(dl->requeue(id, 1s), errc::not_found);

  // Purged: gone.
  ASSERT_FALSE(tx->send(bytes_of("order 19"), 1s));
  ASSERT_TRUE(rx->read(1s));
  ASSERT_FALSE(rx->reject("still unknown"));
  letters = dl->list();
  ASSERT_EQ(letters->size(), 1u);
  ASSERT_FALSE(dl->purge(letters->front().id));
  EXPECT_TRUE(dl->list()->empty());
}

TEST(Poison, ADeadLetterStoreThatCannotBeWrittenKeepsTheMessageInTheRing) {
  ScopedName name;
  ScratchDir dir;
  std::filesystem::create_directory(dir.sub("real"));
  std::filesystem::create_directory_symlink(dir.sub("real"), dir.sub("link"));
  { std::FILE* f = std::fopen(dir.sub("file").c_str(), "w"); ASSERT_TRUE(f); std::fclose(f); }
  const std::map<std::string, std::string> bad = {
      {"a symbolic link", dir.sub("link")},
      {"a missing directory", dir.sub("missing")},
      {"a file", dir.sub("file")},
  };
  auto tx = MpmcProducer::open(name.location(), OpenMode::create, options(""));
  ASSERT_TRUE(tx);
  ASSERT_FALSE(tx->send(bytes_of("keep me"), 1s));
  for (const auto& [what, path] : bad) {
    SCOPED_TRACE(what);
    auto rx = MpmcConsumer::open(name.location(), OpenMode::open, options(path));
    ASSERT_TRUE(rx);
    auto view = rx->read(1s);
    ASSERT_TRUE(view);
    const auto ec = rx->reject("cannot");
    EXPECT_TRUE(ec) << "a dead letter was stored in " << path;
    EXPECT_NE(last_error_detail().find("stays in the ring"), std::string::npos) << last_error_detail();
    EXPECT_EQ(text(*view), "keep me") << "still held";
    // Closed without release: delivered again to the next consumer.
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.sub("real"))) << "nothing written through the link";
  auto rx = MpmcConsumer::open(name.location(), OpenMode::open, options(dir.path()));
  auto got = rx->receive(1s);
  ASSERT_TRUE(got);
  EXPECT_EQ(text(*got), "keep me");
  EXPECT_EQ(rx->delivery_count(), 4u);
  EXPECT_EQ(tx->stats().dead_lettered, 0u);
}

TEST(Poison, MaxDeliveriesOfZeroOrAbsurdIsRefusedAtOpen) {
  ScopedName name;
  for (uint32_t n : {0u, 1001u, 4000000000u}) {
    auto tx = MpmcProducer::open(name.location(), OpenMode::open_or_create, options("", n));
    EXPECT_EQ(tx.error(), errc::invalid_argument) << n;
    EXPECT_NE(last_error_detail().find("max_deliveries"), std::string::npos) << last_error_detail();
  }
  EXPECT_EQ(Segment::remove(name.location()), errc::not_found) << "nothing was created";
  auto tx = MpmcProducer::open(name.location(), OpenMode::create, options("", 2));
  ASSERT_TRUE(tx);
  auto rx = MpmcConsumer::open(name.location(), OpenMode::open, options("", 7));
  ASSERT_TRUE(rx);
  EXPECT_EQ(rx->max_deliveries(), 2u) << "the creator's choice holds";
}

TEST(Poison, TheDefaultStoreIsMadeAtTheFirstDeadLetterInAPerUserDirectory) {
  ScopedName name;
  const std::string store = dead_letter_dir(name.location());
  EXPECT_EQ(store, "/dev/shm/ringdrop-dlq-" + std::to_string(::geteuid()) + "/" + name.name());
  EXPECT_EQ(dead_letter_dir(Location::file("/var/lib/x.ring")), "/var/lib/x.ring.dlq");
  auto tx = MpmcProducer::open(name.location(), OpenMode::create, options(""));
  auto rx = MpmcConsumer::open(name.location(), OpenMode::open, options(""));
  ASSERT_TRUE(tx && rx);
  EXPECT_FALSE(std::filesystem::exists(store)) << "no dead letter, no store";
  EXPECT_EQ(RingDeadLetters::open(name.location()).error(), errc::not_found);
  ASSERT_FALSE(tx->send(bytes_of("x"), 1s));
  ASSERT_TRUE(rx->read(1s));
  ASSERT_FALSE(rx->reject("test")) << last_error_detail();
  struct stat st{};
  ASSERT_EQ(::stat(std::filesystem::path(store).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto dl = RingDeadLetters::open(name.location());
  ASSERT_TRUE(dl) << last_error_detail();
  EXPECT_EQ(dl->dir(), store);
  EXPECT_EQ(dl->list()->size(), 1u);
  std::filesystem::remove_all(store);
}

// SPSC: one consumer at a time, restarted after each death. It reads one
// message at a time and releases it when done, so the record it dies on is
// the furthest it read.
TEST(Poison, SpscAPoisonRecordIsReadMaxDeliveriesTimesThenSetAside) {
  ScopedName name;
  ScratchDir dir;
  RingOptions o;
  o.capacity = 16 * 1024;
  o.max_deliveries = 3;
  o.dead_letters = dir.path();
  auto tx = SpscProducer::open(name.location(), OpenMode::create, o);
  ASSERT_TRUE(tx) << last_error_detail();
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(tx->send(bytes_of("m" + std::to_string(i)), 1s));
  ASSERT_FALSE(tx->send(bytes_of("poison"), 1s));
  for (int i = 5; i < 10; ++i) ASSERT_FALSE(tx->send(bytes_of("m" + std::to_string(i)), 1s));

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::map<std::string, std::vector<uint32_t>> received;  // message -> its delivery counts
  int crashes = 0;
  std::string pending;
  for (int incarnation = 0; incarnation < 10 && received.size() < 10; ++incarnation) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      auto rx = SpscConsumer::open(name.location(), OpenMode::open, o);
      if (!rx) ::_exit(2);
      for (;;) {
        auto view = rx->read(5s);
        if (!view) ::_exit(view.error() == errc::timed_out ? 0 : 3);
        const std::string m = text(*view);
        if (m == "poison") ::kill(::getpid(), SIGKILL);
        const std::string line = m + " " + std::to_string(rx->delivery_count()) + "\n";
        if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(4);
        rx->release();
        if (m == "m9") ::_exit(0);
      }
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++crashes;
    else ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    char buf[4096];
    pollfd p{fds[0], POLLIN, 0};
    while (::poll(&p, 1, 0) > 0) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
    }
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      const std::string line = pending.substr(0, nl);
      const auto sp = line.find(' ');
      received[line.substr(0, sp)].push_back(static_cast<uint32_t>(std::stoul(line.substr(sp + 1))));
    }
  }
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(crashes, 3) << "one crash per delivery, max_deliveries = 3";
  ASSERT_EQ(received.size(), 10u) << "every other message is delivered";
  for (const auto& [m, counts] : received) {
    EXPECT_EQ(counts, std::vector<uint32_t>{1}) << m << ": released before the poison, so read once";
  }
  auto stats = tx->stats();
  EXPECT_EQ(stats.dead_lettered, 1u);
  auto dl = RingDeadLetters::open(name.location(), dir.path());
  ASSERT_TRUE(dl);
  auto letters = dl->list();
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().attempts, 3u);
  EXPECT_EQ(letters->front().headers.at(std::string(drop_header::source_kind)), "spsc");
  EXPECT_EQ(text(*dl->payload(letters->front().id)), "poison");

  // Requeued while the producer holds its role: refused, and kept.
  EXPECT_EQ(dl->requeue(letters->front().id, 1s), errc::role_taken);
  EXPECT_EQ(dl->list()->size(), 1u);
  // With the producer gone: back in the ring, read once with count 1.
  { auto gone = std::move(*tx); }  // its destructor gives the role up
  ASSERT_FALSE(dl->requeue(letters->front().id, 1s)) << last_error_detail();
  auto rx = SpscConsumer::open(name.location(), OpenMode::open, o);
  ASSERT_TRUE(rx);
  auto got = rx->receive(1s);
  ASSERT_TRUE(got) << last_error_detail();
  EXPECT_EQ(text(*got), "poison");
  EXPECT_EQ(rx->delivery_count(), 1u);
}

TEST(Poison, SpscARejectedRecordIsNotDeliveredAgainEvenIfItsConsumerLeavesHoldingIt) {
  ScopedName name;
  ScratchDir dir;
  RingOptions o;
  o.capacity = 16 * 1024;
  o.dead_letters = dir.path();
  auto tx = SpscProducer::open(name.location(), OpenMode::create, o);
  ASSERT_TRUE(tx);
  ASSERT_FALSE(tx->send(bytes_of("first"), 1s));
  ASSERT_FALSE(tx->send(bytes_of("bad"), 1s));
  {
    auto rx = SpscConsumer::open(name.location(), OpenMode::open, o);
    ASSERT_TRUE(rx);
    EXPECT_EQ(rx->reject("nothing held"), errc::invalid_argument);
    ASSERT_TRUE(rx->read(1s));
    auto bad = rx->read(1s);
    ASSERT_TRUE(bad);
    EXPECT_EQ(text(*bad), "bad");
    ASSERT_FALSE(rx->reject("cannot parse")) << last_error_detail();
    // Gone without releasing "first" (as a crash would leave it).
  }
  auto rx = SpscConsumer::open(name.location(), OpenMode::open, o);
  auto again = rx->read(1s);
  ASSERT_TRUE(again);
  EXPECT_EQ(text(*again), "first");
  EXPECT_EQ(rx->delivery_count(), 2u) << "read before by a consumer that left holding it";
  rx->release();
  EXPECT_EQ(rx->try_read().error(), errc::would_block) << "the rejected record is not delivered again";
  EXPECT_EQ(tx->stats().dead_lettered, 1u);
  auto dl = RingDeadLetters::open(name.location(), dir.path());
  ASSERT_TRUE(dl);
  auto letters = dl->list();
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_NE(letters->front().reason.find("cannot parse"), std::string::npos) << letters->front().reason;
  EXPECT_EQ(text(*dl->payload(letters->front().id)), "bad");
}

TEST(Poison, SpscMaxDeliveriesOfZeroIsRefusedAtOpen) {
  ScopedName name;
  RingOptions o;
  o.max_deliveries = 0;
  EXPECT_EQ(SpscProducer::open(name.location(), OpenMode::create, o).error(), errc::invalid_argument);
  EXPECT_EQ(SpscConsumer::open(name.location(), OpenMode::open_or_create, o).error(), errc::invalid_argument);
  EXPECT_EQ(Segment::remove(name.location()), errc::not_found);
}

// Requests: two servers (ringdrop-rpc-peer), restarted after each death, and
// an Echo whose handler kills its server. After max_deliveries servers have
// died on it, the next sets it aside and the caller gets dead_lettered at
// once; other calls succeed. (An idle consumer of the request ring stands
// for a service that is never without a server: without it the caller could
// see peer_gone — its documented answer — in an instant when both are dead.)
TEST(Poison, APoisonRequestCrashesMaxDeliveriesServersThenItsCallerIsToldDeadLettered) {
  ScopedName name;
  ScratchDir dir;
  const auto spawn = [&] {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, STDOUT_FILENO);
      ::execl(RINGDROP_RPC_PEER, RINGDROP_RPC_PEER, "serve", name.name().c_str(), "--dead-letters",
              dir.path().c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  };
  // The request ring, made here as the servers make it (4096-byte cells,
  // 16 of them): the standby consumer.
  MpmcOptions ro;
  ro.cell_size = 4096;
  ro.capacity = 4096 * 16;
  auto standby = MpmcConsumer::open(name.location(), OpenMode::create, ro);
  ASSERT_TRUE(standby) << last_error_detail();

  // The service manager: restarts every server that dies, until told to stop.
  std::mutex mu;
  std::set<pid_t> servers{spawn(), spawn()};
  bool stopping = false;
  int crashes = 0;
  std::thread manager([&] {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0) return;
      std::lock_guard<std::mutex> g(mu);
      servers.erase(pid);
      if (stopping) {
        if (servers.empty()) return;
        continue;
      }
      if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++crashes;
      servers.insert(spawn());
    }
  });
  struct Stop {  // on every way out, failed assertions included
    std::function<void()> fn;
    ~Stop() { fn(); }
  } stop{[&] {
    {
      std::lock_guard<std::mutex> g(mu);
      if (stopping) return;
      stopping = true;
      for (pid_t pid : servers) ::kill(pid, SIGKILL);
    }
    manager.join();
  }};
  ClientOptions co;
  co.wait.liveness_interval = 10ms;
  auto client = Client::connect(name.location(), co);
  ASSERT_TRUE(client) << last_error_detail();

  const auto poisoned = client->call<rdtest::Echo, rdtest::EchoReply>(
      [](rdtest::Echo::Builder e) { e.setText("poison"); }, deadline_after(60s));
  ASSERT_FALSE(poisoned);
  EXPECT_EQ(poisoned.error(), errc::dead_lettered) << last_error_detail();
  EXPECT_NE(last_error_detail().find("crashed 5 servers"), std::string::npos) << last_error_detail();

  // Other calls go through.
  for (uint64_t i = 0; i < 3; ++i) {
    auto r = client->call<rdtest::Echo, rdtest::EchoReply>([&](rdtest::Echo::Builder e) {
      e.setSeq(i);
      e.setText("fine");
    }, deadline_after(10s));
    ASSERT_TRUE(r) << last_error_detail();
    EXPECT_EQ(r->get().getSeq(), i);
  }
  stop.fn();
  stop.fn = [] {};
  EXPECT_EQ(crashes, 5);
  auto dl = RingDeadLetters::open(name.location(), dir.path());
  ASSERT_TRUE(dl) << last_error_detail();
  auto letters = dl->list();
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().attempts, 5u);
  auto request = dl->payload(letters->front().id);
  ASSERT_TRUE(request);
  auto m = IncomingMessage::open(*request);
  ASSERT_TRUE(m) << "the dead letter is the request, envelope and all";
  EXPECT_EQ(m->kind(), MessageKind::REQUEST);
}

// The service registry across real processes: servers are forked children
// that register and then wait on a pipe; killing one with -9 is a server
// crash. Synchronisation is by pipes and waitpid only — no sleeps, no
// timing thresholds.
#include "ringdrop/service_registry.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/byte_lock.hpp"
#include "drop_support.hpp"
#include "ringdrop/error.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using test::exists;
using test::list_dir;
using test::ScopedDir;
using test::slurp;
using test::spit;

namespace {

using Names = std::vector<std::string>;

ServiceRegistry open_registry(const std::string& dir, mode_t mode = 0700) {
  auto r = ServiceRegistry::open(dir, mode);
  if (!r) throw std::runtime_error("open " + dir + ": " + r.error().message() + " — " + last_error_detail());
  return std::move(*r);
}

ServiceRegistration register_or_throw(ServiceRegistry& reg, std::string_view service,
                                      const Location& ring, std::string_view info = {}) {
  auto r = reg.register_service(service, ring, info);
  if (!r) throw std::runtime_error("register: " + r.error().message() + " — " + last_error_detail());
  return std::move(*r);
}

std::vector<ServiceEntry> list_or_throw(ServiceRegistry& reg) {
  auto r = reg.list();
  if (!r) throw std::runtime_error("list: " + r.error().message() + " — " + last_error_detail());
  return std::move(*r);
}

/// Names that look like entries (no .tmp files, no foreign files).
Names entry_files(const std::string& dir) {
  Names out;
  for (auto& n : list_dir(dir)) {
    if (n.find('@') != std::string::npos && n.front() != '.') out.push_back(n);
  }
  return out;
}

bool become_nobody() {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
         ::setresuid(65534, 65534, 65534) == 0;
}

/// A forked "server": opens the registry at `dir`, registers `service`
/// (`count` times) at `ring`, reports on a pipe, then waits until the parent
/// kills it (kill9) or lets it go (finish: it unregisters and exits 0).
class ServerChild {
 public:
  ServerChild(const std::string& dir, const std::string& service, const std::string& ring,
              int count = 1) {
    int ready[2], hold[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(hold, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(hold[1]);
      ::alarm(60);  // a hang kills the child, and fails the test
      serve(dir, service, ring, count, ready[1], hold[0]);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    ready_ = ready[0];
    hold_ = hold[1];
  }
  ~ServerChild() {
    if (pid_ > 0) kill9();
    if (ready_ >= 0) ::close(ready_);
    if (hold_ >= 0) ::close(hold_);
  }
  ServerChild(const ServerChild&) = delete;
  ServerChild& operator=(const ServerChild&) = delete;

  /// Waits for the child's report: true once it has registered.
  bool registered() {
    char c = 0;
    ssize_t n;
    do {
      n = ::read(ready_, &c, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1 && c == '1';
  }

  /// kill -9 and reap: the process is gone, its locks with it.
  void kill9() {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  /// Lets it go: it destroys its registrations and exits; its exit code.
  std::optional<int> finish() {
    ::close(hold_);
    hold_ = -1;
    auto code = test::wait_exit_for(pid_, 30s);
    if (code) pid_ = -1;
    return code;
  }

  pid_t pid() const { return pid_; }

 private:
  [[noreturn]] static void serve(const std::string& dir, const std::string& service,
                                 const std::string& ring, int count, int ready, int hold) {
    std::vector<ServiceRegistration> regs;
    char ok = '1';
    auto reg = ServiceRegistry::open(dir);
    for (int i = 0; reg && i < count && ok == '1'; ++i) {
      auto r = reg->register_service(service, Location::shm(ring), "child");
      if (r) regs.push_back(std::move(*r));
      else ok = '0';
    }
    if (!reg) ok = '0';
    (void)!::write(ready, &ok, 1);
    char c;
    while (::read(hold, &c, 1) < 0 && errno == EINTR) {
    }
    regs.clear();  // unregisters
    ::_exit(0);
  }

  pid_t pid_ = -1;
  int ready_ = -1, hold_ = -1;
};

/// A file with the entry format, written by hand (as a legacy program would).
std::string entry_text(const std::string& service, const std::string& ring, pid_t pid,
                       const std::string& info = "") {
  return "ringdrop-service 1\nservice=" + service + "\nring=" + ring + "\npid=" + std::to_string(pid) +
         "\nregistered-ns=1700000000000000000\ninfo=" + info + "\n";
}

}  // namespace

// --- registering and finding --------------------------------------------------------

TEST(ServiceRegistry, ARegisteredServiceIsFoundWithItsEntry) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  const auto before = std::chrono::system_clock::now();
  auto me = register_or_throw(reg, "orders", Location::shm("orders-rq"), "schema orders.v2");
  const auto after = std::chrono::system_clock::now();

  auto e = reg.find("orders");
  ASSERT_TRUE(e) << e.error().message() << " — " << last_error_detail();
  EXPECT_EQ(e->service, "orders");
  EXPECT_EQ(e->ring.describe(), "shm:orders-rq");
  EXPECT_FALSE(e->ring.is_file());
  EXPECT_EQ(e->pid, ::getpid());
  EXPECT_EQ(e->info, "schema orders.v2");
  EXPECT_TRUE(e->alive);
  EXPECT_GE(e->registered, before - 1us);  // the file keeps ns; the clock may have more
  EXPECT_LE(e->registered, after);
  EXPECT_EQ(e->file, me.file());
  EXPECT_EQ(me.service(), "orders");
  EXPECT_EQ(entry_files(dir / "reg"), Names{me.file().filename().string()});

  EXPECT_EQ(reg.find("payments").error(), errc::not_found);
  EXPECT_NE(last_error_detail().find("payments"), std::string::npos) << last_error_detail();
}

TEST(ServiceRegistry, AFileBackedRingRoundTrips) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  auto me = register_or_throw(reg, "batch", Location::file("/var/lib/x/batch ring.dat"));
  auto e = reg.find("batch");
  ASSERT_TRUE(e) << last_error_detail();
  EXPECT_TRUE(e->ring.is_file());
  EXPECT_EQ(e->ring.name(), "/var/lib/x/batch ring.dat");
  EXPECT_EQ(e->info, "");
}

TEST(ServiceRegistry, TheEntryFileIsTheDocumentedLineFormat) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  auto me = register_or_throw(reg, "orders", Location::shm("orders-rq"), "v2; a=b");
  const std::string name = me.file().filename().string();
  const std::string prefix = "orders@" + std::to_string(::getpid()) + ".";
  ASSERT_TRUE(name.starts_with(prefix)) << name;
  const std::string random = name.substr(prefix.size());
  EXPECT_EQ(random.size(), 16u) << name;
  EXPECT_EQ(random.find_first_not_of("0123456789abcdef"), std::string::npos) << name;

  const std::string text = slurp(me.file());
  const std::string head = "ringdrop-service 1\nservice=orders\nring=shm:orders-rq\npid=" +
                           std::to_string(::getpid()) + "\nregistered-ns=";
  ASSERT_TRUE(text.starts_with(head)) << text;
  EXPECT_TRUE(text.ends_with("\ninfo=v2; a=b\n")) << text;
  // No .tmp file is left behind.
  EXPECT_EQ(list_dir(dir / "reg"), Names{name});
}

TEST(ServiceRegistry, AnEntryWrittenByHandAndLockedIsALiveRegistration) {
  // What a legacy program must do to register: write the file, hold an OFD
  // lock on byte 0. And a pid that names a live process proves nothing.
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  const std::string held = dir / "reg/legacy@77.00000000000000aa";
  const std::string unheld = dir / ("reg/legacy@" + std::to_string(::getpid()) + ".00000000000000bb");
  spit(held, entry_text("legacy", "file:/srv/legacy.ring", 77, "cobol"));
  spit(unheld, entry_text("legacy", "shm:legacy-old", ::getpid()));  // our live pid, no lock
  const int fd = ::open(held.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(detail::try_lock_byte(fd, 0), 0);

  auto all = list_or_throw(reg);
  ASSERT_EQ(all.size(), 2u);
  for (const auto& e : all) {
    if (e.pid == 77) {
      EXPECT_TRUE(e.alive) << "held by this test's lock";
    } else {
      EXPECT_EQ(e.pid, ::getpid());
      EXPECT_FALSE(e.alive) << "a live pid without the lock is a dead registration";
    }
  }

  auto e = reg.find("legacy");
  ASSERT_TRUE(e) << last_error_detail();
  EXPECT_EQ(e->ring.describe(), "file:/srv/legacy.ring");
  EXPECT_EQ(e->info, "cobol");
  EXPECT_FALSE(exists(unheld)) << "find() removed the dead entry it met";
  EXPECT_TRUE(exists(held));
  ::close(fd);
}

// --- several registrations ------------------------------------------------------------

TEST(ServiceRegistry, TwoServersOfOneServiceAreTwoEntriesAndFindPrefersTheNewest) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  ServerChild a(dir / "reg", "orders", "orders-a");
  ASSERT_TRUE(a.registered());
  ServerChild b(dir / "reg", "orders", "orders-b");
  ASSERT_TRUE(b.registered());

  auto all = list_or_throw(reg);
  ASSERT_EQ(all.size(), 2u);
  for (const auto& e : all) {
    EXPECT_EQ(e.service, "orders");
    EXPECT_TRUE(e.alive);
  }
  EXPECT_LT(all[0].pid, all[1].pid) << "sorted by pid within a service";
  // The newest: latest registration time, then highest pid.
  const auto newest = std::max_element(all.begin(), all.end(), [](const auto& x, const auto& y) {
    return std::tie(x.registered, x.pid) < std::tie(y.registered, y.pid);
  });
  auto e = reg.find("orders");
  ASSERT_TRUE(e) << last_error_detail();
  EXPECT_EQ(e->pid, newest->pid);

  // The newest dies: the other one is found.
  const bool a_is_newest = newest->pid == a.pid();
  const pid_t other = a_is_newest ? b.pid() : a.pid();
  (a_is_newest ? a : b).kill9();
  e = reg.find("orders");
  ASSERT_TRUE(e) << last_error_detail();
  EXPECT_EQ(e->pid, other);
  EXPECT_EQ(list_or_throw(reg).size(), 1u) << "find() removed the dead one";
}

TEST(ServiceRegistry, OneProcessMayRegisterAServiceTwice) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  auto one = register_or_throw(reg, "orders", Location::shm("ring-1"));
  auto two = register_or_throw(reg, "orders", Location::shm("ring-2"));
  EXPECT_NE(one.file(), two.file());
  auto all = list_or_throw(reg);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].alive && all[1].alive);
}

TEST(ServiceRegistry, ListIsSortedByServiceThenPid) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  ServerChild z(dir / "reg", "zeta", "z");
  ASSERT_TRUE(z.registered());
  auto mine = register_or_throw(reg, "alpha", Location::shm("a"));
  ServerChild a(dir / "reg", "alpha", "a2");
  ASSERT_TRUE(a.registered());
  auto all = list_or_throw(reg);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].service, "alpha");
  EXPECT_EQ(all[1].service, "alpha");
  EXPECT_LT(all[0].pid, all[1].pid);
  EXPECT_EQ(all[2].service, "zeta");
}

// --- dead servers ------------------------------------------------------------------------

TEST(ServiceRegistry, AServerKilledWithMinus9IsListedDeadAndFindRemovesIt) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  ServerChild server(dir / "reg", "orders", "orders-rq");
  ASSERT_TRUE(server.registered());
  const pid_t pid = server.pid();
  auto e = reg.find("orders");
  ASSERT_TRUE(e) << last_error_detail();
  EXPECT_EQ(e->pid, pid);

  server.kill9();
  auto all = list_or_throw(reg);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].pid, pid);
  EXPECT_FALSE(all[0].alive) << "the kernel dropped its lock";
  EXPECT_EQ(entry_files(dir / "reg").size(), 1u) << "list() removes nothing";

  EXPECT_EQ(reg.find("orders").error(), errc::not_found);
  EXPECT_TRUE(entry_files(dir / "reg").empty()) << "find() removed the dead entry";
  EXPECT_TRUE(list_or_throw(reg).empty());
}

TEST(ServiceRegistry, AServerThatExitsCleanlyUnregisters) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  ServerChild server(dir / "reg", "orders", "orders-rq");
  ASSERT_TRUE(server.registered());
  ASSERT_EQ(list_or_throw(reg).size(), 1u);
  EXPECT_EQ(server.finish(), 0);
  EXPECT_TRUE(list_dir(dir / "reg").empty());
}

TEST(ServiceRegistry, RemoveDeadRemovesOnlyDeadEntriesAndCountsThem) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  ServerChild dead(dir / "reg", "orders", "o", 3);
  ASSERT_TRUE(dead.registered());
  ServerChild live(dir / "reg", "orders", "o");
  ASSERT_TRUE(live.registered());
  auto mine = register_or_throw(reg, "payments", Location::shm("p"));
  dead.kill9();

  auto n = reg.remove_dead();
  ASSERT_TRUE(n) << last_error_detail();
  EXPECT_EQ(*n, 3u);
  auto all = list_or_throw(reg);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].alive && all[1].alive);
  EXPECT_EQ(reg.remove_dead().value(), 0u);
}

TEST(ServiceRegistry, ConcurrentRemoversRemoveEachDeadEntryOnce) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  constexpr int kDead = 40;
  {
    ServerChild dead(dir / "reg", "orders", "o", kDead);
    ASSERT_TRUE(dead.registered());
    dead.kill9();
  }
  ServerChild live(dir / "reg", "orders", "o");
  ASSERT_TRUE(live.registered());

  // Two removers released at once by closing the pipe they wait on; each
  // reports its count as its exit code.
  int gate[2];
  ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
  const std::string path = dir / "reg";
  std::vector<pid_t> removers;
  for (int i = 0; i < 2; ++i) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(60);
      ::close(gate[1]);
      char c;
      while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      auto r = ServiceRegistry::open(path);
      auto n = r ? r->remove_dead() : Result<std::size_t>(r.error());
      ::_exit(n ? static_cast<int>(*n) : 200);
    }
    removers.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  int total = 0;
  for (pid_t pid : removers) {
    const auto code = test::wait_exit_for(pid, 30s);
    ASSERT_TRUE(code) << "a remover hangs";
    ASSERT_LE(*code, kDead) << "a remover failed";
    total += *code;
  }
  EXPECT_EQ(total, kDead) << "every dead entry removed exactly once";
  auto all = list_or_throw(reg);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].alive) << "the live entry survived";
}

// --- handles --------------------------------------------------------------------------------

TEST(ServiceRegistry, DestroyingTheHandleUnregisters) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  {
    auto me = register_or_throw(reg, "orders", Location::shm("o"));
    ASSERT_TRUE(reg.find("orders"));
  }
  EXPECT_EQ(reg.find("orders").error(), errc::not_found);
  EXPECT_TRUE(list_dir(dir / "reg").empty());

  auto me = register_or_throw(reg, "orders", Location::shm("o"));
  me.unregister();
  EXPECT_TRUE(list_dir(dir / "reg").empty());
  me.unregister();  // idempotent
}

TEST(ServiceRegistry, AMovedFromHandleDoesNothing) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  std::optional<ServiceRegistration> from(register_or_throw(reg, "orders", Location::shm("o")));
  const auto file = from->file();
  ServiceRegistration to(std::move(*from));
  EXPECT_TRUE(from->file().empty());
  from.reset();  // destroys the moved-from handle
  auto e = reg.find("orders");
  ASSERT_TRUE(e) << "the moved-from handle unregistered";
  EXPECT_TRUE(e->alive);
  EXPECT_EQ(to.file(), file);

  // Move-assigning over a live registration ends that one.
  auto other = register_or_throw(reg, "payments", Location::shm("p"));
  other = std::move(to);
  EXPECT_EQ(reg.find("payments").error(), errc::not_found);
  EXPECT_TRUE(reg.find("orders"));
  EXPECT_EQ(other.file(), file);
}

TEST(ServiceRegistry, AForkedChildsCopyOfTheHandleDoesNotUnregister) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  std::optional<ServiceRegistration> me(register_or_throw(reg, "orders", Location::shm("o")));
  const int code = test::in_child([&me] {
    me.reset();  // the child's copy is destroyed (unregister() would do the same)
    return 0;
  });
  ASSERT_EQ(code, 0);
  auto all = list_or_throw(reg);
  ASSERT_EQ(all.size(), 1u) << "the child unlinked the parent's entry";
  EXPECT_TRUE(all[0].alive) << "the child dropped the parent's lock";
  EXPECT_EQ(all[0].pid, ::getpid());
  me.reset();
  EXPECT_TRUE(list_dir(dir / "reg").empty()) << "the parent's handle still unregisters";
}

TEST(ServiceRegistry, AChildsOwnRegistrationIsUnregisteredByTheChild) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  const std::string path = dir / "reg";
  const int code = test::in_child([&path] {
    auto r = ServiceRegistry::open(path);
    if (!r) return 2;
    auto me = r->register_service("orders", Location::shm("o"));
    if (!me) return 3;
    auto e = r->find("orders");
    if (!e || e->pid != ::getpid()) return 4;
    return 0;  // `me` is destroyed on the way out, in the process that made it
  });
  ASSERT_EQ(code, 0);
  EXPECT_TRUE(list_dir(path).empty());
}

// --- names and files that are not right ---------------------------------------------------

TEST(ServiceRegistry, BadServiceNamesAreRefused) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  const std::string longest(100, 'x');
  for (const std::string& bad : {std::string(), std::string(101, 'x'), std::string(".hidden"),
                                std::string("a/b"), std::string("a@b"), std::string("a b"),
                                std::string("tab\t"), std::string("caf\xc3\xa9"), std::string("..")}) {
    auto r = reg.register_service(bad, Location::shm("o"));
    EXPECT_FALSE(r) << "\"" << bad << "\"";
    if (!r) {
      EXPECT_EQ(r.error(), errc::invalid_argument) << bad;
    }
    EXPECT_EQ(reg.find(bad).error(), errc::invalid_argument) << bad;
  }
  EXPECT_TRUE(list_dir(dir / "reg").empty()) << "nothing was written";
  for (const std::string& good : {longest, std::string("a"), std::string("Orders.v2_x-9"),
                                 std::string("9"), std::string("a.")}) {
    auto r = reg.register_service(good, Location::shm("o"));
    ASSERT_TRUE(r) << good << ": " << last_error_detail();
    auto e = reg.find(good);
    ASSERT_TRUE(e) << good;
    EXPECT_EQ(e->service, good);
  }
}

TEST(ServiceRegistry, RingNamesAndInfoWithControlCharactersAreRefused) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  EXPECT_EQ(reg.register_service("s", Location::shm("")).error(), errc::invalid_argument);
  EXPECT_EQ(reg.register_service("s", Location::shm("a\nservice=x")).error(), errc::invalid_argument);
  EXPECT_EQ(reg.register_service("s", Location::file("/x\n")).error(), errc::invalid_argument);
  EXPECT_EQ(reg.register_service("s", Location::shm("o"), "two\nlines").error(), errc::invalid_argument);
  EXPECT_EQ(reg.register_service("s", Location::shm("o"), std::string(4097, 'i')).error(),
            errc::invalid_argument);
  EXPECT_TRUE(reg.register_service("s", Location::shm("o"), std::string(4096, 'i')));
}

TEST(ServiceRegistry, MalformedAndForeignFilesAreSkippedNeverFatal) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  const std::string d = dir / "reg";
  spit(d + "/README", "not an entry\n");                                       // foreign name
  spit(d + "/orders@1.0123456789abcdef", "\x01garbage\xff");                   // our name, garbage
  spit(d + "/orders@2.0123456789abcdef", entry_text("payments", "shm:p", 2));  // disagrees with its name
  spit(d + "/orders@3.0123456789abcdef", "ringdrop-service 99\nservice=orders\n");  // unknown version
  spit(d + "/orders@4.0123456789abcdef", entry_text("orders", "tcp:x", 4));   // unknown ring kind
  spit(d + "/orders@5.0123456789abcdef", "");                                 // empty
  spit(d + "/orders@6.0123456789abcdef", std::string(70 * 1024, 'x'));        // too large
  ASSERT_EQ(::mkdir((d + "/orders@7.0123456789abcdef").c_str(), 0700), 0);    // a directory
  ASSERT_EQ(::mkfifo((d + "/orders@8.0123456789abcdef").c_str(), 0600), 0);   // would block a reader
  ASSERT_EQ(::symlink("/etc/passwd", (d + "/orders@9.0123456789abcdef").c_str()), 0);
  spit(d + "/orders@x.0123456789abcdef", entry_text("orders", "shm:o", 1));   // pid is no number

  auto all = reg.list();
  ASSERT_TRUE(all) << last_error_detail();
  EXPECT_TRUE(all->empty()) << "malformed entries are never listed";
  EXPECT_EQ(reg.find("orders").error(), errc::not_found);

  auto me = register_or_throw(reg, "orders", Location::shm("good"));
  auto e = reg.find("orders");
  ASSERT_TRUE(e) << last_error_detail();
  EXPECT_EQ(e->ring.name(), "good");

  // find() already removed the unlocked malformed regular files of "orders";
  // remove_dead() finds nothing more. Foreign files, the directory, the FIFO
  // and the symlink stay.
  EXPECT_EQ(reg.remove_dead().value(), 0u);
  const Names left = list_dir(d);
  for (const char* kept : {"README", "orders@7.0123456789abcdef", "orders@8.0123456789abcdef",
                           "orders@9.0123456789abcdef", "orders@x.0123456789abcdef"}) {
    EXPECT_NE(std::find(left.begin(), left.end(), kept), left.end()) << kept << " was removed";
  }
  for (const char* gone : {"orders@1.0123456789abcdef", "orders@2.0123456789abcdef",
                           "orders@3.0123456789abcdef", "orders@4.0123456789abcdef",
                           "orders@5.0123456789abcdef", "orders@6.0123456789abcdef"}) {
    EXPECT_EQ(std::find(left.begin(), left.end(), gone), left.end()) << gone << " is still there";
  }
  EXPECT_TRUE(exists("/etc/passwd"));
}

TEST(ServiceRegistry, RemoveDeadRemovesMalformedUnlockedEntries) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  spit(dir / "reg/orders@1.0123456789abcdef", "garbage");
  spit(dir / "reg/README", "foreign");
  EXPECT_EQ(reg.remove_dead().value(), 1u);
  EXPECT_EQ(list_dir(dir / "reg"), Names{"README"});
}

TEST(ServiceRegistry, OnlyStaleUnlockedTmpFilesAreSweptAway) {
  ScopedDir dir;
  auto reg = open_registry(dir / "reg");
  const std::string d = dir / "reg";
  const std::string fresh = ".orders@1.0123456789abcdef.tmp";  // a writer at work
  const std::string stale = ".orders@2.0123456789abcdef.tmp";  // a writer that died
  const std::string held = ".orders@3.0123456789abcdef.tmp";   // old, but locked
  for (const auto& n : {fresh, stale, held}) spit(d + "/" + n, "ringdrop-service 1\n");
  const timespec old[2] = {{::time(nullptr) - 120, 0}, {::time(nullptr) - 120, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (d + "/" + stale).c_str(), old, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (d + "/" + held).c_str(), old, 0), 0);
  const int fd = ::open((d + "/" + held).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(detail::try_lock_byte(fd, 0), 0);

  EXPECT_EQ(reg.remove_dead().value(), 0u) << ".tmp files are not counted as entries";
  EXPECT_EQ(list_dir(d), (Names{fresh, held}));
  EXPECT_TRUE(list_or_throw(reg).empty()) << ".tmp files are never listed";
  ::close(fd);
}

// --- the directory -----------------------------------------------------------------------

TEST(ServiceRegistry, AMissingDirectoryIsCreatedWithTheModeGiven) {
  ScopedDir dir;
  const mode_t old_umask = ::umask(022);
  auto reg = ServiceRegistry::open(dir / "private");
  auto shared = ServiceRegistry::open(dir / "shared", 0770);
  ::umask(old_umask);
  ASSERT_TRUE(reg) << last_error_detail();
  ASSERT_TRUE(shared) << last_error_detail();
  struct stat st {};
  ASSERT_EQ(::stat((dir / "private").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((dir / "shared").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0770u) << "the umask is not applied";
  EXPECT_EQ(reg->directory(), dir / "private");

  auto me = register_or_throw(*shared, "orders", Location::shm("o"));
  ASSERT_EQ(::stat(me.file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u) << "entries: the directory's mode without x";

  auto again = ServiceRegistry::open(dir / "private");
  EXPECT_TRUE(again) << "an existing directory opens";
}

TEST(ServiceRegistry, AMissingParentIsNotFoundAndAFileIsNoDirectory) {
  ScopedDir dir;
  EXPECT_EQ(ServiceRegistry::open(dir / "no/such/dir").error(), errc::not_found);
  spit(dir / "file", "x");
  EXPECT_EQ(ServiceRegistry::open(dir / "file").error(), errc::invalid_argument);
  ASSERT_EQ(::symlink((dir / "elsewhere").c_str(), (dir / "link").c_str()), 0);
  ASSERT_EQ(::mkdir((dir / "elsewhere").c_str(), 0700), 0);
  EXPECT_EQ(ServiceRegistry::open(dir / "link").error(), errc::invalid_argument) << "a symlink";
}

TEST(ServiceRegistry, DirectoriesThisUserMayNotUseArePermissionDenied) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
  ScopedDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // nobody may reach what is inside
  auto closed = open_registry(dir / "closed", 0700);  // root's, 0700
  auto readable = open_registry(dir / "readable", 0755);  // root's, not writable by others
  auto root_reg = register_or_throw(readable, "orders", Location::shm("o"));
  const std::string base = dir.path();
  const int code = test::in_child([&base] {
    if (!become_nobody()) return 3;
    if (ServiceRegistry::open(base + "/closed").error() != errc::permission_denied) return 1;
    if (ServiceRegistry::open(base + "/missing").error() != errc::permission_denied) return 2;
    auto r = ServiceRegistry::open(base + "/readable");
    if (!r) return 4;  // root's directory, readable: clients may look up
    auto e = r->find("orders");
    if (!e || !e->alive) return 5;
    auto me = r->register_service("mine", Location::shm("m"));
    if (me || me.error() != errc::permission_denied) return 6;
    if (last_error_detail().find("readable") == std::string::npos) return 7;
    return 0;
  });
  EXPECT_EQ(code, 0) << "1: a 0700 directory of root's, 2: creating in a directory of root's, "
                        "4/5: reading a readable registry, 6/7: registering in it";
  EXPECT_FALSE(exists(dir / "missing"));
}

TEST(ServiceRegistry, ADirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  ScopedDir dir;
  ASSERT_EQ(::mkdir((dir / "planted").c_str(), 0777), 0);
  ASSERT_EQ(::chown((dir / "planted").c_str(), 65534, 65534), 0);
  auto r = ServiceRegistry::open(dir / "planted");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::permission_denied);
  EXPECT_NE(last_error_detail().find("65534"), std::string::npos) << last_error_detail();
}

TEST(ServiceRegistry, TheDefaultDirectoryIsPerUserOrFromTheEnvironment) {
  const char* saved = std::getenv("RINGDROP_SERVICE_DIR");
  const std::string keep = saved ? saved : "";
  ::unsetenv("RINGDROP_SERVICE_DIR");
  EXPECT_EQ(ServiceRegistry::default_directory(),
            "/dev/shm/ringdrop-services-" + std::to_string(::geteuid()));
  ::setenv("RINGDROP_SERVICE_DIR", "", 1);
  EXPECT_EQ(ServiceRegistry::default_directory(),
            "/dev/shm/ringdrop-services-" + std::to_string(::geteuid()))
      << "empty counts as unset";
  ::setenv("RINGDROP_SERVICE_DIR", "/run/my-services", 1);
  EXPECT_EQ(ServiceRegistry::default_directory(), "/run/my-services");
  if (saved) {
    ::setenv("RINGDROP_SERVICE_DIR", keep.c_str(), 1);
  } else {
    ::unsetenv("RINGDROP_SERVICE_DIR");
  }
}

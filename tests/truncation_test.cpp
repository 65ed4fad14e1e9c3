// A segment truncated under live handles (issue 14, finding 3): another
// process's `truncate -s 0` on the segment's file must not kill the
// processes using it with SIGBUS; their ring calls report corrupted, and
// closing works. A SIGBUS outside ringdrop's mappings still kills.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "ringdrop/ringdrop.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::ScopedName;

namespace {

std::string shm_path(const ScopedName& n) { return "/dev/shm/" + n.name(); }

// What another process does: cut the file to nothing.
void truncate_file(const std::string& path) { ASSERT_EQ(::truncate(path.c_str(), 0), 0) << path; }

template <class Producer, class Consumer>
void expect_corrupted_after_truncation(Producer& tx, Consumer& rx, const std::string& path) {
  ASSERT_FALSE(tx.send(bytes_of("before"), 1s));
  ASSERT_TRUE(rx.receive(1s));
  ASSERT_FALSE(tx.send(bytes_of("waiting"), 1s));
  truncate_file(path);
  auto got = rx.receive(100ms);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), errc::corrupted);
  EXPECT_NE(last_error_detail().find("truncated by another process"), std::string::npos) << last_error_detail();
  EXPECT_EQ(tx.send(bytes_of("after"), 100ms), errc::corrupted);
  EXPECT_TRUE(rx.segment().damaged());
  EXPECT_TRUE(tx.segment().damaged());
}

}  // namespace

TEST(Truncation, SpscCallsReportCorruptedInsteadOfDying) {
  ScopedName n;
  auto tx = SpscProducer::open(n.location(), OpenMode::create).value();
  auto rx = SpscConsumer::open(n.location(), OpenMode::open).value();
  expect_corrupted_after_truncation(tx, rx, shm_path(n));
}

TEST(Truncation, MpmcCallsReportCorruptedInsteadOfDying) {
  ScopedName n;
  auto tx = MpmcProducer::open(n.location(), OpenMode::create).value();
  auto rx = MpmcConsumer::open(n.location(), OpenMode::open).value();
  expect_corrupted_after_truncation(tx, rx, shm_path(n));
}

TEST(Truncation, BroadcastCallsReportCorruptedInsteadOfDying) {
  ScopedName n;
  auto tx = BroadcastPublisher::open(n.location(), OpenMode::create).value();
  auto rx = BroadcastSubscriber::open(n.location(), OpenMode::open).value();
  expect_corrupted_after_truncation(tx, rx, shm_path(n));
}

TEST(Truncation, AFileBackedRingTruncatedIsCorruptedToo) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("ringdrop-trunc-" + std::to_string(::getpid()) + ".ring");
  const auto where = Location::file(path);
  {
    auto tx = SpscProducer::open(where, OpenMode::create).value();
    auto rx = SpscConsumer::open(where, OpenMode::open).value();
    expect_corrupted_after_truncation(tx, rx, path.string());
  }
  std::filesystem::remove(path);
}

// Across processes, as found: a consumer blocked in read() in another
// process survives the truncation and reports corrupted.
TEST(Truncation, AConsumerInAnotherProcessSurvives) {
  ScopedName n;
  auto tx = SpscProducer::open(n.location(), OpenMode::create).value();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto rx = SpscConsumer::open(n.location(), OpenMode::open);
    if (!rx) ::_exit(10);
    if (!rx->receive(5s)) ::_exit(11);  // "first": proves the mapping is touched
    (void)!::write(ready[1], "r", 1);
    auto got = rx->receive(30s);  // touches the truncated pages
    ::_exit(!got && got.error() == errc::corrupted ? 0 : 12);
  }
  ASSERT_FALSE(tx.send(bytes_of("first"), 1s));
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  truncate_file(shm_path(n));
  EXPECT_EQ(tx.send(bytes_of("wakes it"), 1s), errc::corrupted);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

// The handler only takes ringdrop's own mappings: a SIGBUS anywhere else
// still ends the process as it would without ringdrop.
TEST(Truncation, ASigbusOutsideRingdropStillKills) {
  ScopedName n;
  auto tx = SpscProducer::open(n.location(), OpenMode::create).value();  // the handler is installed
  const auto path = std::filesystem::temp_directory_path() /
                    ("ringdrop-notours-" + std::to_string(::getpid()));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ::ftruncate(fd, 4096) != 0) ::_exit(10);
    auto* p = static_cast<volatile char*>(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED || ::ftruncate(fd, 0) != 0) ::_exit(11);
    p[0] = 1;  // SIGBUS: not a ringdrop mapping
    ::_exit(12);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  std::filesystem::remove(path);
#if defined(RINGDROP_ASAN) || defined(RINGDROP_TSAN)
  // The sanitizer's own handler, chained to, reports the fault and ends the
  // process its way (ASan aborts, TSan exits 66): not swallowed either way.
  EXPECT_FALSE(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 12));
#else
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGBUS);
#endif
}

// The bridge's dedupe table (tools/bridge/dedupe_table.hpp): what it
// remembers and for how long, that it outlives a close and a kill -9, that
// it is bounded, and what it refuses to open. Time is passed in, so nothing
// here sleeps or depends on timing.
#include "dedupe_table.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "drop_support.hpp"

namespace ringdrop::bridge {
namespace {

using std::chrono::seconds;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSecond;  // some CLOCK_REALTIME

using TempDir = ringdrop::test::ScopedDir;  // tests/drop_support.hpp

std::string id(const char* prefix, int i) { return prefix + std::to_string(i); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

DedupeOptions small(seconds window = seconds(600)) { return {window, DedupeTable::kMinCapacity}; }
/// Room for 1000 ids at a quarter full (a table is sized at twice its ids,
/// or more: in a full one, runs of neighbours fill and evict).
const DedupeOptions kRoomy{seconds(600), 4096};

TEST(DedupeTable, NotSeenBeforeRecordSeenAfter) {
  TempDir dir;
  auto table = DedupeTable::open(dir / "dedupe", small());
  ASSERT_TRUE(table) << table.error().message() << ": " << last_error_detail();
  EXPECT_FALSE(table->seen("order-1", kT0));
  table->record("order-1", kT0);
  EXPECT_TRUE(table->seen("order-1", kT0));
  EXPECT_TRUE(table->seen("order-1", kT0 + kSecond));
  EXPECT_FALSE(table->seen("order-2", kT0));
  EXPECT_FALSE(table->seen("order-", kT0));
  EXPECT_FALSE(table->seen("", kT0));
  const DedupeTable::Stats st = table->stats(kT0);
  EXPECT_EQ(st.live, 1u);
  EXPECT_EQ(st.evicted, 0u);
}

// prepare() only makes pages writable: it records nothing and forgets
// nothing, whatever the slots held.
TEST(DedupeTable, PrepareChangesNothingTheTableSays) {
  TempDir dir;
  auto table = DedupeTable::open(dir / "dedupe", kRoomy);
  ASSERT_TRUE(table) << last_error_detail();
  for (int i = 0; i < 500; ++i) table->record("id-" + std::to_string(i), kT0);
  for (int i = 0; i < 1000; ++i) table->prepare("id-" + std::to_string(i));  // half recorded, half not
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(table->seen("id-" + std::to_string(i), kT0 + kSecond), i < 500) << i;
  }
  EXPECT_EQ(table->stats(kT0).live, 500u);
  table->prepare("id-700");
  table->record("id-700", kT0);
  EXPECT_TRUE(table->seen("id-700", kT0));
}

TEST(DedupeTable, ForgetsAnIdAfterTheWindow) {
  TempDir dir;
  auto table = DedupeTable::open(dir / "dedupe", small(seconds(60)));
  ASSERT_TRUE(table);
  table->record("a", kT0);
  EXPECT_TRUE(table->seen("a", kT0 + 60 * kSecond - 1));
  EXPECT_FALSE(table->seen("a", kT0 + 60 * kSecond));
  EXPECT_EQ(table->stats(kT0 + 60 * kSecond).live, 0u);
  // An expired slot is free again; the id is remembered anew.
  table->record("a", kT0 + 100 * kSecond);
  EXPECT_TRUE(table->seen("a", kT0 + 150 * kSecond));
  EXPECT_EQ(table->stats(kT0 + 100 * kSecond).live, 1u);
}

TEST(DedupeTable, RecordingAgainRefreshesTheTime) {
  TempDir dir;
  auto table = DedupeTable::open(dir / "dedupe", small(seconds(60)));
  ASSERT_TRUE(table);
  table->record("a", kT0);
  table->record("a", kT0 + 50 * kSecond);
  EXPECT_TRUE(table->seen("a", kT0 + 100 * kSecond));
  EXPECT_FALSE(table->seen("a", kT0 + 110 * kSecond));
  EXPECT_EQ(table->stats(kT0 + 50 * kSecond).live, 1u);  // one entry, not two
}

TEST(DedupeTable, SurvivesCloseAndReopen) {
  TempDir dir;
  {
    auto table = DedupeTable::open(dir / "dedupe", kRoomy);
    ASSERT_TRUE(table);
    for (int i = 0; i < 1000; ++i) table->record(id("msg-", i), kT0 + i);
  }
  auto table = DedupeTable::open(dir / "dedupe", kRoomy);
  ASSERT_TRUE(table) << last_error_detail();
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(table->seen(id("msg-", i), kT0 + 1000)) << i;
  for (int i = 1000; i < 2000; ++i) EXPECT_FALSE(table->seen(id("msg-", i), kT0 + 1000)) << i;
  EXPECT_EQ(table->stats(kT0 + 1000).live, 1000u);
  EXPECT_EQ(table->stats(kT0 + 1000).evicted, 0u);
  // Created whole under a temporary name: only the table is left.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  struct stat st{};
  ASSERT_EQ(::stat((dir / "dedupe").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 64u + 4096u * 16u);
}

TEST(DedupeTable, SecondOpenIsRoleTaken) {
  TempDir dir;
  auto first = DedupeTable::open(dir / "dedupe", kRoomy);
  ASSERT_TRUE(first);
  auto second = DedupeTable::open(dir / "dedupe", kRoomy);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), errc::role_taken);
  EXPECT_NE(last_error_detail().find("another bridge uses " + (dir / "dedupe")), std::string::npos)
      << last_error_detail();
  // Moving the table moves the lock with it; destroying it releases it.
  DedupeTable moved = std::move(*first);
  EXPECT_FALSE(DedupeTable::open(dir / "dedupe", kRoomy));
  { DedupeTable gone = std::move(moved); }
  EXPECT_TRUE(DedupeTable::open(dir / "dedupe", kRoomy));
}

TEST(DedupeTable, SurvivesKill9OfItsProcess) {
  TempDir dir;
  const std::string path = dir / "dedupe";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    auto table = DedupeTable::open(path, kRoomy);
    if (!table) ::_exit(1);
    for (int i = 0; i < 1000; ++i) table->record(id("msg-", i), kT0 + i);
    const char done = 'r';
    if (::write(ready[1], &done, 1) != 1) ::_exit(2);
    for (;;) ::pause();  // holding the table open, and its lock, until killed
  }
  ::close(ready[1]);
  char done = 0;
  ASSERT_EQ(::read(ready[0], &done, 1), 1) << "the child could not open the table or record";
  ::close(ready[0]);
  // While it lives, the table is its.
  auto taken = DedupeTable::open(path, kRoomy);
  EXPECT_EQ(taken.error(), errc::role_taken);

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  auto table = DedupeTable::open(path, kRoomy);
  ASSERT_TRUE(table) << table.error().message() << ": " << last_error_detail();
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(table->seen(id("msg-", i), kT0 + 1000)) << i;
  EXPECT_FALSE(table->seen(id("msg-", 1000), kT0 + 1000));
  EXPECT_EQ(table->stats(kT0 + 1000).live, 1000u);
  EXPECT_EQ(table->stats(kT0 + 1000).evicted, 0u);
}

TEST(DedupeTable, ForeignFileIsRefusedAndLeftAlone) {
  TempDir dir;
  const std::string path = dir / "not-a-table";
  std::mt19937_64 rng(42);
  std::string bytes(64 + 1024 * 16, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  write_file(path, bytes);
  auto table = DedupeTable::open(path, small());
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error(), errc::foreign_segment);
  EXPECT_NE(last_error_detail().find(path + " is not a ringdrop dedupe table"), std::string::npos)
      << last_error_detail();
  EXPECT_EQ(read_file(path), bytes);

  write_file(path, "");  // empty: not a table either, and not made one
  EXPECT_EQ(DedupeTable::open(path, small()).error(), errc::foreign_segment);
  EXPECT_EQ(read_file(path), "");
}

TEST(DedupeTable, TruncatedFileIsCorrupted) {
  TempDir dir;
  const std::string path = dir / "dedupe";
  ASSERT_TRUE(DedupeTable::open(path, small()));
  ASSERT_EQ(::truncate(path.c_str(), 64 + 512 * 16), 0);
  auto table = DedupeTable::open(path, small());
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error(), errc::corrupted);
  EXPECT_NE(last_error_detail().find("truncated or damaged"), std::string::npos) << last_error_detail();
  ASSERT_EQ(::truncate(path.c_str(), 40), 0);  // into the header
  EXPECT_EQ(DedupeTable::open(path, small()).error(), errc::corrupted);
}

TEST(DedupeTable, OtherLayoutVersionIsIncompatible) {
  TempDir dir;
  const std::string path = dir / "dedupe";
  ASSERT_TRUE(DedupeTable::open(path, small()));
  std::string bytes = read_file(path);
  bytes[offsetof(DedupeFileHeader, version)] = 2;
  write_file(path, bytes);
  auto table = DedupeTable::open(path, small());
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error(), errc::incompatible_layout);
  EXPECT_NE(last_error_detail().find("layout version 2"), std::string::npos) << last_error_detail();
}

TEST(DedupeTable, SymlinkIsUnsafe) {
  TempDir dir;
  ASSERT_TRUE(DedupeTable::open(dir / "real", small()));
  ASSERT_EQ(::symlink((dir / "real").c_str(), (dir / "link").c_str()), 0);
  auto table = DedupeTable::open(dir / "link", small());
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error(), errc::unsafe_file);
  EXPECT_NE(last_error_detail().find("symbolic link"), std::string::npos) << last_error_detail();
  // A dangling one is refused too, and nothing is created where it points.
  ASSERT_EQ(::symlink((dir / "elsewhere").c_str(), (dir / "dangling").c_str()), 0);
  EXPECT_EQ(DedupeTable::open(dir / "dangling", small()).error(), errc::unsafe_file);
  EXPECT_FALSE(std::filesystem::exists(dir / "elsewhere"));
  // So is a directory.
  EXPECT_EQ(DedupeTable::open(dir.path(), small()).error(), errc::unsafe_file);
}

TEST(DedupeTable, IsBoundedAndForgetsTheOldestFirst) {
  TempDir dir;
  auto table = DedupeTable::open(dir / "dedupe", small());
  ASSERT_TRUE(table);
  const int n = 4 * static_cast<int>(table->capacity());
  for (int i = 0; i < n; ++i) table->record(id("msg-", i), kT0 + i);  // all within the window
  const DedupeTable::Stats st = table->stats(kT0 + n);
  EXPECT_GT(st.evicted, 0u);
  EXPECT_LE(st.live, table->capacity());
  EXPECT_EQ(st.live + st.evicted, static_cast<uint64_t>(n));  // every id went somewhere
  for (int i = n - 100; i < n; ++i) EXPECT_TRUE(table->seen(id("msg-", i), kT0 + n)) << i;
  int oldest_seen = 0;
  for (int i = 0; i < 100; ++i) oldest_seen += table->seen(id("msg-", i), kT0 + n) ? 1 : 0;
  EXPECT_EQ(oldest_seen, 0);
  // The count of evictions is kept in the file.
  table = DedupeTable::open(dir / "other", small());  // releases the first
  auto again = DedupeTable::open(dir / "dedupe", small());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stats(kT0 + n).evicted, st.evicted);
}

TEST(DedupeTable, DifferentIdsAreNotConfused) {
  TempDir dir;
  auto table = DedupeTable::open(dir / "dedupe", {seconds(600), 1u << 18});
  ASSERT_TRUE(table);
  for (int i = 0; i < 100'000; ++i) table->record(id("msg-", i), kT0);
  int recorded_seen = 0;
  int others_seen = 0;
  for (int i = 0; i < 100'000; ++i) {
    recorded_seen += table->seen(id("msg-", i), kT0) ? 1 : 0;
    others_seen += table->seen(id("other-", i), kT0) ? 1 : 0;
  }
  EXPECT_EQ(recorded_seen, 100'000);
  EXPECT_EQ(others_seen, 0);
  EXPECT_EQ(table->stats(kT0).evicted, 0u);
}

TEST(DedupeTable, OptionsAreCheckedAndRounded) {
  TempDir dir;
  auto rounded = DedupeTable::open(dir / "a", {seconds(600), 3000});
  ASSERT_TRUE(rounded);
  EXPECT_EQ(rounded->capacity(), 4096u);
  auto least = DedupeTable::open(dir / "b", {seconds(600), 0});
  ASSERT_TRUE(least);
  EXPECT_EQ(least->capacity(), DedupeTable::kMinCapacity);

  EXPECT_EQ(DedupeTable::open(dir / "c", {seconds(600), DedupeTable::kMaxCapacity + 1}).error(),
            errc::invalid_argument);
  EXPECT_EQ(DedupeTable::open(dir / "c", {seconds(0), 1024}).error(), errc::invalid_argument);
  EXPECT_EQ(DedupeTable::open(dir / "c", {seconds(-5), 1024}).error(), errc::invalid_argument);
  EXPECT_EQ(DedupeTable::open("", small()).error(), errc::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir / "c"));
}

TEST(DedupeTable, ReopenKeepsTheCapacityAndTakesTheNewWindow) {
  TempDir dir;
  {
    auto table = DedupeTable::open(dir / "dedupe", {seconds(600), 1024});
    ASSERT_TRUE(table);
    table->record("a", kT0);
  }
  auto table = DedupeTable::open(dir / "dedupe", {seconds(10), 1u << 16});
  ASSERT_TRUE(table);
  EXPECT_EQ(table->capacity(), 1024u);
  EXPECT_EQ(table->window(), seconds(10));
  EXPECT_TRUE(table->seen("a", kT0 + 9 * kSecond));
  EXPECT_FALSE(table->seen("a", kT0 + 10 * kSecond));
}

// The keys are in the file: a change of hash would make every table on
// disk forget its ids. These pin it (FNV-1a 64, then murmur3's fmix64).
TEST(DedupeTable, KeysAreStable) {
  EXPECT_EQ(dedupe_key(""), 0xefd01f60ba992926u);
  EXPECT_EQ(dedupe_key("a"), 0x82a2a958a9bece5bu);
  EXPECT_EQ(dedupe_key("order-42"), 0x8e47543c313c6386u);
  EXPECT_EQ(dedupe_key(std::string_view("a\0", 2)), 0x86fc2d0407502de5u);  // every byte counts
}

}  // namespace
}  // namespace ringdrop::bridge

// Segments: naming, creation semantics, permissions, and refusing segments
// that are foreign, of another version or kind, truncated or garbage.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "ringdrop/ringdrop.hpp"
#include "segment/segment_layout.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using ringdrop::test::ScopedName;

namespace {

SegmentSpec spsc(uint64_t capacity = 0) {
  SegmentSpec s;
  s.kind = RingKind::spsc;
  s.capacity = capacity;
  s.init_timeout = std::chrono::milliseconds(20);
  return s;
}

mode_t shm_mode(const std::string& name) {
  struct stat st {};
  EXPECT_EQ(::stat(("/dev/shm/" + name).c_str(), &st), 0);
  return st.st_mode & 0777;
}

// A raw shm object of `size` bytes holding `fill` (no ringdrop involved).
void make_raw_shm(const std::string& name, size_t size, unsigned char fill) {
  const int fd = ::shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  std::vector<unsigned char> bytes(size, fill);
  ASSERT_EQ(::write(fd, bytes.data(), size), static_cast<ssize_t>(size));
  ::close(fd);
}

}  // namespace

TEST(Segment, CreateOpenRemove) {
  ScopedName n;
  auto created = Segment::open(n.location(), OpenMode::create, spsc(8192));
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_TRUE(created->created());
  const SegmentInfo info = created->info();
  EXPECT_EQ(info.kind, RingKind::spsc);
  EXPECT_EQ(info.capacity, 8192u);
  EXPECT_EQ(info.layout_version, detail::kLayoutVersion);
  EXPECT_EQ(info.creator_pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(created->data()) % 4096, 0u);

  auto opened = Segment::open(n.location(), OpenMode::open, spsc());
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->created());
  EXPECT_EQ(opened->info().capacity, 8192u);

  EXPECT_FALSE(Segment::remove(n.location()));
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open, spsc()).error(), errc::not_found);
  EXPECT_EQ(Segment::remove(n.location()), errc::not_found);
}

TEST(Segment, CreateRefusesAnExistingName) {
  ScopedName n;
  ASSERT_TRUE(Segment::open(n.location(), OpenMode::create, spsc()));
  EXPECT_EQ(Segment::open(n.location(), OpenMode::create, spsc()).error(), errc::already_exists);
}

TEST(Segment, OpenOrCreateCreatesOnceThenOpens) {
  ScopedName n;
  auto first = Segment::open(n.location(), OpenMode::open_or_create, spsc());
  auto second = Segment::open(n.location(), OpenMode::open_or_create, spsc());
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->created());
  EXPECT_FALSE(second->created());
  EXPECT_EQ(first->info().capacity, kDefaultCapacity);
}

TEST(Segment, RejectsBadNamesAndCapacities) {
  for (const char* bad : {"", "a/b", "..", "/"}) {
    EXPECT_EQ(Segment::open(Location::shm(bad), OpenMode::create, spsc()).error(),
              errc::invalid_argument)
        << "'" << bad << "'";
  }
  ScopedName n;
  for (uint64_t cap : {uint64_t{1000}, uint64_t{2048}, uint64_t{6000}}) {
    EXPECT_EQ(Segment::open(n.location(), OpenMode::create, spsc(cap)).error(),
              errc::invalid_argument);
  }
}

TEST(Segment, DefaultModeIs0600AndUmaskDoesNotApply) {
  ScopedName a, b;
  const mode_t old = ::umask(077);
  ASSERT_TRUE(Segment::open(a.location(), OpenMode::create, spsc()));
  SegmentSpec wide = spsc();
  wide.mode = 0660;
  ASSERT_TRUE(Segment::open(b.location(), OpenMode::create, wide));
  ::umask(old);
  EXPECT_EQ(shm_mode(a.name()), 0600u);
  EXPECT_EQ(shm_mode(b.name()), 0660u);
}

TEST(Segment, ModesWithMoreThanPermissionBitsAreRefusedAndNothingIsCreated) {
  for (mode_t mode : {mode_t{04777}, mode_t{02700}, mode_t{01600}, mode_t{0100600}}) {
    ScopedName n;
    SegmentSpec s = spsc();
    s.mode = mode;
    auto seg = Segment::open(n.location(), OpenMode::create, s);
    ASSERT_FALSE(seg) << std::oct << mode;
    EXPECT_EQ(seg.error(), errc::invalid_argument);
    EXPECT_NE(last_error_detail().find("only permission bits"), std::string::npos) << last_error_detail();
    EXPECT_EQ(Segment::open(n.location(), OpenMode::open, spsc()).error(), errc::not_found);
  }
}

TEST(Segment, OpeningWithoutPermissionIsPermissionDenied) {
  ScopedName n;
  ASSERT_TRUE(Segment::open(n.location(), OpenMode::create, spsc()));
  // Root bypasses file modes, so as root the check runs in a child that
  // became 'nobody'; otherwise, against a segment with mode 0.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    } else if (::chmod(("/dev/shm/" + n.name()).c_str(), 0) != 0) {
      ::_exit(3);
    }
    auto r = Segment::open(n.location(), OpenMode::open, spsc());
    ::_exit(!r && r.error() == errc::permission_denied ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Segment, WrongKindIsNamed) {
  ScopedName n;
  ASSERT_TRUE(Segment::open(n.location(), OpenMode::create, spsc()));
  SegmentSpec mpmc = spsc();
  mpmc.kind = RingKind::mpmc;
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open, mpmc).error(), errc::wrong_kind);
  EXPECT_NE(last_error_detail().find("spsc"), std::string::npos) << last_error_detail();
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open_or_create, mpmc).error(), errc::wrong_kind);
}

TEST(Segment, InspectOpensAnyKindAndSaysWhich) {
  for (RingKind kind : {RingKind::spsc, RingKind::mpmc, RingKind::broadcast}) {
    SCOPED_TRACE(to_string(kind));
    ScopedName n;
    SegmentSpec spec = spsc(8192);
    spec.kind = kind;
    ASSERT_TRUE(Segment::open(n.location(), OpenMode::create, spec));
    auto seen = Segment::inspect(n.location());
    ASSERT_TRUE(seen) << last_error_detail();
    EXPECT_EQ(seen->info().kind, kind);
    EXPECT_EQ(seen->info().capacity, 8192u);
    EXPECT_EQ(seen->info().creator_pid, static_cast<uint32_t>(::getpid()));
  }
}

TEST(Segment, InspectRefusesWhatIsNoSegmentWithoutWaiting) {
  ScopedName missing, foreign, empty;
  EXPECT_EQ(Segment::inspect(missing.location()).error(), errc::not_found);
  make_raw_shm(foreign.name(), 8192, 0xab);
  EXPECT_EQ(Segment::inspect(foreign.location()).error(), errc::foreign_segment);
  // Never initialised (no magic yet): refused at once, not after init_timeout.
  make_raw_shm(empty.name(), 8192, 0);
  EXPECT_EQ(Segment::inspect(empty.location()).error(), errc::corrupted);
  EXPECT_NE(last_error_detail().find("never initialised"), std::string::npos) << last_error_detail();
}

TEST(Segment, CapacityMismatchIsNamed) {
  ScopedName n;
  ASSERT_TRUE(Segment::open(n.location(), OpenMode::create, spsc(8192)));
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open, spsc(16384)).error(),
            errc::capacity_mismatch);
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open_or_create, spsc(16384)).error(),
            errc::capacity_mismatch);
  EXPECT_NE(last_error_detail().find("8192"), std::string::npos) << last_error_detail();
}

TEST(Segment, OtherLayoutVersionIsIncompatible) {
  ScopedName n;
  auto seg = Segment::open(n.location(), OpenMode::create, spsc());
  ASSERT_TRUE(seg);
  reinterpret_cast<detail::SegmentHeader*>(seg->base())->layout_version = 7;
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open, spsc()).error(),
            errc::incompatible_layout);
  EXPECT_NE(last_error_detail().find("7"), std::string::npos) << last_error_detail();
}

TEST(Segment, DamagedHeaderIsCorrupted) {
  ScopedName n;
  auto seg = Segment::open(n.location(), OpenMode::create, spsc());
  ASSERT_TRUE(seg);
  reinterpret_cast<detail::SegmentHeader*>(seg->base())->capacity ^= 0x10000;  // one bit
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open, spsc()).error(), errc::corrupted);
}

TEST(Segment, TruncatedSegmentIsCorrupted) {
  ScopedName n;
  ASSERT_TRUE(Segment::open(n.location(), OpenMode::create, spsc(8192)));
  ASSERT_EQ(::truncate(("/dev/shm/" + n.name()).c_str(), 4096 + 4096 / 2), 0);
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open, spsc()).error(), errc::corrupted);
  EXPECT_NE(last_error_detail().find("truncated"), std::string::npos) << last_error_detail();
}

TEST(Segment, ForeignObjectIsRefused) {
  ScopedName n;
  make_raw_shm(n.name(), 16384, 0xA5);
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open, spsc()).error(), errc::foreign_segment);
  EXPECT_EQ(Segment::open(n.location(), OpenMode::open_or_create, spsc()).error(),
            errc::foreign_segment);
}

TEST(Segment, AnObjectSmallerThanAHeaderIsForeign) {
  ScopedName small;
  make_raw_shm(small.name(), 40, 0);
  EXPECT_EQ(Segment::open(small.location(), OpenMode::open, spsc()).error(), errc::foreign_segment);
  EXPECT_EQ(Segment::inspect(small.location()).error(), errc::foreign_segment);
  EXPECT_NE(last_error_detail().find("too small"), std::string::npos) << last_error_detail();
}

TEST(Segment, NeverInitialisedOrEmptyIsCorrupted) {
  ScopedName zeros, empty;
  make_raw_shm(zeros.name(), 16384, 0);
  make_raw_shm(empty.name(), 0, 0);
  EXPECT_EQ(Segment::open(zeros.location(), OpenMode::open, spsc()).error(), errc::corrupted);
  EXPECT_EQ(Segment::open(empty.location(), OpenMode::open, spsc()).error(), errc::corrupted);
}

TEST(Segment, FileBackedSegmentInMissingDirectoryIsNotFound) {
  const auto where = Location::file("/nonexistent-ringdrop-dir/x.ring");
  EXPECT_EQ(Segment::open(where, OpenMode::create, spsc()).error(), errc::not_found);
  EXPECT_EQ(Segment::open(where, OpenMode::open, spsc()).error(), errc::not_found);
}

TEST(Segment, FileBackedSegmentKeepsItsHeader) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ringdrop-seg-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto where = Location::file(dir / "a.ring");
  {
    auto seg = Segment::open(where, OpenMode::create, spsc(8192));
    ASSERT_TRUE(seg) << last_error_detail();
  }
  auto again = Segment::open(where, OpenMode::open, spsc());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->info().capacity, 8192u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "a.ring").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(Segment::remove(where));
  std::filesystem::remove_all(dir);
}

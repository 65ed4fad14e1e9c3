// The file-drop channel where it meets a hostile or broken environment:
// idempotency keys on case-insensitive file systems, orphaned markers,
// symlinks inside refused directories, files and directories a consumer may
// not read, what publish_file gives back when it refuses, writers that died
// in tmp/, the maintenance sweep racing publish_file, and options out of
// range. Each test fails on a behaviour that was once there.
//
// Waiting is done by the library (claim(timeout) waits inside it); the
// deadlines here are generous bounds so a bug fails instead of hanging.
// "Old" files are made with retention options of zero, as the library ages
// tmp/ files and markers by ctime, which a test cannot set back.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "drop_support.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using test::exists;
using test::fast_drop;
using test::open_channel;
using test::open_consumer;
using test::publish;
using test::header;
using test::expect_nothing_ready;
using test::list_dir;
using test::read_text;
using test::ScopedDir;
using test::slurp;
using test::spit;
using test::to_bytes;

namespace {

using Names = std::vector<std::string>;

// A key's file name as the library stores it hashed: "h-" and 32 hex digits.
bool is_hashed_name(const std::string& n) {
  if (n.size() != 34 || n.rfind("h-", 0) != 0) return false;
  return std::all_of(n.begin() + 2, n.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// In a forked child: become uid/gid 65534 with no supplementary groups.
bool become_nobody() {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
         ::setresuid(65534, 65534, 65534) == 0;
}

// A channel every user may work in: the test's directory is searchable by
// all, and the tree (dir_mode 0777) and its files (0666) are open to all.
DropOptions open_to_all(const ScopedDir& dir) {
  if (::chmod(dir.path().c_str(), 0755) != 0) throw std::runtime_error("chmod " + dir.path());
  auto o = fast_drop();
  o.dir_mode = 0777;
  return o;
}

struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t type = 0;
  nlink_t links = 0;
};

std::optional<Identity> identity(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return Identity{st.st_dev, st.st_ino, static_cast<mode_t>(st.st_mode & S_IFMT), st.st_nlink};
}

}  // namespace

// --- 1. idempotency keys and case-insensitive file systems -------------------

TEST(DropHardening, KeysDifferingOnlyInCaseAreDistinctAndHashedNamesCannotCollide) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  const std::string keys = dir.sub("state/keys");

  const std::string upper = publish(ch, "upper", {{"idempotency-key", "Order-1"}});
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), upper);
  ASSERT_FALSE(c->ack());

  const std::string lower = publish(ch, "lower", {{"idempotency-key", "order-1"}});
  c = rx.claim(30s);
  ASSERT_TRUE(c) << "\"order-1\" was taken for the processed \"Order-1\": " << c.error().message();
  EXPECT_EQ(c->id(), lower);
  EXPECT_EQ(read_text(*c), "lower");
  ASSERT_FALSE(c->ack());

  // On ext4 the two names would not collide anyway; on SMB or vfat they
  // would, unless the mixed-case key is hashed.
  const Names after_two = list_dir(keys);
  ASSERT_EQ(after_two.size(), 2u) << testing::PrintToString(after_two);
  EXPECT_EQ(std::count(after_two.begin(), after_two.end(), "order-1"), 1) << "a lower-case key is stored as itself";
  EXPECT_EQ(std::count(after_two.begin(), after_two.end(), "Order-1"), 0) << "a mixed-case key is never a file name";
  std::string hashed;
  for (const auto& n : after_two) {
    if (n != "order-1") hashed = n;
  }
  ASSERT_TRUE(is_hashed_name(hashed)) << "\"Order-1\" is stored as \"" << hashed << "\"";

  // A key that is literally the hashed name of another must not be mistaken
  // for it: keys starting with "h-" are hashed as well.
  const std::string literal = publish(ch, "literal", {{"idempotency-key", hashed}});
  c = rx.claim(30s);
  ASSERT_TRUE(c) << "the key \"" << hashed << "\" collided with the hash of \"Order-1\": " << c.error().message();
  EXPECT_EQ(c->id(), literal);
  ASSERT_FALSE(c->ack());
  const std::string short_h = publish(ch, "short", {{"idempotency-key", "h-abc"}});
  c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), short_h);
  ASSERT_FALSE(c->ack());

  const Names after_four = list_dir(keys);
  ASSERT_EQ(after_four.size(), 4u) << testing::PrintToString(after_four);
  EXPECT_EQ(std::count(after_four.begin(), after_four.end(), "h-abc"), 0)
      << "a key starting with \"h-\" is hashed, not stored as itself";
  EXPECT_EQ(std::count_if(after_four.begin(), after_four.end(), is_hashed_name), 3)
      << testing::PrintToString(after_four);
  EXPECT_EQ(rx.stats().duplicates_skipped, 0u);

  // And the keys still work: each of them, published again, is skipped.
  for (const std::string& key : {std::string("Order-1"), std::string("order-1"), hashed, std::string("h-abc")}) {
    publish(ch, "again", {{"idempotency-key", key}});
  }
  expect_nothing_ready(rx, "every key was processed already");
  EXPECT_EQ(rx.stats().duplicates_skipped, 4u);
  EXPECT_EQ(rx.stats().claimed, 4u);
}

// --- 2. orphaned markers --------------------------------------------------------

TEST(DropHardening, OrphanMarkerOlderThanSettleTimeIsRemovedSoALaterFileWaitsForItsOwn) {
  ScopedDir dir;
  auto o = fast_drop();
  o.ingest.completion = Completion::marker;
  o.ingest.settle_time = 1h;
  auto young = open_channel(dir, o);
  const std::string incoming = dir.sub("incoming");
  spit(incoming + "/x.csv.done", "");  // left by a consumer that died after taking x.csv
  {
    auto rx = open_consumer(young);
    ASSERT_FALSE(rx.scan());
    EXPECT_EQ(list_dir(incoming), Names{"x.csv.done"}) << "a marker younger than settle_time stays";
  }

  o.ingest.settle_time = 0ms;  // every orphan is old
  test::set_ingest_rule(dir.root(), o.ingest);  // the rule is the channel's: reopening with other options is not enough
  auto ch = open_channel(dir, o);
  auto rx = open_consumer(ch);
  ASSERT_FALSE(rx.scan());
  EXPECT_TRUE(list_dir(incoming).empty()) << "the orphan marker is removed: " << testing::PrintToString(list_dir(incoming));

  // The next x.csv is being written: without its own marker it is not taken.
  spit(incoming + "/x.csv", "half of the ");
  expect_nothing_ready(rx, "x.csv has no marker of its own");
  EXPECT_EQ(list_dir(incoming), Names{"x.csv"});
  EXPECT_EQ(rx.stats().ingested, 0u);
  EXPECT_TRUE(list_dir(dir.sub("new")).empty());

  spit(incoming + "/x.csv", "rows", /*append=*/true);
  spit(incoming + "/x.csv.done", "");
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(header(*c, "original-name"), "x.csv");
  EXPECT_EQ(read_text(*c), "half of the rows");
  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(list_dir(incoming).empty());
}

// --- 3. purging a refused directory ---------------------------------------------

TEST(DropHardening, PurgingARefusedDirectoryDoesNotFollowSymlinksInsideIt) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string outside = dir / "outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0700), 0);
  spit(outside + "/precious.txt", "keep me");
  ASSERT_EQ(::mkdir((outside + "/inner").c_str(), 0700), 0);
  spit(outside + "/inner/deep.txt", "keep me too");

  const std::string dropped = dir.sub("incoming/upload");
  ASSERT_EQ(::mkdir(dropped.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (dropped + "/to-outside").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/precious.txt").c_str(), (dropped + "/to-file").c_str()), 0);
  spit(dropped + "/top.txt", "top");
  ASSERT_EQ(::mkdir((dropped + "/nested").c_str(), 0700), 0);
  spit(dropped + "/nested/a.txt", "a");
  ASSERT_EQ(::mkdir((dropped + "/nested/deeper").c_str(), 0700), 0);
  spit(dropped + "/nested/deeper/b.txt", "b");
  ASSERT_EQ(::symlink(outside.c_str(), (dropped + "/nested/deeper/back-out").c_str()), 0);

  auto rx = open_consumer(ch);
  ASSERT_FALSE(rx.scan());
  EXPECT_EQ(rx.stats().refused, 1u);
  EXPECT_TRUE(list_dir(dir.sub("incoming")).empty());
  auto dead = ch.dead_letters();
  ASSERT_TRUE(dead) << dead.error().message();
  ASSERT_EQ(dead->size(), 1u);
  const std::string id = dead->front().id;
  EXPECT_TRUE(std::filesystem::is_directory(dead->front().path)) << dead->front().path;

  const auto ec = ch.purge(id);
  EXPECT_FALSE(ec) << ec.message() << " — " << last_error_detail();

  EXPECT_EQ(slurp(outside + "/precious.txt"), "keep me") << "the symlink's target directory was emptied";
  EXPECT_EQ(slurp(outside + "/inner/deep.txt"), "keep me too");
  EXPECT_EQ(list_dir(outside), (Names{"inner", "precious.txt"}));
  EXPECT_TRUE(list_dir(dir.sub("failed")).empty()) << testing::PrintToString(list_dir(dir.sub("failed")));
  EXPECT_FALSE(exists(dir.sub("state/meta/" + id)));
  auto left = ch.dead_letters();
  ASSERT_TRUE(left) << left.error().message();
  EXPECT_TRUE(left->empty());
  EXPECT_EQ(ch.purge(id), errc::not_found);
}

TEST(DropHardening, PurgeActsOnTheOpenedTreeNotOnAPathThroughASymlink) {
  // The channel's path is switched to another tree after it was opened (a
  // symlink flipped by a deployment, or by someone who may write beside the
  // channel): a purge still removes the opened tree's dead letter, and
  // nothing reached through the new path.
  ScopedDir dir;
  auto ch = open_channel(dir);
  ASSERT_EQ(::mkdir(dir.sub("incoming/upload").c_str(), 0700), 0);
  spit(dir.sub("incoming/upload/part"), "refused");
  auto rx = open_consumer(ch);
  ASSERT_FALSE(rx.scan());
  auto dead = ch.dead_letters();
  ASSERT_TRUE(dead) << dead.error().message();
  ASSERT_EQ(dead->size(), 1u);
  const std::string id = dead->front().id;
  const std::string name = dead->front().path.substr(dead->front().path.rfind('/') + 1);

  const std::string moved = dir / "channel-moved", decoy = dir / "decoy";
  ASSERT_EQ(::rename(dir.root().c_str(), moved.c_str()), 0);
  ASSERT_EQ(::mkdir(decoy.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((decoy + "/failed").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((decoy + "/failed/" + name).c_str(), 0700), 0);
  spit(decoy + "/failed/" + name + "/precious.txt", "not the channel's");
  ASSERT_EQ(::symlink(decoy.c_str(), dir.root().c_str()), 0);

  const auto ec = ch.purge(id);
  EXPECT_FALSE(ec) << ec.message() << " — " << last_error_detail();
  EXPECT_EQ(slurp(decoy + "/failed/" + name + "/precious.txt"), "not the channel's")
      << "the purge went through the path, into another tree";
  EXPECT_TRUE(list_dir(moved + "/failed").empty()) << testing::PrintToString(list_dir(moved + "/failed"));
}

// --- 4. a claimed file the consumer may not open ---------------------------------

TEST(DropHardening, AClaimedFileTheConsumerCannotOpenIsPutBackNotDeadLettered) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
  ScopedDir dir;
  const auto o = open_to_all(dir);
  auto ch = open_channel(dir, o);
  const std::string id = publish(ch, "root's eyes only");
  const Names ready = list_dir(dir.sub("new"));
  ASSERT_EQ(ready, Names{id + ".0"});
  ASSERT_EQ(::chmod(dir.sub("new/" + ready[0]).c_str(), 0600), 0);  // root's, unreadable to others

  const std::string root = dir.root();
  const int code = test::in_child([&root, o] {
    if (!become_nobody()) return 3;
    auto mine = DropChannel::open(root, o);
    if (!mine) {
      std::fprintf(stderr, "open as nobody: %s — %s\n", mine.error().message().c_str(), last_error_detail().c_str());
      return 4;
    }
    auto rx = DropConsumer::open(*mine);
    if (!rx) return 5;
    auto c = rx->try_claim();
    if (c) return 1;
    if (c.error() != errc::would_block) {
      std::fprintf(stderr, "try_claim: %s — %s\n", c.error().message().c_str(), last_error_detail().c_str());
      return 6;
    }
    c = rx->claim(100ms);
    if (c) return 1;
    if (c.error() != errc::timed_out) {
      std::fprintf(stderr, "claim: %s — %s\n", c.error().message().c_str(), last_error_detail().c_str());
      return 7;
    }
    const auto s = rx->stats();
    if (s.errors < 1) return 8;
    if (s.dead_lettered != 0 || s.refused != 0 || s.claimed != 0) return 2;
    return 0;
  });
  EXPECT_EQ(code, 0) << "1: claimed a file it cannot read, 2: dead-lettered or refused it, 6/7: an error "
                        "instead of would_block/timed_out, 8: no error counted";
  EXPECT_EQ(list_dir(dir.sub("new")), ready) << "put back as it was";
  EXPECT_TRUE(list_dir(dir.sub("failed")).empty()) << testing::PrintToString(list_dir(dir.sub("failed")));
  EXPECT_TRUE(list_dir(dir.sub("work")).empty()) << testing::PrintToString(list_dir(dir.sub("work")));

  auto rx = open_consumer(ch);  // root may read it
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), id);
  EXPECT_EQ(c->attempt(), 1u) << "the failed open was not a delivery";
  EXPECT_EQ(read_text(*c), "root's eyes only");
  EXPECT_FALSE(c->ack());
}

// --- 5. an incoming/ the consumer cannot list ----------------------------------------

TEST(DropHardening, AScanGoesOnWhenIncomingCannotBeListed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
  ScopedDir dir;
  const auto o = open_to_all(dir);
  auto ch = open_channel(dir, o);
  const std::string id = publish(ch, "ready anyway");

  const std::string root = dir.root();
  const std::string incoming = dir.sub("incoming");
  const int code = test::in_child([&root, &incoming, &id, o] {
    // The channel is opened first (opening reads every directory), then
    // incoming/ becomes unreadable to the consumer, as when an admin turns
    // it into a drop box under a running service.
    auto mine = DropChannel::open(root, o);
    if (!mine) {
      std::fprintf(stderr, "open: %s — %s\n", mine.error().message().c_str(), last_error_detail().c_str());
      return 4;
    }
    if (::chmod(incoming.c_str(), 0) != 0) return 10;
    if (!become_nobody()) return 3;
    auto rx = DropConsumer::open(*mine);
    if (!rx) return 5;
    auto c = rx->claim(30s);
    if (!c) {
      std::fprintf(stderr, "claim with a ready message: %s — %s\n", c.error().message().c_str(),
                   last_error_detail().c_str());
      return 1;
    }
    if (c->id() != id) return 6;
    if (c->ack()) return 7;
    // Nothing ready: the failure is reported, not waited out in silence.
    c = rx->claim(5s);
    if (c) return 8;
    if (c.error() != errc::permission_denied) {
      std::fprintf(stderr, "claim with nothing ready: %s — %s\n", c.error().message().c_str(),
                   last_error_detail().c_str());
      return 2;
    }
    if (last_error_detail().find("incoming") == std::string::npos) {
      std::fprintf(stderr, "the detail does not name incoming/: %s\n", last_error_detail().c_str());
      return 9;
    }
    return 0;
  });
  EXPECT_EQ(code, 0) << "1: the ready message was not delivered, 2: not permission_denied with nothing "
                        "ready, 9: the detail does not name incoming/";
  EXPECT_TRUE(list_dir(dir.sub("new")).empty());
  EXPECT_TRUE(list_dir(dir.sub("work")).empty());
  EXPECT_TRUE(list_dir(dir.sub("failed")).empty());
}

// --- 6. what publish_file gives back ----------------------------------------------------

TEST(DropHardening, PublishFileRefusesUnsafeFilesAndGivesTheSamePathBack) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string target = dir / "target.txt";
  spit(target, "target");
  const std::string symlink = dir / "a-symlink";
  ASSERT_EQ(::symlink(target.c_str(), symlink.c_str()), 0);
  const std::string linked = dir / "linked", other = dir / "other-name";
  spit(linked, "two names");
  ASSERT_EQ(::link(linked.c_str(), other.c_str()), 0);
  const std::string fifo = dir / "a-fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0640), 0);

  const DropHeaders headers{{"content-type", "text/plain"}};
  for (const std::string& path : {symlink, linked, fifo}) {
    SCOPED_TRACE(path);
    const auto before = identity(path);
    ASSERT_TRUE(before);
    auto r = ch.publish_file(path, headers);
    ASSERT_FALSE(r) << "published " << *r;
    EXPECT_EQ(r.error(), errc::unsafe_file) << r.error().message() << " — " << last_error_detail();
    const auto after = identity(path);
    ASSERT_TRUE(after) << "the path is gone";
    EXPECT_EQ(after->dev, before->dev);
    EXPECT_EQ(after->ino, before->ino) << "another file came back";
    EXPECT_EQ(after->type, before->type);
    EXPECT_EQ(after->links, before->links);
    EXPECT_TRUE(list_dir(dir.sub("tmp")).empty()) << testing::PrintToString(list_dir(dir.sub("tmp")));
    EXPECT_TRUE(list_dir(dir.sub("new")).empty()) << testing::PrintToString(list_dir(dir.sub("new")));
    EXPECT_TRUE(list_dir(dir.sub("state/meta")).empty());
  }
  EXPECT_TRUE(std::filesystem::is_symlink(symlink));
  EXPECT_EQ(std::filesystem::read_symlink(symlink).string(), target);
  EXPECT_EQ(slurp(target), "target");
  EXPECT_EQ(identity(linked)->ino, identity(other)->ino) << "still one file with two names";
  EXPECT_EQ(slurp(linked), "two names");
  EXPECT_EQ(identity(fifo)->type, static_cast<mode_t>(S_IFIFO));
  EXPECT_EQ(list_dir(dir.path()), (Names{"a-fifo", "a-symlink", "channel", "linked", "other-name", "target.txt"}));
}

// --- 7. a dead writer's tmp/ file ---------------------------------------------------------

TEST(DropHardening, AStaleTmpFileIsSweptWithItsHeaders) {
  ScopedDir dir;
  auto o = fast_drop();
  auto ch = open_channel(dir, o);
  // A live message with headers: the sweep must leave its headers alone.
  const std::string live = publish(ch, "live", {{"content-type", "text/plain"}});
  // A writer that died between writing the headers and the rename.
  const std::string id = "1700000000123456789-host-1-1-0000abcd";
  spit(dir.sub("tmp/" + id + ".tmp"), "half-written");
  spit(dir.sub("state/meta/" + id), "content-type: text/csv\n");
  spit(dir.sub("tmp/not-an-id"), "junk");
  // A writer copying with cp -p sets an old mtime: the file still changed
  // just now (its ctime), so it is not stale.
  const timespec years_ago{::time(nullptr) - 5 * 366 * 24 * 3600, 0};
  const timespec times[2] = {years_ago, years_ago};
  for (const std::string& f : {dir.sub("tmp/" + id + ".tmp"), dir.sub("state/meta/" + id), dir.sub("tmp/not-an-id")}) {
    ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), times, 0), 0) << f;
  }

  {
    auto rx = open_consumer(ch);  // stale_tmp_after: 1 h
    ASSERT_FALSE(rx.scan());
    EXPECT_TRUE(exists(dir.sub("tmp/" + id + ".tmp"))) << "changed less than stale_tmp_after ago (by ctime)";
    EXPECT_TRUE(exists(dir.sub("state/meta/" + id)));
    EXPECT_TRUE(exists(dir.sub("tmp/not-an-id")));
  }

  o.stale_tmp_after = 0h;
  auto sweeping = open_channel(dir, o);
  auto rx = open_consumer(sweeping);
  ASSERT_FALSE(rx.scan());  // a consumer's first scan sweeps
  EXPECT_FALSE(exists(dir.sub("tmp/" + id + ".tmp"))) << "a stale tmp/ file stays";
  EXPECT_FALSE(exists(dir.sub("state/meta/" + id))) << "the stale tmp/ file's headers stay";
  EXPECT_FALSE(exists(dir.sub("tmp/not-an-id")));
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty()) << testing::PrintToString(list_dir(dir.sub("tmp")));
  EXPECT_EQ(list_dir(dir.sub("state/meta")), Names{live}) << "only the live message's headers are left";

  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), live);
  EXPECT_EQ(header(*c, "content-type"), "text/plain");
  EXPECT_EQ(read_text(*c), "live");
  EXPECT_FALSE(c->ack());
}

// --- 8. publish_file against a concurrent sweep ----------------------------------------------

TEST(DropHardening, AFileWithAnOldMtimeSurvivesAConcurrentSweep) {
  // publish_file moves the caller's file into tmp/ with its years-old mtime;
  // the sweep, which removes tmp/ files unchanged for stale_tmp_after, must
  // not take it for a dead writer's leftover.
  ScopedDir dir;
  auto o = fast_drop();
  o.durable = true;  // the fsyncs widen the window in which the file sits in tmp/
  auto ch = open_channel(dir, o);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sweeps{0};
  std::thread sweeper([&] {
    while (!stop.load()) {
      auto rx = DropConsumer::open(ch);  // each new consumer sweeps on its first scan
      if (rx) {
        (void)rx->scan();
        sweeps.fetch_add(1);
      }
    }
  });
  const int n = static_cast<int>(test::scaled(300));
  const timespec years_ago{::time(nullptr) - 5 * 366 * 24 * 3600, 0};
  const timespec times[2] = {years_ago, years_ago};
  std::map<std::string, std::string> sent;  // id -> content
  int failed = 0;
  std::string first_error;
  for (int i = 0; i < n; ++i) {
    const std::string source = dir / ("old-" + std::to_string(i));
    const std::string content = "old data " + std::to_string(i);
    spit(source, content);
    if (::utimensat(AT_FDCWD, source.c_str(), times, 0) != 0) {
      ADD_FAILURE() << "utimensat " << source;
      break;
    }
    auto id = ch.publish_file(source, {{"seq", std::to_string(i)}});
    if (id) {
      sent.emplace(*id, content);
    } else {
      ++failed;
      if (first_error.empty()) {
        first_error = source + ": " + id.error().message() + " — " + last_error_detail() +
                      (exists(source) ? " (given back)" : " (and the file is gone)");
      }
    }
  }
  stop = true;
  sweeper.join();
  EXPECT_EQ(failed, 0) << first_error;
  EXPECT_EQ(sent.size(), static_cast<size_t>(n) - static_cast<size_t>(failed));
  EXPECT_GT(sweeps.load(), 0u);

  auto rx = open_consumer(ch);
  std::map<std::string, std::string> got;
  for (size_t i = 0; i < sent.size(); ++i) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << "after " << got.size() << " of " << sent.size() << ": " << c.error().message();
    const auto it = sent.find(c->id());
    ASSERT_NE(it, sent.end()) << "unknown message " << c->id();
    EXPECT_EQ(header(*c, "seq"), it->second.substr(std::string("old data ").size()));
    got.emplace(c->id(), read_text(*c));
    ASSERT_FALSE(c->ack());
  }
  EXPECT_EQ(got, sent);
  expect_nothing_ready(rx, "every message was taken once");
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty());
}

// --- 9. options out of range ------------------------------------------------------------------

constexpr std::chrono::hours kTwoYears{2 * 366 * 24};

TEST(DropHardening, OptionsOutOfRangeAreInvalidArgument) {
  struct Case {
    const char* what;
    void (*set)(DropOptions&);
  };
  const Case cases[] = {
      {"lease of 2 years", [](DropOptions& o) { o.lease = kTwoYears; }},
      {"scan_interval of 2 years", [](DropOptions& o) { o.scan_interval = kTwoYears; }},
      {"max_attempts 0", [](DropOptions& o) { o.max_attempts = 0; }},
      {"retry_backoff_max of 2 years", [](DropOptions& o) { o.retry_backoff_max = kTwoYears; }},
      {"settle_time of 2 years", [](DropOptions& o) { o.ingest.settle_time = kTwoYears; }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    ScopedDir dir;
    auto o = fast_drop();
    c.set(o);
    auto ch = DropChannel::open(dir.root(), o);
    EXPECT_FALSE(ch) << "opened";
    if (!ch) {
      EXPECT_EQ(ch.error(), errc::invalid_argument) << ch.error().message();
    }
    EXPECT_FALSE(exists(dir.root())) << "nothing is created";
  }
  // The limits are not the problem: long but sane values open.
  ScopedDir dir;
  auto o = fast_drop();
  o.lease = std::chrono::hours(300 * 24);
  o.scan_interval = std::chrono::hours(24);
  o.max_attempts = 1;
  o.ingest.settle_time = 0ms;
  o.stale_tmp_after = 0h;
  o.dead_letter_retention = 0h;
  o.key_retention = 1h;
  auto ch = DropChannel::open(dir.root(), o);
  EXPECT_TRUE(ch) << ch.error().message() << " — " << last_error_detail();
}

// The file-drop channel in one process: the on-disk layout, publishing
// (whole payloads, writers, existing files), header and path validation,
// errors on open and on a full disk, acks, retries, dead letters, poison
// messages, idempotency, leases, files dropped into incoming/ by programs
// that do not cooperate, and discovery by inotify and by polling.
//
// Waiting is done by the library (claim(timeout) waits inside it); the
// deadlines here are generous bounds so a bug fails instead of hanging.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "drop_support.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using test::to_bytes;
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
using test::text_of;

namespace {

using Names = std::vector<std::string>;

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t now_ms() { return now_ns() / 1'000'000; }

// "<a>.<b>.<c>" split at dots.
std::vector<std::string> fields(const std::string& name) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : name) {
    if (ch == '.') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

// A message id: <19-digit ns>-<host>-<pid>-<seq>-<8 hex>, only [0-9a-z-].
struct IdParts {
  uint64_t ns = 0;
  std::string host, pid, seq, random;
};

std::optional<IdParts> parse_id(const std::string& id) {
  const auto all = [](const std::string& s, auto pred) {
    return !s.empty() && std::all_of(s.begin(), s.end(), pred);
  };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!all(id, [&](char c) { return digit(c) || (c >= 'a' && c <= 'z') || c == '-'; })) return std::nullopt;
  std::vector<std::string> parts(1);
  for (char c : id) {
    if (c == '-') {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  if (parts.size() < 5) return std::nullopt;
  IdParts p;
  const size_t n = parts.size();
  if (parts[0].size() != 19 || !all(parts[0], digit)) return std::nullopt;
  p.ns = std::stoull(parts[0]);
  p.random = parts[n - 1];
  if (p.random.size() != 8 || !all(p.random, [&](char c) { return digit(c) || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  p.seq = parts[n - 2];
  p.pid = parts[n - 3];
  if (!all(p.seq, digit) || !all(p.pid, digit)) return std::nullopt;
  for (size_t i = 1; i + 3 < n; ++i) p.host += (i > 1 ? "-" : "") + parts[i];
  if (p.host.empty()) return std::nullopt;
  return p;
}

std::string basename_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool all_zero(const DropCounts& c) {
  return c.incoming + c.ready + c.claimed + c.retrying + c.failed + c.done == 0;
}

DropCounts counts(const DropChannel& ch) {
  auto c = ch.counts();
  if (!c) throw std::runtime_error("counts: " + c.error().message());
  return *c;
}

}  // namespace

// --- layout and open -------------------------------------------------------

TEST(DropChannel, OpenCreatesTheDirectoryTreeAndReopens) {
  ScopedDir dir;
  auto ch = DropChannel::open(dir.root(), fast_drop());
  ASSERT_TRUE(ch) << ch.error().message() << " — " << last_error_detail();
  EXPECT_EQ(ch->root(), dir.root());
  for (const char* sub : {"incoming", "tmp", "new", "work", "retry", "done", "failed", "state"}) {
    EXPECT_TRUE(std::filesystem::is_directory(dir.sub(sub))) << sub;
  }
  ASSERT_TRUE(std::filesystem::is_regular_file(dir.sub("state/layout")));
  EXPECT_EQ(slurp(dir.sub("state/layout")).rfind("ringdrop file-drop channel, layout ", 0), 0u)
      << slurp(dir.sub("state/layout"));
  EXPECT_TRUE(all_zero(counts(*ch))) << test::describe(counts(*ch));

  auto existing = fast_drop();
  existing.create = false;
  auto again = DropChannel::open(dir.root(), existing);
  ASSERT_TRUE(again) << again.error().message() << " — " << last_error_detail();
  EXPECT_EQ(again->options().create, false);
}

TEST(DropChannel, CreatedDirectoriesHaveDirModeWithoutUmask) {
  ScopedDir dir;
  auto o = fast_drop();
  o.dir_mode = 0751;
  const mode_t old = ::umask(077);
  auto ch = DropChannel::open(dir.root(), o);
  ::umask(old);
  ASSERT_TRUE(ch) << ch.error().message();
  for (const char* sub : {"", "/incoming", "/tmp", "/new", "/work", "/retry", "/done", "/failed", "/state"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir.root() + sub).c_str(), &st), 0) << sub;
    EXPECT_EQ(st.st_mode & 07777, 0751u) << "root" << sub;
  }
}

TEST(DropOpen, MissingRootWithoutCreateIsNotFound) {
  ScopedDir dir;
  auto o = fast_drop();
  o.create = false;
  auto ch = DropChannel::open(dir.root(), o);
  ASSERT_FALSE(ch);
  EXPECT_EQ(ch.error(), errc::not_found);
  EXPECT_FALSE(exists(dir.root())) << "nothing created";
}

TEST(DropOpen, RootThatIsARegularFileIsInvalidArgument) {
  ScopedDir dir;
  spit(dir.root(), "not a directory");
  auto ch = DropChannel::open(dir.root(), fast_drop());
  ASSERT_FALSE(ch);
  EXPECT_EQ(ch.error(), errc::invalid_argument);
  EXPECT_EQ(slurp(dir.root()), "not a directory");
}

TEST(DropOpen, ChannelOfAnotherLayoutVersionIsIncompatible) {
  ScopedDir dir;
  { open_channel(dir); }
  spit(dir.sub("state/layout"), "ringdrop file-drop channel, layout 99\n");
  auto ch = DropChannel::open(dir.root(), fast_drop());
  ASSERT_FALSE(ch);
  EXPECT_EQ(ch.error(), errc::incompatible_layout);
  EXPECT_EQ(slurp(dir.sub("state/layout")), "ringdrop file-drop channel, layout 99\n")
      << "a foreign channel is left alone";
}

TEST(DropOpen, KeyRetentionShorterThanDeadLetterRetentionIsInvalidArgument) {
  ScopedDir dir;
  auto o = fast_drop();
  o.key_retention = std::chrono::hours(1);
  o.dead_letter_retention = std::chrono::hours(2);
  auto ch = DropChannel::open(dir.root(), o);
  ASSERT_FALSE(ch);
  EXPECT_EQ(ch.error(), errc::invalid_argument);
}

TEST(DropOpen, ChannelThisProcessCannotWriteIsPermissionDenied) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
  ScopedDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // nobody may reach the root
  auto o = fast_drop();
  o.dir_mode = 0700;
  { open_channel(dir, o); }
  const std::string root = dir.root();
  auto as_nobody = [&root](DropOptions options) {
    return test::in_child([&] {
      if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
          ::setresuid(65534, 65534, 65534) != 0) {
        return 3;
      }
      auto ch = DropChannel::open(root, options);
      if (ch) return 1;
      if (ch.error() == errc::permission_denied) return 0;
      std::fprintf(stderr, "open as nobody: %s — %s\n", ch.error().message().c_str(),
                   last_error_detail().c_str());
      return 2;
    });
  };
  EXPECT_EQ(as_nobody(o), 0) << "a 0700 tree of root's (0: permission_denied, 1: opened, 2: other error)";
  // Readable and searchable by everyone, writable by none but root.
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_directory()) {
      ASSERT_EQ(::chmod(e.path().c_str(), 0755), 0);
    }
  }
  ASSERT_EQ(::chmod(root.c_str(), 0755), 0);
  EXPECT_EQ(as_nobody(o), 0) << "a tree it can read but not write";
  o.create = false;
  EXPECT_EQ(as_nobody(o), 0) << "same, create off";
}

// --- publish and claim -----------------------------------------------------

TEST(DropChannel, PublishedMessageIsClaimedWithItsBytesAndHeaders) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const uint64_t before = now_ns();
  auto id = ch.publish(to_bytes("hello, drop"), {{"content-type", "text/plain"}, {"correlation-id", "c-17"}});
  const uint64_t after = now_ns();
  ASSERT_TRUE(id) << id.error().message() << " — " << last_error_detail();

  EXPECT_EQ(list_dir(dir.sub("new")), Names{*id + ".0"}) << "ready: <id>.<deliveries so far>";
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty());
  const std::string meta = slurp(dir.sub("state/meta/" + *id));
  EXPECT_NE(meta.find("content-type: text/plain\n"), std::string::npos) << meta;
  EXPECT_NE(meta.find("correlation-id: c-17\n"), std::string::npos) << meta;
  EXPECT_EQ(meta.find("published-at"), std::string::npos) << "read from the id, not stored: " << meta;
  EXPECT_EQ(counts(ch).ready, 1u);

  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message() << " — " << last_error_detail();
  EXPECT_EQ(c->id(), *id);
  EXPECT_EQ(c->attempt(), 1u);
  EXPECT_FALSE(c->settled());
  EXPECT_EQ(c->size(), 11u);
  EXPECT_EQ(read_text(*c), "hello, drop");
  auto m = c->map();
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(text_of(m->bytes()), "hello, drop");
  char buf[32] = {};
  EXPECT_EQ(::pread(c->fd(), buf, sizeof buf, 0), 11);
  EXPECT_EQ(std::string(buf), "hello, drop");

  EXPECT_EQ(header(*c, "content-type"), "text/plain");
  EXPECT_EQ(header(*c, "correlation-id"), "c-17");
  const uint64_t published_at = std::strtoull(header(*c, "published-at").c_str(), nullptr, 10);
  EXPECT_GE(published_at, before);
  EXPECT_LE(published_at, after);
  ASSERT_TRUE(parse_id(*id));
  EXPECT_EQ(published_at, parse_id(*id)->ns) << "the id begins with the publish time";
  EXPECT_EQ(c->headers().size(), 3u);

  // work/<id>.<attempts>.<consumer>.<lease-deadline-ms>
  const std::string work = c->path();
  EXPECT_EQ(work.rfind(dir.sub("work") + "/", 0), 0u) << work;
  EXPECT_EQ(basename_of(work), *id + ".1." + rx.consumer_id() + "." +
                                   std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      c->lease_expires().time_since_epoch())
                                                      .count()))
      << work;
  EXPECT_EQ(list_dir(dir.sub("work")), Names{basename_of(work)});
  EXPECT_TRUE(list_dir(dir.sub("new")).empty());
  EXPECT_EQ(counts(ch).claimed, 1u);

  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(c->settled());
  EXPECT_TRUE(list_dir(dir.sub("work")).empty());
  EXPECT_TRUE(list_dir(dir.sub("done")).empty()) << "archive is off";
  EXPECT_FALSE(exists(dir.sub("state/meta/" + *id))) << "headers go with the message";
  EXPECT_TRUE(list_dir(dir.sub("state/keys")).empty()) << "an unkeyed message acked in time leaves no key";
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
  const auto s = rx.stats();
  EXPECT_EQ(s.claimed, 1u);
  EXPECT_EQ(s.acked, 1u);
  EXPECT_EQ(s.nacked + s.dead_lettered + s.duplicates_skipped, 0u);
  expect_nothing_ready(rx, "acked once, delivered once");
}

TEST(DropChannel, AckWithArchiveKeepsMessageAndHeadersInDone) {
  ScopedDir dir;
  auto o = fast_drop();
  o.archive = true;
  auto ch = open_channel(dir, o);
  const std::string id = publish(ch, "keep me", {{"schema-id", "orders-v2"}});
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_FALSE(c->ack());
  EXPECT_EQ(list_dir(dir.sub("done")), (Names{id + ".1", id + ".headers"}));
  EXPECT_EQ(slurp(dir.sub("done/" + id + ".1")), "keep me");
  EXPECT_NE(slurp(dir.sub("done/" + id + ".headers")).find("schema-id: orders-v2\n"), std::string::npos);
  const auto n = counts(ch);
  EXPECT_EQ(n.done, 1u);
  EXPECT_EQ(n.ready + n.claimed + n.retrying + n.failed + n.incoming, 0u) << test::describe(n);
  expect_nothing_ready(rx, "archived, not redelivered");
}

TEST(DropChannel, EmptyPayloadIsAMessage) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  auto id = ch.publish({});
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_TRUE(list_dir(dir.sub("state/meta")).empty()) << "no headers, no header file";
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), *id);
  EXPECT_EQ(c->size(), 0u);
  auto r = c->read();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  auto m = c->map();
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_TRUE(m->bytes().empty());
  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(all_zero(counts(ch)));
}

TEST(DropChannel, LargePayloadIsReadAndMappedWhole) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  ASSERT_TRUE(ch.publish(to_bytes(big)));
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->size(), big.size());
  EXPECT_TRUE(read_text(*c) == big);
  auto m = c->map();
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_TRUE(text_of(m->bytes()) == big);
  EXPECT_FALSE(c->ack());
}

TEST(DropChannel, MessageIdsAreSafeAndSortInPublishOrder) {
  ScopedDir dir;
  auto ch = open_channel(dir, fast_drop(Discovery::polling));
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    const uint64_t before = now_ns();
    ids.push_back(publish(ch, "m" + std::to_string(i)));
    const uint64_t after = now_ns();
    const auto parts = parse_id(ids.back());
    ASSERT_TRUE(parts) << ids.back();
    EXPECT_EQ(parts->pid, std::to_string(::getpid())) << ids.back();
    EXPECT_EQ(parts->seq.empty(), false);
    const uint64_t ns = parts->ns;
    EXPECT_GE(ns, before) << ids.back();
    EXPECT_LE(ns, after) << ids.back();
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "unique";

  // A consumer that finds them all ready takes the oldest first.
  auto rx = open_consumer(ch);
  for (size_t i = 0; i < ids.size(); ++i) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << i << ": " << c.error().message();
    EXPECT_EQ(c->id(), ids[i]) << i;
    EXPECT_EQ(read_text(*c), "m" + std::to_string(i));
    ASSERT_FALSE(c->ack());
  }
}

TEST(DropChannel, SeveralThreadsPublishAtOnce) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const uint64_t per = test::scaled(400);
  std::vector<std::vector<std::string>> ids(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < ids.size(); ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < per; ++i) {
        auto id = ch.publish(to_bytes(std::to_string(t) + ":" + std::to_string(i)));
        if (id) ids[t].push_back(*id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::map<std::string, std::string> want;  // id -> payload
  for (size_t t = 0; t < ids.size(); ++t) {
    ASSERT_EQ(ids[t].size(), per) << "thread " << t;
    for (uint64_t i = 0; i < per; ++i) want[ids[t][i]] = std::to_string(t) + ":" + std::to_string(i);
  }
  ASSERT_EQ(want.size(), 4 * per) << "ids are unique across threads";
  auto rx = open_consumer(ch);
  for (uint64_t n = 0; n < 4 * per; ++n) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << n << ": " << c.error().message();
    auto it = want.find(c->id());
    ASSERT_NE(it, want.end()) << "unknown or repeated id " << c->id();
    EXPECT_EQ(read_text(*c), it->second);
    want.erase(it);
    ASSERT_FALSE(c->ack());
  }
  EXPECT_TRUE(want.empty());
  expect_nothing_ready(rx, "every message once");
}

TEST(DropChannel, CountsSeeEachState) {
  ScopedDir dir;
  auto o = fast_drop();
  o.archive = true;
  o.retry_backoff = 1h;
  o.retry_backoff_max = 1h;
  o.ingest.settle_time = 1h;
  auto ch = open_channel(dir, o);
  for (const char* t : {"a", "b", "c", "d"}) publish(ch, t);
  auto rx = open_consumer(ch);
  auto a = rx.claim(30s);
  ASSERT_TRUE(a);
  ASSERT_FALSE(a->ack());
  auto b = rx.claim(30s);
  ASSERT_TRUE(b);
  ASSERT_FALSE(b->nack("later"));
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  ASSERT_FALSE(c->reject("never"));
  auto d = rx.claim(30s);  // held
  ASSERT_TRUE(d);
  publish(ch, "e");
  spit(dir.sub("incoming/dropped.txt"), "by hand");
  const auto n = counts(ch);
  EXPECT_EQ(n.incoming, 1u);
  EXPECT_EQ(n.ready, 1u);
  EXPECT_EQ(n.claimed, 1u);
  EXPECT_EQ(n.retrying, 1u);
  EXPECT_EQ(n.failed, 1u);
  EXPECT_EQ(n.done, 1u);
}

// --- header validation -----------------------------------------------------

TEST(DropChannel, InvalidHeadersAreRefusedAndNothingIsWritten) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string source = dir / "source.bin";
  spit(source, "payload");
  const std::vector<DropHeaders> bad = {
      {{"Content-Type", "x"}},                  // uppercase key
      {{"content type", "x"}},                  // space in key
      {{"content:type", "x"}},                  // ':' in key
      {{"", "x"}},                              // empty key
      {{std::string(65, 'k'), "x"}},            // key too long
      {{"note", "two\nlines"}},                 // line break in value
      {{"note", "cr\rhere"}},                   // carriage return in value
      {{"note", "bell\x07"}},                   // not printable
      {{"note", std::string(1025, 'v')}},       // value too long
      {{"ok", "fine"}, {"Bad", "x"}},           // one bad among good ones
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    auto id = ch.publish(to_bytes("payload"), bad[i]);
    ASSERT_FALSE(id) << "case " << i;
    EXPECT_EQ(id.error(), errc::invalid_argument) << "case " << i;
    auto w = ch.begin_publish(bad[i]);
    ASSERT_FALSE(w) << "case " << i;
    EXPECT_EQ(w.error(), errc::invalid_argument) << "case " << i;
    auto f = ch.publish_file(source, bad[i]);
    ASSERT_FALSE(f) << "case " << i;
    EXPECT_EQ(f.error(), errc::invalid_argument) << "case " << i;
    EXPECT_EQ(slurp(source), "payload") << "case " << i << ": the file stays where it was";
  }
  EXPECT_TRUE(list_dir(dir.sub("new")).empty());
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty());
  EXPECT_TRUE(list_dir(dir.sub("state/meta")).empty());

  // The limits themselves are fine, and a value may hold ": ".
  const std::string key64(64, 'k');
  const std::string value1024(1024, 'v');
  auto id = ch.publish(to_bytes("x"), {{key64, value1024}, {"note", "a: b: c"}, {"k-0-9", "~!@#$%^&*()"}});
  ASSERT_TRUE(id) << id.error().message() << " — " << last_error_detail();
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  EXPECT_EQ(header(*c, key64), value1024);
  EXPECT_EQ(header(*c, "note"), "a: b: c");
  EXPECT_EQ(header(*c, "k-0-9"), "~!@#$%^&*()");
  EXPECT_FALSE(c->ack());
}

TEST(DropChannel, ManyLongHeadersArriveWholeOrAreRefused) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  // 100 valid headers of 1024 bytes each: about 100 KiB of header text.
  DropHeaders headers;
  for (int i = 0; i < 100; ++i) {
    char key[8];
    std::snprintf(key, sizeof key, "h-%03d", i);
    headers[key] = std::string(1000, static_cast<char>('a' + i % 26)) + std::string(24, '0' + i % 10);
  }
  auto id = ch.publish(to_bytes("many headers"), headers);
  if (!id) {
    EXPECT_EQ(id.error(), errc::invalid_argument) << "refusing them is fine; failing otherwise is not";
    EXPECT_TRUE(list_dir(dir.sub("new")).empty());
    return;
  }
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  DropHeaders got = c->headers();
  got.erase("published-at");
  EXPECT_EQ(got.size(), headers.size()) << "headers were lost on the way";
  size_t wrong = 0;
  for (const auto& [k, v] : headers) {
    auto it = got.find(k);
    wrong += it == got.end() || it->second != v;
  }
  EXPECT_EQ(wrong, 0u) << "headers missing or cut short";
  EXPECT_FALSE(c->ack());
}

// --- DropWriter --------------------------------------------------------------

TEST(DropWriter, PiecesAreCommittedAsOneMessage) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  auto w = ch.begin_publish({{"content-type", "application/octet-stream"}});
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_FALSE(w->id().empty());
  EXPECT_EQ(list_dir(dir.sub("tmp")).size(), 1u) << "written in tmp/";
  EXPECT_TRUE(list_dir(dir.sub("new")).empty()) << "not published before commit";
  ASSERT_FALSE(w->write(to_bytes("first,")));
  ASSERT_EQ(::write(w->fd(), "second,", 7), 7) << "the fd takes write(2) too";
  ASSERT_FALSE(w->write(to_bytes("third")));
  ASSERT_FALSE(w->write({}));
  const std::string expected_id = w->id();
  auto id = w->commit();
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, expected_id);
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty());
  EXPECT_EQ(list_dir(dir.sub("new")), Names{*id + ".0"});

  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id(), *id);
  EXPECT_EQ(read_text(*c), "first,second,third");
  EXPECT_EQ(header(*c, "content-type"), "application/octet-stream");
  EXPECT_NE(header(*c, "published-at"), "<missing>");
  EXPECT_FALSE(c->ack());
  expect_nothing_ready(rx, "one commit, one message");
}

TEST(DropWriter, WriterDestroyedOrAbortedWithoutCommitLeavesNothing) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  {
    auto w = ch.begin_publish({{"producer", "quitter"}});
    ASSERT_TRUE(w);
    ASSERT_FALSE(w->write(to_bytes(std::string(100000, 'x'))));
    EXPECT_EQ(list_dir(dir.sub("tmp")).size(), 1u);
  }
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty()) << "destroyed: the partial file is removed";
  {
    auto w = ch.begin_publish();
    ASSERT_TRUE(w);
    ASSERT_FALSE(w->write(to_bytes("partial")));
    w->abort();
    EXPECT_TRUE(list_dir(dir.sub("tmp")).empty()) << "aborted";
  }
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty());
  EXPECT_TRUE(list_dir(dir.sub("new")).empty());
  EXPECT_TRUE(list_dir(dir.sub("state/meta")).empty());
  EXPECT_TRUE(all_zero(counts(ch)));
  auto rx = open_consumer(ch);
  expect_nothing_ready(rx, "nothing was published");
}

// --- publish_file ------------------------------------------------------------

TEST(DropPublishFile, MovesTheFileIntoTheChannel) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string source = dir / "export.csv";
  const std::string content = "id,amount\n1,10\n2,20\n";
  spit(source, content);
  auto id = ch.publish_file(source, {{"content-type", "text/csv"}});
  ASSERT_TRUE(id) << id.error().message() << " — " << last_error_detail();
  EXPECT_FALSE(exists(source)) << "moved, not copied";
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id(), *id);
  EXPECT_EQ(read_text(*c), content);
  EXPECT_EQ(header(*c, "content-type"), "text/csv");
  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(all_zero(counts(ch)));
}

TEST(DropPublishFile, RefusesSymlinksHardLinksFifosAndMissingFiles) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string target = dir / "target.txt";
  spit(target, "target");
  const std::string symlink = dir / "symlink";
  ASSERT_EQ(::symlink(target.c_str(), symlink.c_str()), 0);
  const std::string linked = dir / "linked", other = dir / "other-link";
  spit(linked, "two names");
  ASSERT_EQ(::link(linked.c_str(), other.c_str()), 0);
  const std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);

  auto r = ch.publish_file(symlink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::unsafe_file) << "symlink";
  r = ch.publish_file(linked);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::unsafe_file) << "two hard links";
  r = ch.publish_file(fifo);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::unsafe_file) << "FIFO";
  r = ch.publish_file(dir / "missing");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::not_found);

  EXPECT_TRUE(std::filesystem::is_symlink(symlink));
  EXPECT_EQ(slurp(target), "target");
  EXPECT_EQ(slurp(linked), "two names");
  EXPECT_EQ(slurp(other), "two names");
  EXPECT_TRUE(exists(fifo));
  EXPECT_TRUE(list_dir(dir.sub("new")).empty());
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty());
  EXPECT_TRUE(list_dir(dir.sub("state/meta")).empty());
}

TEST(DropPublishFile, FileOnAnotherFileSystemIsInvalidArgumentAndStays) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  struct stat shm {}, here {};
  if (::stat("/dev/shm", &shm) != 0 || ::stat(dir.path().c_str(), &here) != 0 || shm.st_dev == here.st_dev) {
    GTEST_SKIP() << "no second file system at /dev/shm";
  }
  const std::string source = "/dev/shm/ringdrop-drop-test-" + std::to_string(::getpid());
  spit(source, "elsewhere");
  auto id = ch.publish_file(source);
  const std::string left = slurp(source);
  ::unlink(source.c_str());
  ASSERT_FALSE(id) << "published " << *id;
  EXPECT_EQ(id.error(), errc::invalid_argument);
  EXPECT_EQ(left, "elsewhere") << "the file stays where it was";
  EXPECT_TRUE(list_dir(dir.sub("new")).empty());
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty());
  EXPECT_TRUE(list_dir(dir.sub("state/meta")).empty());
}

TEST(DropPublishFile, AnOldFileIsNotSweptAwayWhilePublished) {
  // publish_file moves the caller's file into tmp/ with its old mtime; a
  // consumer's maintenance, which removes tmp/ files older than
  // stale_tmp_after, must not take it for a dead writer's leftover.
  ScopedDir dir;
  auto o = fast_drop();
  o.durable = true;  // the fsyncs widen the window in which the file sits in tmp/
  auto ch = open_channel(dir, o);
  std::atomic<bool> stop{false};
  std::thread sweeper([&] {
    // Each new consumer sweeps on its first scan.
    while (!stop.load()) {
      auto rx = DropConsumer::open(ch);
      if (rx) (void)rx->scan();
    }
  });
  const int n = static_cast<int>(test::scaled(300));
  int lost = 0, published = 0;
  std::string first_error;
  for (int i = 0; i < n; ++i) {
    const std::string source = dir / ("old-" + std::to_string(i));
    spit(source, "old data " + std::to_string(i));
    const timespec two_hours_ago{::time(nullptr) - 7200, 0};
    const timespec times[2] = {two_hours_ago, two_hours_ago};
    ASSERT_EQ(::utimensat(AT_FDCWD, source.c_str(), times, 0), 0);
    auto id = ch.publish_file(source);
    if (id) {
      ++published;
    } else if (!exists(source)) {
      ++lost;
      if (first_error.empty()) first_error = id.error().message() + " — " + last_error_detail();
    }
  }
  stop = true;
  sweeper.join();
  EXPECT_EQ(lost, 0) << "publish_file failed and the caller's file is gone: " << first_error;
  EXPECT_EQ(published, n);
}

// --- full disk ---------------------------------------------------------------

TEST(DropFullDisk, PublishOverTheFileSizeLimitIsNoSpaceAndLeavesNothing) {
  ScopedDir dir;
  { open_channel(dir); }
  const std::string root = dir.root();
  const int code = test::in_child([&root] {
    auto ch = DropChannel::open(root, fast_drop());
    if (!ch) return 10;
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{4096, 4096};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 11;
    const std::vector<std::byte> big(1 << 20, std::byte{'x'});
    auto id = ch->publish(big, {{"producer", "big"}});
    if (id) return 12;
    if (id.error() != errc::no_space) {
      std::fprintf(stderr, "publish: %s — %s\n", id.error().message().c_str(), last_error_detail().c_str());
      return 13;
    }
    {
      auto w = ch->begin_publish({{"producer", "big"}});
      if (!w) return 14;
      const auto ec = w->write(big);
      if (ec != errc::no_space) {
        std::fprintf(stderr, "write: %s\n", ec.message().c_str());
        return 15;
      }
    }
    return 0;
  });
  EXPECT_EQ(code, 0) << "12: published; 13: publish failed otherwise; 15: write failed otherwise";
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty()) << "nothing left behind";
  EXPECT_TRUE(list_dir(dir.sub("new")).empty());
  EXPECT_TRUE(list_dir(dir.sub("state/meta")).empty());

  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  expect_nothing_ready(rx, "nothing was published");
  publish(ch, "small");
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << "the channel still works";
  EXPECT_EQ(read_text(*c), "small");
  EXPECT_FALSE(c->ack());
}

// --- nack, retry, dead letters -----------------------------------------------

TEST(DropRetry, NackedMessageIsRedeliveredWithTheNextAttempt) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string id = publish(ch, "try again", {{"correlation-id", "r1"}});
  auto rx = open_consumer(ch);
  {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->attempt(), 1u);
    ASSERT_FALSE(c->nack("transient"));
    EXPECT_TRUE(c->settled());
  }
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), id);
  EXPECT_EQ(c->attempt(), 2u);
  EXPECT_EQ(read_text(*c), "try again");
  EXPECT_EQ(header(*c, "correlation-id"), "r1");
  EXPECT_FALSE(c->ack());
  const auto s = rx.stats();
  EXPECT_EQ(s.nacked, 1u);
  EXPECT_GE(s.retries_promoted, 1u);
  EXPECT_EQ(s.claimed, 2u);
  EXPECT_EQ(s.acked, 1u);
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
}

TEST(DropRetry, NackedMessageWaitsInRetryUntilItsBackoffIsOver) {
  ScopedDir dir;
  auto o = fast_drop();
  o.retry_backoff = 1h;
  o.retry_backoff_max = 2h;
  auto ch = open_channel(dir, o);
  const std::string id = publish(ch, "later");
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  const uint64_t before = now_ms();
  ASSERT_FALSE(c->nack("come back in an hour"));
  const auto retry = list_dir(dir.sub("retry"));
  ASSERT_EQ(retry.size(), 1u);
  const auto f = fields(retry[0]);  // <id>.<attempts>.<not-before-ms>
  ASSERT_EQ(f.size(), 3u) << retry[0];
  EXPECT_EQ(f[0], id);
  EXPECT_EQ(f[1], "1");
  EXPECT_GE(std::stoull(f[2]), before + 3'600'000) << "not before now + retry_backoff";
  EXPECT_EQ(counts(ch).retrying, 1u);
  expect_nothing_ready(rx, "still backing off");
  EXPECT_EQ(list_dir(dir.sub("retry")), retry);
}

TEST(DropDeadLetter, MessageNackedMaxAttemptsTimesBecomesADeadLetterAndCanBeRequeued) {
  ScopedDir dir;
  auto o = fast_drop();
  o.max_attempts = 3;
  auto ch = open_channel(dir, o);
  const std::string id = publish(ch, "doomed", {{"schema-id", "s-9"}});
  auto rx = open_consumer(ch);
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << "attempt " << attempt << ": " << c.error().message();
    EXPECT_EQ(c->id(), id);
    EXPECT_EQ(c->attempt(), attempt);
    ASSERT_FALSE(c->nack("parser exploded at byte 7"));
  }
  expect_nothing_ready(rx, "a dead letter is not delivered");
  EXPECT_EQ(list_dir(dir.sub("failed")), (Names{id + ".3", id + ".reason"}));
  EXPECT_NE(slurp(dir.sub("failed/" + id + ".reason")).find("parser exploded at byte 7"), std::string::npos);
  EXPECT_EQ(slurp(dir.sub("failed/" + id + ".3")), "doomed");
  const auto n = counts(ch);
  EXPECT_EQ(n.failed, 1u) << test::describe(n);
  EXPECT_EQ(n.ready + n.claimed + n.retrying, 0u) << test::describe(n);
  EXPECT_EQ(rx.stats().nacked, 2u);
  EXPECT_EQ(rx.stats().dead_lettered, 1u);

  auto all = ch.dead_letters();
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->size(), 1u);
  const DeadLetter& d = all->front();
  EXPECT_EQ(d.id, id);
  EXPECT_EQ(d.attempts, 3u);
  EXPECT_TRUE(d.path.ends_with("failed/" + id + ".3")) << d.path;
  EXPECT_NE(d.reason.find("parser exploded at byte 7"), std::string::npos) << d.reason;
  EXPECT_EQ(d.headers.count("schema-id") ? d.headers.at("schema-id") : "", "s-9");
  EXPECT_GT(d.failed_at.time_since_epoch().count(), 0);
  auto one = ch.dead_letter(id);
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_EQ(one->id, id);
  EXPECT_EQ(one->attempts, 3u);
  EXPECT_EQ(one->reason, d.reason);

  ASSERT_FALSE(ch.requeue(id));
  EXPECT_TRUE(list_dir(dir.sub("failed")).empty());
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << "requeued: " << c.error().message();
  EXPECT_EQ(c->id(), id);
  EXPECT_EQ(c->attempt(), 1u) << "the count starts over";
  EXPECT_EQ(read_text(*c), "doomed");
  EXPECT_EQ(header(*c, "schema-id"), "s-9");
  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
  EXPECT_EQ(ch.dead_letter(id).error(), errc::not_found);
}

TEST(DropDeadLetter, RejectDeadLettersAtOnceAndPurgeRemovesEverything) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string id = publish(ch, "malformed", {{"content-type", "application/json"}});
  const std::string keep = publish(ch, "fine", {{"content-type", "text/plain"}});
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->id(), id);
  ASSERT_FALSE(c->reject("bad schema: missing field 'amount'"));
  EXPECT_TRUE(c->settled());
  EXPECT_EQ(list_dir(dir.sub("failed")), (Names{id + ".1", id + ".reason"}));
  auto d = ch.dead_letter(id);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->attempts, 1u);
  EXPECT_NE(d->reason.find("bad schema: missing field 'amount'"), std::string::npos) << d->reason;
  EXPECT_EQ(rx.stats().dead_lettered, 1u);
  EXPECT_EQ(rx.stats().nacked, 0u);

  ASSERT_FALSE(ch.purge(id));
  EXPECT_TRUE(list_dir(dir.sub("failed")).empty());
  EXPECT_FALSE(exists(dir.sub("state/meta/" + id))) << "its headers are purged too";
  EXPECT_TRUE(exists(dir.sub("state/meta/" + keep))) << "another message's headers stay";
  EXPECT_EQ(ch.dead_letter(id).error(), errc::not_found);
  EXPECT_EQ(ch.purge(id), errc::not_found);
  EXPECT_EQ(ch.requeue(id), errc::not_found);

  auto next = rx.claim(30s);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id(), keep);
  EXPECT_FALSE(next->ack());
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
}

TEST(DropDeadLetter, PurgeDeadLettersOfAgeZeroPurgesAll) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  for (int i = 0; i < 3; ++i) publish(ch, "bad " + std::to_string(i));
  auto rx = open_consumer(ch);
  for (int i = 0; i < 3; ++i) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c);
    ASSERT_FALSE(c->reject("no"));
  }
  auto all = ch.dead_letters();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_TRUE(std::is_sorted(all->begin(), all->end(),
                             [](const DeadLetter& a, const DeadLetter& b) { return a.failed_at < b.failed_at; }))
      << "oldest first";
  auto kept = ch.purge_dead_letters(std::chrono::hours(1));
  ASSERT_TRUE(kept);
  EXPECT_EQ(*kept, 0u) << "none is an hour old";
  EXPECT_EQ(ch.dead_letters()->size(), 3u);
  auto purged = ch.purge_dead_letters(0s);
  ASSERT_TRUE(purged) << purged.error().message();
  EXPECT_EQ(*purged, 3u);
  EXPECT_TRUE(ch.dead_letters()->empty());
  EXPECT_TRUE(list_dir(dir.sub("failed")).empty());
  EXPECT_TRUE(list_dir(dir.sub("state/meta")).empty());
}

TEST(DropDeadLetter, MalformedIdsAreInvalidArgumentAndUnknownIdsNotFound) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  // Files a path-traversing id would reach from failed/.
  spit(dir.sub("x"), "sentinel");
  spit(dir / "x", "sentinel");
  for (const std::string bad : {"../x", "../../x", "a/b", "", "..", ".", "/etc/passwd", "a\nb"}) {
    EXPECT_EQ(ch.dead_letter(bad).error(), errc::invalid_argument) << "'" << bad << "'";
    EXPECT_EQ(ch.requeue(bad), errc::invalid_argument) << "'" << bad << "'";
    EXPECT_EQ(ch.purge(bad), errc::invalid_argument) << "'" << bad << "'";
  }
  EXPECT_EQ(slurp(dir.sub("x")), "sentinel");
  EXPECT_EQ(slurp(dir / "x"), "sentinel");
  const std::string unknown = "1700000000000000000-somehost-1234-1-0badc0de";
  EXPECT_EQ(ch.dead_letter(unknown).error(), errc::not_found);
  EXPECT_EQ(ch.requeue(unknown), errc::not_found);
  EXPECT_EQ(ch.purge(unknown), errc::not_found);
}

TEST(DropDeadLetter, DeadLetterWithoutAReasonFileIsStillListed) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string id = publish(ch, "crashed while dead-lettering");
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  ASSERT_FALSE(c->reject("whatever"));
  ASSERT_EQ(::unlink(dir.sub("failed/" + id + ".reason").c_str()), 0);  // as a crash would leave it
  auto all = ch.dead_letters();
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().id, id);
  EXPECT_EQ(all->front().attempts, 1u);
  EXPECT_NE(test::lower(all->front().reason).find("no reason"), std::string::npos) << all->front().reason;
  ASSERT_FALSE(ch.requeue(id));
  auto again = rx.claim(30s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id(), id);
  EXPECT_FALSE(again->ack());
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
}

TEST(DropDeadLetter, AnOldMessageKeepsItsHeadersWhileMaintenanceRuns) {
  // Maintenance removes header files whose message is nowhere in the tree
  // (orphans older than stale_tmp_after). A message published long ago that
  // is moving between the directories (here: rejected and requeued, again
  // and again) is not an orphan.
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string id = publish(ch, "old", {{"content-type", "text/plain"}});
  const timespec two_hours_ago{::time(nullptr) - 7200, 0};
  const timespec times[2] = {two_hours_ago, two_hours_ago};
  ASSERT_EQ(::utimensat(AT_FDCWD, dir.sub("state/meta/" + id).c_str(), times, 0), 0);
  std::atomic<bool> stop{false};
  std::thread sweeper([&] {
    while (!stop.load()) {
      auto rx = DropConsumer::open(ch);  // each new consumer sweeps on its first scan
      if (rx) (void)rx->scan();
    }
  });
  auto rx = open_consumer(ch);
  const uint64_t rounds = test::scaled(5000);
  uint64_t round = 0;
  for (; round < rounds; ++round) {
    auto c = rx.claim(30s);
    if (!c) {
      ADD_FAILURE() << "round " << round << ": " << c.error().message();
      break;
    }
    if (header(*c, "content-type") != "text/plain") break;
    if (c->reject("again") || ch.requeue(id)) {
      ADD_FAILURE() << "round " << round << ": " << last_error_detail();
      break;
    }
  }
  stop = true;
  sweeper.join();
  EXPECT_EQ(round, rounds) << "the headers of " << id << " were removed in round " << round;
}

TEST(DropPoison, APoisonMessageDoesNotBlockTheOthers) {
  ScopedDir dir;
  auto o = fast_drop();
  o.max_attempts = 3;
  auto ch = open_channel(dir, o);
  const std::string poison = publish(ch, "poison");
  std::set<std::string> good;
  for (int i = 0; i < 5; ++i) good.insert(publish(ch, "good " + std::to_string(i)));
  auto rx = open_consumer(ch);
  std::map<std::string, int> acked;
  uint32_t poison_deliveries = 0;
  for (int round = 0; round < 100 && (acked.size() < good.size() || poison_deliveries < 3); ++round) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << "round " << round << ": " << c.error().message();
    if (read_text(*c) == "poison") {
      ++poison_deliveries;
      EXPECT_EQ(c->attempt(), poison_deliveries);
      ASSERT_FALSE(c->nack("cannot parse"));
    } else {
      ++acked[c->id()];
      ASSERT_FALSE(c->ack());
    }
  }
  EXPECT_EQ(poison_deliveries, 3u);
  ASSERT_EQ(acked.size(), good.size());
  for (const auto& [id, times] : acked) {
    EXPECT_TRUE(good.count(id)) << id;
    EXPECT_EQ(times, 1) << id;
  }
  expect_nothing_ready(rx, "the poison is dead, the good ones are done");
  auto dead = ch.dead_letters();
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->front().id, poison);
  EXPECT_EQ(dead->front().attempts, 3u);
  const auto n = counts(ch);
  EXPECT_EQ(n.failed, 1u);
  EXPECT_EQ(n.ready + n.claimed + n.retrying, 0u) << test::describe(n);
}

// --- idempotency and abandoned claims ----------------------------------------

TEST(DropIdempotency, SecondPublishWithTheSameKeyIsNeverDelivered) {
  for (const std::string key : {"order-42", "../../etc/passwd and spaces: \\ * ?"}) {
    SCOPED_TRACE(key);
    ScopedDir dir;
    auto ch = open_channel(dir);
    const std::string first = publish(ch, "charge 10 EUR", {{"idempotency-key", key}});
    const std::string second = publish(ch, "charge 10 EUR", {{"idempotency-key", key}});
    ASSERT_NE(first, second);
    auto rx = open_consumer(ch);
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->id(), first);
    ASSERT_FALSE(c->ack());
    EXPECT_EQ(list_dir(dir.sub("state/keys")).size(), 1u);

    ASSERT_FALSE(rx.scan());
    auto dup = rx.claim(200ms);
    EXPECT_FALSE(dup) << "the duplicate " << (dup ? dup->id() : "") << " was delivered";
    if (!dup) {
      EXPECT_EQ(dup.error(), errc::timed_out);
    }
    EXPECT_EQ(rx.stats().duplicates_skipped, 1u);
    EXPECT_EQ(rx.stats().claimed, 1u);
    EXPECT_TRUE(list_dir(dir.sub("new")).empty());
    EXPECT_TRUE(list_dir(dir.sub("work")).empty());
    EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
    EXPECT_EQ(list_dir(dir.path()), Names{"channel"}) << "an unsafe key stays inside the channel";
    EXPECT_EQ(list_dir(dir.root()),
              (Names{"done", "failed", "incoming", "new", "receipts", "retry", "state", "tmp", "work"}));
  }
}

TEST(DropIdempotency, DifferentKeysAreBothDelivered) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  publish(ch, "a", {{"idempotency-key", "k1"}});
  publish(ch, "b", {{"idempotency-key", "k2"}});
  auto rx = open_consumer(ch);
  for (const char* want : {"a", "b"}) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << want;
    EXPECT_EQ(read_text(*c), want);
    ASSERT_FALSE(c->ack());
  }
  EXPECT_EQ(rx.stats().duplicates_skipped, 0u);
}

TEST(DropClaim, ConsumersOnTwoThreadsCompeteAndTakeEachMessageOnce) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const uint64_t n = test::scaled(1500);
  std::set<std::string> published;
  for (uint64_t i = 0; i < n / 2; ++i) published.insert(publish(ch, std::to_string(i)));
  std::atomic<uint64_t> taken{0};
  std::vector<std::vector<std::string>> got(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      auto rx = DropConsumer::open(ch);
      if (!rx) {
        errors[t] = rx.error().message();
        return;
      }
      const auto deadline = std::chrono::steady_clock::now() + 60s;
      while (taken.load() < n && std::chrono::steady_clock::now() < deadline) {
        auto c = rx->claim(100ms);
        if (!c) continue;
        got[t].push_back(c->id());
        if (auto ec = c->ack()) errors[t] = "ack: " + ec.message();
        taken.fetch_add(1);
      }
    });
  }
  for (uint64_t i = n / 2; i < n; ++i) published.insert(publish(ch, std::to_string(i)));
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  std::multiset<std::string> all;
  for (const auto& g : got) all.insert(g.begin(), g.end());
  EXPECT_EQ(all.size(), n) << "deliveries";
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), published) << "each message once";
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
}

TEST(DropClaim, DestroyedUnsettledIsNackedAndComesBack) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string id = publish(ch, "abandoned");
  auto rx = open_consumer(ch);
  {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->attempt(), 1u);
  }
  EXPECT_EQ(rx.stats().nacked, 1u);
  EXPECT_TRUE(list_dir(dir.sub("work")).empty());
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), id);
  EXPECT_EQ(c->attempt(), 2u);
  EXPECT_EQ(read_text(*c), "abandoned");
  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(all_zero(counts(ch)));
}

TEST(DropClaim, MovedClaimIsSettledOnce) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  publish(ch, "moved");
  auto rx = open_consumer(ch);
  auto r = rx.claim(30s);
  ASSERT_TRUE(r);
  DropClaim c = std::move(*r);
  DropClaim d = std::move(c);
  EXPECT_EQ(read_text(d), "moved");
  EXPECT_FALSE(d.ack());
  EXPECT_EQ(rx.stats().acked, 1u);
  EXPECT_EQ(rx.stats().nacked, 0u) << "the moved-from claim settles nothing";
  EXPECT_TRUE(all_zero(counts(ch)));
}

// --- leases ----------------------------------------------------------------------

TEST(DropLease, ExpiredLeaseIsReclaimedByAnotherConsumerAndTheOldAckIsLeaseLost) {
  ScopedDir dir;
  auto o = fast_drop();
  o.lease = 200ms;
  auto ch = open_channel(dir, o);
  const std::string id = publish(ch, "slow job");
  auto rx1 = open_consumer(ch);
  auto rx2 = open_consumer(ch);
  ASSERT_NE(rx1.consumer_id(), rx2.consumer_id());
  auto held = rx1.claim(30s);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->attempt(), 1u);

  auto again = rx2.claim(30s);  // waits for the lease to expire
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->id(), id);
  EXPECT_EQ(again->attempt(), 2u);
  EXPECT_EQ(read_text(*again), "slow job");
  EXPECT_GE(rx2.stats().leases_reclaimed, 1u);
  EXPECT_NE(again->path().find(rx2.consumer_id()), std::string::npos) << again->path();

  EXPECT_EQ(held->ack(), errc::lease_lost);
  EXPECT_TRUE(exists(again->path())) << "the late ack leaves the new claim alone";
  EXPECT_EQ(list_dir(dir.sub("work")).size(), 1u);
  EXPECT_FALSE(again->ack());
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
  expect_nothing_ready(rx1, "processed once");
  expect_nothing_ready(rx2, "processed once");
}

TEST(DropLease, AckAfterTheMessageWentBackRecordsTheKeySoTheCopyIsSkipped) {
  ScopedDir dir;
  auto o = fast_drop();
  o.lease = 200ms;
  auto ch = open_channel(dir, o);
  publish(ch, "done late");
  auto rx1 = open_consumer(ch);
  auto rx2 = open_consumer(ch);
  auto held = rx1.claim(30s);
  ASSERT_TRUE(held);
  // rx2's scans move the expired claim back to new/ (it claims nothing).
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (counts(ch).ready == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the expired lease was never reclaimed";
    ASSERT_FALSE(rx2.scan());
  }
  EXPECT_EQ(list_dir(dir.sub("new")).size(), 1u);
  EXPECT_EQ(fields(list_dir(dir.sub("new"))[0]).back(), "1") << "back in new/ with one delivery";
  EXPECT_EQ(held->ack(), errc::lease_lost);
  auto copy = rx2.claim(200ms);
  EXPECT_FALSE(copy) << "processed already, yet delivered again";
  EXPECT_EQ(rx2.stats().duplicates_skipped, 1u);
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
}

TEST(DropLease, ExtendRenamesTheClaimAndMovesItsDeadlineLater) {
  ScopedDir dir;
  auto o = fast_drop();
  o.lease = 1h;
  auto ch = open_channel(dir, o);
  const std::string id = publish(ch, "long job");
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  const std::string before = c->path();
  const auto expires = c->lease_expires();
  ASSERT_FALSE(c->extend(2h));
  EXPECT_NE(c->path(), before);
  EXPECT_FALSE(exists(before));
  EXPECT_TRUE(exists(c->path()));
  EXPECT_GT(c->lease_expires(), expires);
  EXPECT_EQ(list_dir(dir.sub("work")), Names{basename_of(c->path())});
  const auto f_old = fields(basename_of(before)), f_new = fields(basename_of(c->path()));
  ASSERT_EQ(f_new.size(), 4u) << c->path();
  EXPECT_EQ(f_new[0], id);
  EXPECT_EQ(f_new[1], "1") << "extending is not a delivery";
  EXPECT_EQ(f_new[2], rx.consumer_id());
  EXPECT_GT(std::stoull(f_new[3]), std::stoull(f_old[3]));
  EXPECT_EQ(read_text(*c), "long job") << "the claim still reads";
  EXPECT_FALSE(c->ack()) << "ack after extend";
  EXPECT_TRUE(all_zero(counts(ch)));
}

TEST(DropLease, ExtendAfterTheMessageWasReclaimedIsLeaseLost) {
  ScopedDir dir;
  auto o = fast_drop();
  o.lease = 200ms;
  auto ch = open_channel(dir, o);
  publish(ch, "taken over");
  auto rx1 = open_consumer(ch);
  auto rx2 = open_consumer(ch);
  auto held = rx1.claim(30s);
  ASSERT_TRUE(held);
  auto again = rx2.claim(30s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt(), 2u);
  EXPECT_EQ(held->extend(1h), errc::lease_lost);
  EXPECT_TRUE(exists(again->path())) << "the failed extend leaves the new claim alone";
  EXPECT_FALSE(again->ack());
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
}

TEST(DropLease, LeaseExpiringOnTheLastAttemptMakesADeadLetter) {
  ScopedDir dir;
  auto o = fast_drop();
  o.lease = 200ms;
  o.max_attempts = 2;
  auto ch = open_channel(dir, o);
  const std::string id = publish(ch, "hangs every worker");
  auto rx1 = open_consumer(ch);
  auto rx2 = open_consumer(ch);
  auto rx3 = open_consumer(ch);
  auto first = rx1.claim(30s);
  ASSERT_TRUE(first);
  auto second = rx2.claim(30s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempt(), 2u);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (counts(ch).failed == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "never dead-lettered";
    auto third = rx3.claim(50ms);
    ASSERT_FALSE(third) << "delivered a third time with max_attempts 2";
  }
  auto d = ch.dead_letter(id);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->attempts, 2u);
  EXPECT_FALSE(d->reason.empty());
  EXPECT_EQ(second->ack(), errc::lease_lost);
  EXPECT_EQ(counts(ch).failed, 1u);
}

// --- incoming/: files from programs that do not cooperate ---------------------

TEST(DropIngest, SettleModeTakesAFileOnlyOnceItStoppedChanging) {
  ScopedDir dir;
  auto patient = fast_drop();
  patient.ingest.settle_time = 1h;
  auto ch = open_channel(dir, patient);
  auto rx = open_consumer(ch);
  const std::string incoming = dir.sub("incoming");
  spit(incoming + "/.report.csv.part", "hidden: an upload in progress");
  std::string content;
  for (int i = 0; i < 5; ++i) {
    const std::string piece = "row " + std::to_string(i) + "," + std::string(100 * i, 'x') + "\n";
    spit(incoming + "/report.csv", piece, /*append=*/true);
    content += piece;
    ASSERT_FALSE(rx.scan());
    auto c = rx.try_claim();
    EXPECT_FALSE(c) << "piece " << i << ": taken before it settled";
    if (!c) {
      EXPECT_EQ(c.error(), errc::would_block);
    }
  }
  expect_nothing_ready(rx, "not settled for an hour");
  EXPECT_EQ(list_dir(incoming), (Names{".report.csv.part", "report.csv"}));
  EXPECT_EQ(rx.stats().ingested, 0u);
  EXPECT_GE(counts(ch).incoming, 1u);

  auto quick = fast_drop();
  quick.ingest.settle_time = 50ms;
  test::set_ingest_rule(dir.root(), quick.ingest);  // the rule is the channel's: reopening with other options is not enough
  auto ch2 = open_channel(dir, quick);
  auto rx2 = open_consumer(ch2);
  auto c = rx2.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(header(*c, "original-name"), "report.csv");
  EXPECT_NE(header(*c, "published-at"), "<missing>");
  EXPECT_EQ(c->attempt(), 1u);
  EXPECT_EQ(read_text(*c), content);
  EXPECT_FALSE(c->ack());
  EXPECT_EQ(rx2.stats().ingested, 1u);
  EXPECT_EQ(list_dir(incoming), Names{".report.csv.part"}) << "hidden files are left alone";
  expect_nothing_ready(rx2, "taken once");
}

TEST(DropIngest, MarkerModeTakesAFileOnlyAfterItsMarker) {
  ScopedDir dir;
  auto o = fast_drop();
  o.ingest.completion = Completion::marker;
  o.ingest.settle_time = 1h;
  auto ch = open_channel(dir, o);
  auto rx = open_consumer(ch);
  const std::string incoming = dir.sub("incoming");
  spit(incoming + "/batch.dat", "all of the batch");
  spit(incoming + "/.other.part", "hidden");
  expect_nothing_ready(rx, "no marker yet");
  EXPECT_EQ(list_dir(incoming), (Names{".other.part", "batch.dat"}));

  spit(incoming + "/batch.dat.done", "");
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(header(*c, "original-name"), "batch.dat");
  EXPECT_EQ(read_text(*c), "all of the batch");
  EXPECT_FALSE(c->ack());
  EXPECT_EQ(list_dir(incoming), Names{".other.part"}) << "the marker is removed, the hidden file stays";
  EXPECT_EQ(rx.stats().ingested, 1u);
  expect_nothing_ready(rx, "the marker is not a message");
  EXPECT_TRUE(list_dir(dir.sub("failed")).empty());
}

TEST(DropIngest, FileRenamedIntoNewUnderAnyNameIsAdopted) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  spit(dir.sub("tmp/upload-in-progress"), "<invoice/>");
  ASSERT_EQ(::rename(dir.sub("tmp/upload-in-progress").c_str(), dir.sub("new/invoice-7.xml").c_str()), 0);
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(header(*c, "original-name"), "invoice-7.xml");
  EXPECT_EQ(read_text(*c), "<invoice/>");
  EXPECT_TRUE(parse_id(c->id())) << c->id();
  EXPECT_EQ(c->attempt(), 1u);
  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
  expect_nothing_ready(rx, "adopted once");
}

TEST(DropIngest, FileRenamedIntoNewWithANumericExtensionIsAdoptedToo) {
  // Only <id>.0 (an id as ringdrop makes them) is a message as is; any other
  // name — including ones that merely look like <word>.<number> — is adopted.
  ScopedDir dir;
  auto ch = open_channel(dir);
  for (const std::string name : {"backup.2024", "orders.1"}) {
    SCOPED_TRACE(name);
    spit(dir.sub("tmp/x"), "legacy " + name);
    ASSERT_EQ(::rename(dir.sub("tmp/x").c_str(), dir.sub("new/" + name).c_str()), 0);
    auto rx = open_consumer(ch);
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(header(*c, "original-name"), name);
    EXPECT_EQ(c->attempt(), 1u) << "a first delivery";
    EXPECT_TRUE(parse_id(c->id())) << "a fresh id, not " << c->id();
    EXPECT_EQ(read_text(*c), "legacy " + name);
    EXPECT_FALSE(c->ack());
  }
}

TEST(DropIngest, MessagePublishedByHandIsTakenAsIs) {
  ScopedDir dir;
  auto ch = open_channel(dir);
  const std::string id = "1700000000123456789-legacyhost-4242-1-0000abcd";
  spit(dir.sub("state/meta/" + id), "content-type: text/plain\nproducer: cobol-batch\n");
  spit(dir.sub("tmp/x"), "from a shell script");
  ASSERT_EQ(::rename(dir.sub("tmp/x").c_str(), dir.sub("new/" + id + ".0").c_str()), 0);
  auto rx = open_consumer(ch);
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), id);
  EXPECT_EQ(c->attempt(), 1u);
  EXPECT_EQ(header(*c, "content-type"), "text/plain");
  EXPECT_EQ(header(*c, "producer"), "cobol-batch");
  EXPECT_EQ(read_text(*c), "from a shell script");
  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(all_zero(counts(ch))) << test::describe(counts(ch));
}

TEST(DropIngest, AFileTheConsumerCannotTakeDoesNotBlockTheChannel) {
  // A shared drop zone like /tmp: incoming/ is root's, mode 1777, and the
  // consumer runs as a service account. It cannot move root's file (sticky
  // bit) — but the messages already in new/ must still be delivered.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
  ScopedDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  auto o = fast_drop();
  o.ingest.completion = Completion::marker;
  o.ingest.settle_time = 1h;
  { open_channel(dir, o); }
  ASSERT_EQ(::chown(dir.root().c_str(), 65534, 65534), 0);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.root())) {
    ASSERT_EQ(::lchown(e.path().c_str(), 65534, 65534), 0);
  }
  const std::string incoming = dir.sub("incoming");
  ASSERT_EQ(::chown(incoming.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(incoming.c_str(), 01777), 0);
  spit(incoming + "/roots-file.txt", "not yours to move");
  spit(incoming + "/roots-file.txt.done", "");
  const std::string root = dir.root();
  const int code = test::in_child([&root, o]() mutable {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0) {
      return 3;
    }
    o.create = false;
    auto ch = DropChannel::open(root, o);
    if (!ch) return 4;
    auto id = ch->publish(to_bytes("hello"));
    if (!id) return 5;
    auto rx = DropConsumer::open(*ch);
    if (!rx) return 6;
    auto c = rx->claim(30s);
    if (!c) {
      std::fprintf(stderr, "claim: %s — %s\n", c.error().message().c_str(), last_error_detail().c_str());
      return 1;
    }
    if (c->id() != *id || c->ack()) return 2;
    return 0;
  });
  EXPECT_EQ(code, 0) << "1: claim failed instead of delivering the ready message";
  EXPECT_EQ(slurp(incoming + "/roots-file.txt"), "not yours to move");
}

TEST(DropIngest, UnsafeEntriesAreRefusedIntoFailedAndNeverDelivered) {
  ScopedDir dir;
  auto ch = open_channel(dir);  // settle mode, 50 ms
  const std::string incoming = dir.sub("incoming");
  const std::string secret = dir / "secret";
  spit(secret, "outside the channel");
  ASSERT_EQ(::symlink(secret.c_str(), (incoming + "/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((incoming + "/pipe").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir((incoming + "/subdir").c_str(), 0700), 0);
  spit(incoming + "/subdir/inner", "inside a directory");
  spit(incoming + "/twice", "two names");
  ASSERT_EQ(::link((incoming + "/twice").c_str(), (dir / "twice-elsewhere").c_str()), 0);
  spit(incoming + "/good.txt", "good");

  auto rx = open_consumer(ch);
  std::vector<std::string> delivered;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (delivered.empty() || rx.stats().refused < 4) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "delivered " << delivered.size() << ", refused " << rx.stats().refused;
    auto c = rx.claim(100ms);
    if (!c) continue;
    delivered.push_back(header(*c, "original-name") + "=" + read_text(*c));
    ASSERT_FALSE(c->ack());
  }
  EXPECT_EQ(delivered, Names{"good.txt=good"});
  EXPECT_EQ(rx.stats().refused, 4u);
  EXPECT_TRUE(list_dir(incoming).empty()) << "refused entries leave incoming/";
  EXPECT_EQ(slurp(secret), "outside the channel") << "the symlink's target is untouched";
  EXPECT_EQ(slurp(dir / "twice-elsewhere"), "two names");

  auto dead = ch.dead_letters();
  ASSERT_TRUE(dead) << dead.error().message();
  ASSERT_EQ(dead->size(), 4u);
  std::string reasons;
  for (const auto& d : *dead) reasons += test::lower(d.reason) + "\n";
  EXPECT_TRUE(reasons.find("symlink") != std::string::npos ||
              reasons.find("symbolic link") != std::string::npos)
      << reasons;
  EXPECT_NE(reasons.find("fifo"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("director"), std::string::npos) << reasons;
  EXPECT_TRUE(reasons.find("hard link") != std::string::npos || reasons.find("links") != std::string::npos)
      << reasons;
  expect_nothing_ready(rx, "refused entries are never messages");
}

// --- discovery ---------------------------------------------------------------------

TEST(DropDiscovery, PollingModeDeliversWithoutInotify) {
  ScopedDir dir;
  auto ch = open_channel(dir, fast_drop(Discovery::polling));
  auto rx = open_consumer(ch);
  EXPECT_FALSE(rx.uses_inotify());
  std::string id;
  std::thread producer([&] { id = publish(ch, "polled"); });
  auto c = rx.claim(30s);
  producer.join();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), id);
  EXPECT_FALSE(c->ack());
  EXPECT_GE(rx.stats().scans, 1u);
}

TEST(DropDiscovery, InotifyWakesAWaitingClaimBetweenScans) {
  ScopedDir dir;
  {
    auto ch = open_channel(dir);
    EXPECT_TRUE(open_consumer(ch).uses_inotify()) << "automatic, on a local file system";
  }
  auto o = fast_drop(Discovery::inotify);
  o.scan_interval = 1h;  // only inotify can find what is published below
  auto ch = open_channel(dir, o);
  auto rx = open_consumer(ch);
  ASSERT_TRUE(rx.uses_inotify());
  for (int i = 0; i < 3; ++i) {
    std::string id;
    std::thread producer([&] { id = publish(ch, "notified " + std::to_string(i)); });
    auto c = rx.claim(30s);
    producer.join();
    ASSERT_TRUE(c) << i << ": " << c.error().message();
    EXPECT_EQ(c->id(), id);
    EXPECT_EQ(read_text(*c), "notified " + std::to_string(i));
    EXPECT_FALSE(c->ack());
  }
}

TEST(DropDiscovery, InotifyQueueOverflowLosesNothing) {
#if defined(RINGDROP_ASAN) || defined(RINGDROP_TSAN)
  GTEST_SKIP() << "tens of thousands of files: too slow under sanitizers";
#endif
  uint64_t queue = 0;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> queue;
  if (queue == 0 || queue > 200'000) GTEST_SKIP() << "max_queued_events " << queue;
  ScopedDir dir;
  auto o = fast_drop(Discovery::inotify);
  o.scan_interval = 1h;  // events and the overflow's rescan must find them all
  auto ch = open_channel(dir, o);
  auto rx = open_consumer(ch);
  ASSERT_TRUE(rx.uses_inotify());
  const uint64_t n = queue + queue / 8 + 100;
  std::set<std::string> want;
  for (uint64_t i = 0; i < n; ++i) {
    auto id = ch.publish(to_bytes(std::to_string(i)));
    ASSERT_TRUE(id) << i << ": " << id.error().message();
    want.insert(*id);
  }
  ASSERT_EQ(want.size(), n);
  for (uint64_t i = 0; i < n; ++i) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << "message " << i << " of " << n << ": " << c.error().message();
    ASSERT_EQ(want.erase(c->id()), 1u) << "unknown or repeated " << c->id();
    ASSERT_FALSE(c->ack());
  }
  EXPECT_TRUE(want.empty());
  EXPECT_GE(rx.stats().inotify_overflows, 1u);
  expect_nothing_ready(rx, "every id exactly once");
}

TEST(DropDiscovery, PollingOnlyDeliversThousands) {
  ScopedDir dir;
  auto ch = open_channel(dir, fast_drop(Discovery::polling));
  auto rx = open_consumer(ch);
  ASSERT_FALSE(rx.uses_inotify());
  const uint64_t n = test::scaled(3000);
  std::set<std::string> want;
  for (uint64_t i = 0; i < n; ++i) want.insert(publish(ch, std::to_string(i)));
  for (uint64_t i = 0; i < n; ++i) {
    auto c = rx.claim(30s);
    ASSERT_TRUE(c) << "message " << i << ": " << c.error().message();
    ASSERT_EQ(want.erase(c->id()), 1u) << "unknown or repeated " << c->id();
    ASSERT_FALSE(c->ack());
  }
  EXPECT_TRUE(want.empty());
  expect_nothing_ready(rx, "every id exactly once");
}

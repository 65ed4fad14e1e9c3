// ringdrop tail NAME — print messages as they pass: on a broadcast ring as
// one more subscriber, on a drop channel the messages ready in new/ (read,
// never claimed). An SPSC or MPMC ring's messages belong to its consumers:
// tail copies what waits there now (a look, taking none) and cannot follow.
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "cli.hpp"
#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/spsc_ring.hpp"

namespace ringdrop::cli {

namespace {

volatile std::sig_atomic_t stop = 0;
void on_signal(int) { stop = 1; }

struct Args {
  std::string name;
  std::string from = "oldest";
  size_t count = 0;  // -n: 0 is no limit
  bool follow = false;
  SchemaArgs schema;
};

void show(const Globals& g, const ops::Json& head, const ops::Json& described) {
  if (g.json) {
    ops::Json line = head;
    line["body"] = described;
    std::cout << line.dump(-1, ' ', false, ops::Json::error_handler_t::replace) << std::endl;
    return;
  }
  std::printf("--- %s\n", head.dump(-1, ' ', false, ops::Json::error_handler_t::replace).c_str());
  print_body(described);
  std::fflush(stdout);
}

void tail_broadcast(const Target& t, const Args& a, const Globals& g, const ops::SchemaType* schema) {
  auto sub = BroadcastSubscriber::open(t.ring, OpenMode::open, {}, a.from == "newest" ? StartAt::newest : StartAt::oldest);
  if (!sub) fail(sub.error(), "subscribe to " + t.ring.describe());
  size_t shown = 0;
  while (!stop && (a.count == 0 || shown < a.count)) {
    // Following, wait in slices so Ctrl-C is seen; else stop at the first gap.
    auto got = a.follow ? sub->read(std::chrono::milliseconds(200)) : sub->try_read();
    if (!got && (got.error() == errc::timed_out || got.error() == errc::would_block)) {
      if (a.follow) continue;
      break;
    }
    if (!got && got.error() == errc::message_lost) {
      show(g, {{"ring", t.ring.describe()}, {"lost", sub->last_missed()}}, {{"typed", false}, {"size", 0}, {"text", ""}});
      continue;
    }
    if (!got && got.error() == errc::peer_gone) break;
    if (!got) fail(got.error(), "read " + t.ring.describe());
    const ops::Json described = ops::describe_bytes(*got, schema);
    const uint64_t at = sub->position() - 1;
    (void)sub->release();
    show(g, {{"ring", t.ring.describe()}, {"message", at}}, described);
    ++shown;
  }
}

// An SPSC or MPMC ring: a look at what waits for its consumers, copied
// without taking any (peek_spsc, peek_mpmc). There is no following: the
// messages belong to the consumers, and a look has no place to resume from.
void look_at(const Target& t, RingKind kind, const Args& a, const Globals& g, const ops::SchemaType* schema) {
  if (a.follow) {
    fail(Exit::usage, t.describe() + " is an " + std::string(to_string(kind)) +
                          " ring: its messages belong to its consumers, so tail can look at what waits now "
                          "but not follow it (drop --follow)");
  }
  const size_t max = a.count == 0 ? SIZE_MAX : a.count;
  auto seen = kind == RingKind::spsc ? peek_spsc(t.ring, max) : peek_mpmc(t.ring, max);
  if (!seen) fail(seen.error(), "look into " + t.ring.describe());
  size_t i = 0;
  for (const auto& m : *seen) show(g, {{"ring", t.ring.describe()}, {"waiting", i++}}, ops::describe_bytes(m, schema));
  if (!g.json) {
    std::fprintf(stderr, "(%zu message%s waiting in %s, looked at, none taken)\n", seen->size(),
                 seen->size() == 1 ? "" : "s", t.ring.describe().c_str());
  }
}

// A drop channel's ready messages (new/<id>.<attempts>), oldest first, read
// as docs/file-drop.md lays them out; never claimed.
void tail_channel(const Target& t, const Args& a, const Globals& g, const ops::SchemaType* schema) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(t.channel + "/new", ec) || !fs::exists(t.channel + "/state", ec)) {
    fail(Exit::bad_input, t.channel + " is not a drop channel (no new/ and state/)");
  }
  std::set<std::string> seen;
  size_t shown = 0;
  while (!stop && (a.count == 0 || shown < a.count)) {
    std::vector<std::string> names;
    for (fs::directory_iterator it(t.channel + "/new", ec), end; !ec && it != end; it.increment(ec)) {
      const std::string n = it->path().filename().string();
      if (n.front() != '.' && !seen.count(n)) names.push_back(n);
    }
    std::sort(names.begin(), names.end());  // ids sort by publish time
    for (const auto& n : names) {
      if (stop || (a.count != 0 && shown >= a.count)) break;
      seen.insert(n);
      std::ifstream in(t.channel + "/new/" + n, std::ios::binary);
      if (!in) continue;  // claimed meanwhile
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const std::string id = n.substr(0, n.find('.'));
      ops::Json headers = ops::Json::object();
      std::ifstream meta(t.channel + "/state/meta/" + id);
      for (std::string line; std::getline(meta, line);) {
        const auto sep = line.find(": ");
        if (sep != std::string::npos) headers[line.substr(0, sep)] = line.substr(sep + 2);
      }
      const auto* b = reinterpret_cast<const std::byte*>(bytes.data());
      show(g, {{"channel", t.channel}, {"id", id}, {"headers", headers}}, ops::describe_bytes({b, bytes.size()}, schema));
      ++shown;
    }
    if (!a.follow) break;
    // Sampling the folder, as `stat --watch` samples counters.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

void add_tail(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("tail", "Print messages as they pass (broadcast rings, drop channels), or what waits (SPSC, MPMC), taking none");
  cmd->footer(
      "A broadcast ring is read as one more subscriber (from the oldest kept message, or --from newest); a block-"
      "policy ring then waits for tail too, as for any subscriber. A drop channel's ready messages are read from "
      "new/ without claiming them. Without --follow, tail stops when nothing more is there. An SPSC or MPMC ring "
      "gets a look: copies of what waits for its consumers now, none taken (no --follow).\n"
      "Examples: ringdrop tail shm:prices --follow --schema prices.capnp --type Tick\n"
      "          ringdrop tail /srv/drop/orders -n 10 --json");
  auto a = std::make_shared<Args>();
  cmd->add_option("name", a->name, "The broadcast ring or drop channel")->required();
  cmd->add_option("--from", a->from, "oldest (default) or newest")->check(CLI::IsMember({"oldest", "newest"}));
  cmd->add_option("-n", a->count, "Stop after this many messages");
  cmd->add_flag("--follow,-f", a->follow, "Keep waiting for more until interrupted");
  a->schema.add_to(cmd);
  cmd->callback([&g, a] {
    const Target t = resolve(a->name, g);
    const auto schema = a->schema.load();
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    if (t.kind == Target::Kind::channel) {
      tail_channel(t, *a, g, schema ? &*schema : nullptr);
      return;
    }
    auto seg = Segment::inspect(t.ring);
    if (!seg) fail(seg.error(), "open " + t.ring.describe());
    if (seg->info().kind != RingKind::broadcast) {
      look_at(t, seg->info().kind, *a, g, schema ? &*schema : nullptr);
      return;
    }
    tail_broadcast(t, *a, g, schema ? &*schema : nullptr);
  });
}

}  // namespace ringdrop::cli

// ringdrop send NAME — one message from the shell: raw bytes (--data,
// --file, or stdin) or a typed message from JSON (--schema/--type/--json).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli.hpp"
#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/spsc_ring.hpp"
#include "typed_json.hpp"

namespace ringdrop::cli {

namespace {

struct Args {
  std::string name;
  std::string data, file;
  bool has_data = false;
  std::vector<std::string> headers;  // k=v
  SchemaArgs schema;
  std::string json;
  std::string timeout = "5s";
};

std::vector<std::byte> read_all(std::istream& in) {
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// The message's bytes, from what was given.
std::vector<std::byte> message_bytes(const Args& a, const std::vector<std::pair<std::string, std::string>>& headers,
                                     bool typed_headers) {
  const int sources = (a.has_data ? 1 : 0) + (a.file.empty() ? 0 : 1) + (a.json.empty() ? 0 : 1);
  if (sources > 1) fail(Exit::usage, "give one of --data, --file and --json");
  if (!a.json.empty() || !a.schema.file.empty() || !a.schema.type.empty()) {
    if (a.json.empty() || a.schema.file.empty() || a.schema.type.empty()) {
      fail(Exit::usage, "a typed message needs --schema FILE, --type NAME and --json TEXT together");
    }
    const auto t = a.schema.load();
    std::vector<std::pair<std::string_view, std::string_view>> views;
    if (typed_headers) {
      for (const auto& [k, v] : headers) views.emplace_back(k, v);
    }
    MessageOptions o;
    o.headers = views;
    auto bytes = t->encode_message(a.json, o);
    if (!bytes) fail(bytes.error(), "encode the JSON as a " + a.schema.type);
    return std::move(*bytes);
  }
  if (a.has_data) return {reinterpret_cast<const std::byte*>(a.data.data()),
                          reinterpret_cast<const std::byte*>(a.data.data()) + a.data.size()};
  if (!a.file.empty()) {
    std::ifstream in(a.file, std::ios::binary);
    if (!in) fail(Exit::not_found, "cannot read " + a.file);
    return read_all(in);
  }
  if (::isatty(STDIN_FILENO) == 1) fail(Exit::usage, "give --data, --file or --json, or pipe the message into stdin");
  return read_all(std::cin);
}

template <class Producer>
RingSender sender_of(Result<Producer> p, const Location& where, std::chrono::milliseconds timeout) {
  if (!p) {
    if (p.error() == errc::role_taken) {
      fail(Exit::busy, "send to " + where.describe() + ": another live process holds its only producer role");
    }
    fail(p.error(), "open " + where.describe() + " to send");
  }
  auto held = std::make_shared<Producer>(std::move(*p));
  return [held, timeout](std::span<const std::byte> bytes) { return held->send(bytes, timeout); };
}

}  // namespace

RingSender open_sender(const Location& where, std::chrono::milliseconds timeout) {
  auto seg = Segment::inspect(where);
  if (!seg) fail(seg.error(), "open " + where.describe());
  switch (seg->info().kind) {
    case RingKind::spsc: return sender_of(SpscProducer::open(where, OpenMode::open), where, timeout);
    case RingKind::mpmc: return sender_of(MpmcProducer::open(where, OpenMode::open), where, timeout);
    case RingKind::broadcast: break;
  }
  return sender_of(BroadcastPublisher::open(where, OpenMode::open), where, timeout);
}

void add_send(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("send", "Send one message to a ring or drop channel");
  cmd->footer(
      "Raw bytes from --data, --file or stdin; or a typed message (an envelope around a payload of your schema) "
      "from --json with --schema and --type. Headers (--header k=v) go with a drop channel's message, or into a "
      "typed message's envelope; a raw ring message has none.\nExamples:\n"
      "  ringdrop send /srv/drop/orders --file order.csv --header content-type=text/csv\n"
      "  ringdrop send shm:orders --schema orders.capnp --type Order --json '{\"id\": 7, \"qty\": 2}'\n"
      "  echo hello | ringdrop send shm:events");
  auto a = std::make_shared<Args>();
  cmd->add_option("name", a->name, "The ring or drop channel")->required();
  cmd->add_option("--data", a->data, "The message's bytes, as given")->each([a](const std::string&) { a->has_data = true; });
  cmd->add_option("--file", a->file, "Send this file's bytes (a drop channel copies it in)");
  cmd->add_option("--header", a->headers, "key=value (repeatable)");
  a->schema.add_to(cmd);
  cmd->add_option("--json", a->json, "The payload as JSON (Cap'n Proto's JSON mapping)");
  cmd->add_option("--timeout", a->timeout, "How long a ring may stay full (default 5s)");
  cmd->callback([&g, a] {
    const Target t = resolve(a->name, g);
    const auto headers = parse_headers(a->headers);
    const auto timeout = parse_duration(a->timeout);
    const bool typed = !a->json.empty() || !a->schema.file.empty() || !a->schema.type.empty();
    if (t.kind == Target::Kind::service) {
      fail(Exit::usage, t.describe() + " is a service: a request needs a reply, which `send` does not wait for");
    }
    if (t.kind == Target::Kind::ring && !headers.empty() && !typed) {
      fail(Exit::usage, "a raw ring message has no headers: send a typed message (--schema, --type, --json) to carry them");
    }
    const auto bytes = message_bytes(*a, headers, t.kind == Target::Kind::ring);
    ops::Json out;
    if (t.kind == Target::Kind::channel) {
      DropOptions o;
      o.create = false;
      auto ch = DropChannel::open(t.channel, o);
      if (!ch) fail(ch.error(), "open channel " + t.channel);
      DropHeaders h;
      for (const auto& [k, v] : headers) h[k] = v;
      auto id = ch->publish(bytes, h);
      if (!id) fail(id.error(), "publish to " + t.channel);
      out = {{"sent", true}, {"to", t.channel}, {"id", *id}, {"bytes", bytes.size()}};
    } else {
      const RingSender send = open_sender(t.ring, timeout);
      if (auto ec = send(bytes)) fail(ec, "send " + std::to_string(bytes.size()) + " bytes to " + t.ring.describe());
      out = {{"sent", true}, {"to", t.ring.describe()}, {"bytes", bytes.size()}};
    }
    if (g.json) {
      print_json(out);
    } else if (out.contains("id")) {
      std::printf("sent %zu bytes to %s as %s\n", bytes.size(), out["to"].get<std::string>().c_str(),
                  out["id"].get<std::string>().c_str());
    } else {
      std::printf("sent %zu bytes to %s\n", bytes.size(), out["to"].get<std::string>().c_str());
    }
  });
}

}  // namespace ringdrop::cli

// ringdrop dlq ls|show|requeue|purge — dead letters of drop channels and
// rings: look at them, send them back, remove them.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>

#include "cli.hpp"
#include "dead_letter_query.hpp"
#include "dead_letter_store.hpp"

namespace ringdrop::cli {

namespace {

// The filter options of ls, requeue and purge (ops::DeadLetterFilter).
struct Filter {
  std::string reason, older_than, newer_than, source;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--reason", reason, "Only dead letters whose reason (the reason file's reason: line) contains TEXT");
    cmd->add_option("--older-than", older_than, "Only those that failed longer ago than DURATION (30s, 5m, 2h, 7d)");
    cmd->add_option("--newer-than", newer_than, "Only those that failed more recently than DURATION");
    cmd->add_option("--source", source, "Only those whose source or original-name header contains TEXT");
  }
  ops::DeadLetterFilter parsed() const {
    ops::DeadLetterFilter f;
    f.reason = reason;
    f.source = source;
    if (!older_than.empty()) f.older_than = parse_duration(older_than);
    if (!newer_than.empty()) f.newer_than = parse_duration(newer_than);
    return f;
  }
};

// The stores NAMEs give; without names, every ring that has dead letters and
// every channel of --channel / the config.
std::vector<ops::DeadLetterStore> stores_of(const std::vector<std::string>& names, const Globals& g) {
  std::vector<ops::DeadLetterStore> out;
  const auto add = [&](const Target& t) {
    auto s = t.kind == Target::Kind::channel ? ops::DeadLetterStore::of_channel(t.channel)
                                             : ops::DeadLetterStore::of_ring(t.ring);
    if (!s) fail(s.error(), "open the dead letters of " + t.describe());
    out.push_back(std::move(*s));
  };
  if (!names.empty()) {
    for (const auto& n : names) add(resolve(n, g));
    return out;
  }
  const ops::Inventory inv = ops::take_inventory(g.inventory());
  for (const auto& r : inv.rings) {
    if (r.dead_letters > 0) add(Target::of_ring(r.where));
  }
  for (const auto& c : inv.channels) add(Target::of_channel(c.root));
  return out;
}

std::vector<DeadLetter> matching(const ops::DeadLetterStore& s, const Filter& f) {
  auto picked = ops::matching(s, f.parsed());
  if (!picked) fail(picked.error(), "list the dead letters of " + s.label());
  return std::move(*picked);
}

bool confirm(const std::string& question) {
  if (::isatty(STDIN_FILENO) != 1) return false;
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

// A long run shows where it is on a terminal (never in a pipe or a log).
void progress(const char* verb, size_t done, size_t total) {
  if (total < 100 || ::isatty(STDERR_FILENO) != 1) return;
  if (done % 50 == 0 || done == total) std::fprintf(stderr, "\r%s %zu/%zu", verb, done, total);
  if (done == total) std::fprintf(stderr, "\n");
}

void add_ls_cmd(CLI::App* dlq, Globals& g) {
  auto* cmd = dlq->add_subcommand("ls", "List dead letters (of NAMEs, or of every ring and --channel)");
  cmd->footer("Example: ringdrop dlq ls /srv/drop/orders --reason timeout --counts");
  struct Args {
    std::vector<std::string> names;
    Filter filter;
    bool counts = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("name", a->names, "Rings or drop channels");
  a->filter.add_to(cmd);
  cmd->add_flag("--counts", a->counts, "Counts per reason instead of one line each");
  cmd->callback([&g, a] {
    ops::Json out = ops::Json::array();
    const auto now = std::chrono::system_clock::now();
    std::map<std::string, size_t> per_reason;
    for (const auto& s : stores_of(a->names, g)) {
      const auto list = matching(s, a->filter);
      for (const auto& d : list) ++per_reason[ops::reason_summary(d.reason)];
      if (g.json) {
        out.push_back(ops::listing_json(s, list));
      } else if (!a->counts) {
        std::printf("%s: %zu dead letter%s\n", s.label().c_str(), list.size(), list.size() == 1 ? "" : "s");
        for (const auto& d : list) {
          std::printf("  %-48s %3u  %5s  %s\n", d.id.c_str(), d.attempts, human_age(now - d.failed_at).c_str(),
                      ops::reason_summary(d.reason).c_str());
        }
      }
    }
    if (g.json) {
      if (a->counts) {
        ops::Json counts = ops::Json::object();
        for (const auto& [r, n] : per_reason) counts[r] = n;
        print_json({{"stores", out}, {"per_reason", counts}});
      } else {
        print_json(out);
      }
    } else if (a->counts) {
      for (const auto& [r, n] : per_reason) std::printf("%6zu  %s\n", n, r.c_str());
    }
  });
}

void add_show_cmd(CLI::App* dlq, Globals& g) {
  auto* cmd = dlq->add_subcommand("show", "One dead letter: its reason, attempts, headers and body");
  cmd->footer("Example: ringdrop dlq show shm:orders 1796588311096123440-vm-10170-0-8e57839b --raw > body.bin");
  struct Args {
    std::string name, id;
    bool raw = false;
    SchemaArgs schema;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("name", a->name, "The ring or drop channel")->required();
  cmd->add_option("id", a->id, "The dead letter's id")->required();
  cmd->add_flag("--raw", a->raw, "Write the body's bytes to stdout, nothing else");
  a->schema.add_to(cmd);
  cmd->callback([&g, a] {
    auto stores = stores_of({a->name}, g);
    auto& s = stores.front();
    auto d = s.find(a->id);
    if (!d) fail(d.error(), "find dead letter " + a->id + " of " + s.label());
    auto body = s.body(a->id);
    if (!body) fail(body.error(), "read dead letter " + a->id + " of " + s.label());
    if (a->raw) {
      std::fwrite(body->data(), 1, body->size(), stdout);
      return;
    }
    const auto schema = a->schema.load();
    const ops::Json described = ops::describe_bytes(*body, schema ? &*schema : nullptr);
    if (g.json) {
      print_json(ops::shown_json(s, *d, described));
      return;
    }
    std::printf("id         %s\nstore      %s\nattempts   %u\nfailed at  %s\npath       %s\nreason:\n", d->id.c_str(),
                s.label().c_str(), d->attempts, ops::iso_time(d->failed_at).c_str(), d->path.c_str());
    std::string reason = d->reason;
    for (size_t at = 0; at < reason.size();) {
      const size_t nl = reason.find('\n', at);
      std::printf("  %s\n", reason.substr(at, nl - at).c_str());
      at = nl == std::string::npos ? reason.size() : nl + 1;
    }
    std::printf("headers:\n");
    for (const auto& [k, v] : d->headers) std::printf("  %s: %s\n", k.c_str(), v.c_str());
    std::printf("body: ");
    print_body(described);
  });
}

struct Batch {
  std::string name;
  std::vector<std::string> ids;
  bool all = false;
  Filter filter;
  size_t limit = 0;
  bool dry_run = false;

  void add_to(CLI::App* cmd) {
    cmd->add_option("name", name, "The ring or drop channel")->required();
    cmd->add_option("id", ids, "Dead letter ids (or --all, with the filters)");
    cmd->add_flag("--all", all, "Every dead letter that matches the filters");
    filter.add_to(cmd);
    cmd->add_option("--limit", limit, "At most this many");
    cmd->add_flag("--dry-run", dry_run, "Only list what would be done");
  }
  // The dead letters to act on: the ids given (each must exist), or all that match.
  std::vector<DeadLetter> pick(const ops::DeadLetterStore& s) const {
    if (ids.empty() == !all) fail(Exit::usage, "give dead letter ids, or --all (with filters)");
    std::vector<DeadLetter> out;
    if (all) {
      out = matching(s, filter);
    } else {
      for (const auto& id : ids) {
        auto d = s.find(id);
        if (!d) fail(d.error(), "find dead letter " + id + " of " + s.label());
        out.push_back(std::move(*d));
      }
    }
    if (limit > 0 && out.size() > limit) out.resize(limit);
    return out;
  }
};

// Runs `act` on each picked dead letter; prints what happened; a failure of
// one does not stop the rest (exit `problems` then).
template <class Act>
void run_batch(const Batch& b, ops::DeadLetterStore& s, const std::vector<DeadLetter>& picked, const Globals& g,
               const char* verb, const char* done_verb, Act act) {
  std::vector<ops::BatchResult> results;
  size_t ok = 0, n = 0;
  std::string first_error;
  for (const auto& d : picked) {
    std::string error;
    if (!b.dry_run) {
      if (auto ec = act(s, d.id)) {
        error = ops::batch_error(ec);
        if (first_error.empty()) first_error = d.id + ": " + error;
      }
    }
    ok += error.empty() ? 1 : 0;
    progress(verb, ++n, picked.size());
    if (g.json) {
      results.push_back({d.id, error});
    } else {
      if (b.dry_run) {
        std::printf("would %s %s\n", verb, d.id.c_str());
      } else {
        std::printf("%s %s%s\n", error.empty() ? done_verb : "FAILED", d.id.c_str(), error.empty() ? "" : (": " + error).c_str());
      }
    }
  }
  if (g.json) {
    print_json(ops::batch_json(s.label(), b.dry_run, results));
  } else {
    std::printf("%s: %zu of %zu %s%s\n", s.label().c_str(), b.dry_run ? 0 : ok, picked.size(), done_verb,
                b.dry_run ? " (dry run: nothing changed)" : "");
  }
  if (ok < picked.size() && !b.dry_run) {
    fail(Exit::problems, std::to_string(picked.size() - ok) + " of " + std::to_string(picked.size()) +
                             " failed; first: " + first_error);
  }
}

void add_requeue_cmd(CLI::App* dlq, Globals& g) {
  auto* cmd = dlq->add_subcommand("requeue", "Send dead letters back where they came from");
  cmd->footer(
      "A drop channel's dead letter goes back to new/ with its attempts reset: one rename, so a crash loses and "
      "doubles nothing. A ring's is sent into the ring, then removed: a crash between leaves it in both "
      "(at-least-once, as the ring is). With --to, into another ring or channel: into a channel on the same file "
      "system, one rename again; otherwise sent (or copied), then removed: at-least-once.\n"
      "Examples: ringdrop dlq requeue /srv/drop/orders ID1 ID2\n"
      "          ringdrop dlq requeue shm:orders --all --reason 'db down' --limit 1000");
  auto b = std::make_shared<Batch>();
  auto timeout = std::make_shared<std::string>("5s");
  auto to = std::make_shared<std::string>();
  b->add_to(cmd);
  cmd->add_option("--timeout", *timeout, "A ring's: how long to wait for room for each (default 5s)");
  cmd->add_option("--to", *to, "Send them to this ring or drop channel instead of back where they came from");
  cmd->callback([&g, b, timeout, to] {
    const auto t = parse_duration(*timeout);
    auto stores = stores_of({b->name}, g);
    auto& s = stores.front();
    const auto picked = b->pick(s);
    if (to->empty()) {
      run_batch(*b, s, picked, g, "requeue", "requeued",
                [t](ops::DeadLetterStore& st, const std::string& id) { return st.requeue(id, t); });
      return;
    }
    const Target dest = resolve(*to, g);
    if (dest.kind == Target::Kind::channel) {
      DropOptions o;
      o.create = false;
      auto ch = DropChannel::open(dest.channel, o);
      if (!ch) fail(ch.error(), "open channel " + dest.channel);
      auto channel = std::make_shared<DropChannel>(std::move(*ch));
      run_batch(*b, s, picked, g, "move", "moved", [channel](ops::DeadLetterStore& st, const std::string& id) {
        auto moved = st.move_to(id, *channel);
        return moved ? std::error_code{} : moved.error();
      });
      return;
    }
    if (dest.kind == Target::Kind::service) fail(Exit::usage, "--to " + *to + " is a service: name a ring or a drop channel");
    const RingSender send = b->dry_run ? RingSender{} : open_sender(dest.ring, t);
    run_batch(*b, s, picked, g, "move", "moved", [&send](ops::DeadLetterStore& st, const std::string& id) -> std::error_code {
      auto body = st.body(id);
      if (!body) return body.error();
      if (auto ec = send(*body)) return ec;
      return st.purge(id);  // sent, then removed: a crash between leaves it in both
    });
  });
}

void add_purge_cmd(CLI::App* dlq, Globals& g) {
  auto* cmd = dlq->add_subcommand("purge", "Delete dead letters for good");
  cmd->footer(
      "Asks first on a terminal; elsewhere (scripts) it needs --yes.\n"
      "Example: ringdrop dlq purge /srv/drop/orders --all --older-than 7d --yes");
  auto b = std::make_shared<Batch>();
  auto yes = std::make_shared<bool>(false);
  b->add_to(cmd);
  cmd->add_flag("--yes,-y", *yes, "Do not ask");
  cmd->callback([&g, b, yes] {
    auto stores = stores_of({b->name}, g);
    auto& s = stores.front();
    const auto picked = b->pick(s);  // once: what is confirmed is what is purged
    if (!b->dry_run && !*yes) {
      const size_t n = picked.size();
      if (!confirm("purge " + std::to_string(n) + " dead letter(s) of " + s.label() + "?")) {
        fail(Exit::usage, "not purging " + std::to_string(n) + " dead letter(s) of " + s.label() +
                              " without confirmation (give --yes)");
      }
    }
    run_batch(*b, s, picked, g, "purge", "purged",
              [](ops::DeadLetterStore& st, const std::string& id) { return st.purge(id); });
  });
}

}  // namespace

void add_dlq(CLI::App& app, Globals& g) {
  auto* dlq = app.add_subcommand("dlq", "Dead letters of drop channels and rings: ls, show, requeue, purge");
  dlq->require_subcommand(1);
  dlq->fallthrough();
  add_ls_cmd(dlq, g);
  add_show_cmd(dlq, g);
  add_requeue_cmd(dlq, g);
  add_purge_cmd(dlq, g);
}

}  // namespace ringdrop::cli

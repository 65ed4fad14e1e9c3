#include "drop/drop_maintenance.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <chrono>
#include <set>

#include "drop/drop_dead_letter.hpp"
#include "drop/drop_name.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

/// Time since the entry last changed: its ctime, which every write, chmod
/// and rename moves and no writer can set back (cp -p and tar preserve an
/// old mtime). A missing entry is not old.
int64_t age_ns(const DropTree& t, Dir d, const std::string& name, int64_t now_ns) {
  struct stat st{};
  if (::fstatat(t.fd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  return now_ns - (static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec);
}

template <class Duration>
int64_t ns(Duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

/// Removes the entries of `d` older than `retention` that `pick` accepts.
template <class Pick>
void remove_older(DropConsumerState& s, Dir d, int64_t retention_ns, Pick pick) {
  const DropTree& t = *s.tree;
  auto names = list_dir(t, d);
  if (!names) return;
  const int64_t now = wall_ns();
  for (const auto& n : *names) {
    if (pick(n) && age_ns(t, d, n, now) > retention_ns) discard_entry(t, d, n);
  }
}

/// Ids of every message somewhere in the tree, or nothing when a directory
/// could not be listed. The directories are listed one after another, so a
/// message that moves from one not yet listed to one already listed is
/// missed: they are listed forwards and then backwards, which sees any
/// message that moved once meanwhile.
std::optional<std::set<std::string>> live_ids(const DropTree& t) {
  constexpr Dir dirs[] = {Dir::ready, Dir::work, Dir::retry, Dir::failed, Dir::done, Dir::tmp};
  std::set<std::string> ids;
  const auto add = [&](Dir d) {
    auto names = list_dir(t, d);
    if (!names) return false;
    for (const auto& n : *names) ids.insert(n.substr(0, n.find('.')));
    return true;
  };
  for (Dir d : dirs) {
    if (!add(d)) return std::nullopt;
  }
  for (auto it = std::rbegin(dirs); it != std::rend(dirs); ++it) {
    if (!add(*it)) return std::nullopt;
  }
  return ids;
}

/// A tmp/ file unchanged for stale_tmp_after was left by a writer that died
/// (a live writer's writes, and publish_file's rename, move its ctime). The
/// headers of a stale tmp/<id>.tmp go with it: it was never published.
void sweep_tmp(const DropTree& t, int64_t stale_ns) {
  auto names = list_dir(t, Dir::tmp);
  if (!names) return;
  const int64_t now = wall_ns();
  for (const auto& n : *names) {
    if (age_ns(t, Dir::tmp, n, now) <= stale_ns || remove_entry(t, Dir::tmp, n)) continue;
    const std::string id = n.substr(0, n.find('.'));
    if (is_message_id(id)) discard_entry(t, Dir::meta, id);
  }
}

}  // namespace

std::error_code promote_retries(DropConsumerState& s, int64_t now_ms, int64_t& next_ms) {
  const DropTree& t = *s.tree;
  auto names = list_dir(t, Dir::retry);
  if (!names) return names.error();
  for (const auto& n : *names) {
    const auto r = parse_retry(n);
    if (!r) continue;
    if (r->not_before_ms > now_ms) {
      next_ms = std::min(next_ms, r->not_before_ms);
      continue;
    }
    const auto ec = move_entry(t, Dir::retry, n, Dir::ready, ready_name(r->id, r->attempts));
    if (!ec) DropCounters::add(s.counters.retries_promoted);
    s.counters.count_failed_move(ec);
  }
  return {};
}

std::error_code reclaim_expired(DropConsumerState& s, int64_t now_ms, int64_t& next_ms) {
  const DropTree& t = *s.tree;
  auto names = list_dir(t, Dir::work);
  if (!names) return names.error();
  for (const auto& n : *names) {
    const auto w = parse_work(n);
    if (!w) continue;
    if (w->lease_end_ms > now_ms) {
      next_ms = std::min(next_ms, w->lease_end_ms);
      continue;
    }
    std::error_code ec;
    if (w->attempts >= t.options.max_attempts) {
      ec = move_to_failed(t, {Dir::work, n, w->id, w->attempts,
                              "lease expired on the last attempt: consumer " + w->consumer +
                                  " neither settled nor extended it (crashed or hung)",
                              s.consumer_id});
      if (!ec) DropCounters::add(s.counters.dead_lettered);
    } else {
      ec = move_entry(t, Dir::work, n, Dir::ready, ready_name(w->id, w->attempts));
      if (!ec) DropCounters::add(s.counters.leases_reclaimed);
    }
    s.counters.count_failed_move(ec);
  }
  return {};
}

void sweep_retention(DropConsumerState& s) {
  const DropTree& t = *s.tree;
  const DropOptions& o = t.options;
  sweep_tmp(t, ns(o.stale_tmp_after));
  remove_older(s, Dir::keys, ns(o.key_retention), [](const std::string&) { return true; });
  if (t.fd(Dir::receipts) >= 0) {
    remove_older(s, Dir::receipts, ns(o.receipt_retention), [](const std::string&) { return true; });
  }
  // Dead letters age from when they failed (dead_letter_age).
  auto failed = list_dir(t, Dir::failed);
  if (failed) {
    const auto cutoff = std::chrono::system_clock::now() - o.dead_letter_retention;
    for (const auto& n : *failed) {
      const auto r = parse_ready(n);
      if (r && failed_at(t, r->id, n) < cutoff) (void)purge_dead_letter(t, r->id, n);
    }
  }
  // Orphaned headers (a consumer died between removing a message and its
  // headers) are a few bytes each: they go only after key_retention, so a
  // message that keeps moving while this looks is never stripped of them.
  const auto ids = live_ids(t);
  if (!ids) return;  // a directory we could not list may hold their messages
  remove_older(s, Dir::meta, ns(o.key_retention), [&](const std::string& id) { return !ids->count(id); });
}

}  // namespace ringdrop::detail

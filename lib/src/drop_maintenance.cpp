#include "drop_maintenance.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "drop_dead_letter.hpp"
#include "drop_name.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

int64_t age_ns(const DropTree& t, Dir d, const std::string& name, int64_t now_ns) {
  struct stat st{};
  if (::fstatat(t.fd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  return now_ns - (static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
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
    if (pick(n) && age_ns(t, d, n, now) > retention_ns) (void)remove_entry(t, d, n);
  }
}

/// Ids of every message somewhere in the tree. The directories are listed
/// one after another, so a message that moves from one not yet listed to
/// one already listed is missed: they are listed forwards and then
/// backwards, which sees any message that moved once meanwhile.
std::set<std::string> live_ids(const DropTree& t) {
  constexpr Dir dirs[] = {Dir::ready, Dir::work, Dir::retry, Dir::failed, Dir::done, Dir::tmp};
  std::set<std::string> ids;
  const auto add = [&](Dir d) {
    auto names = list_dir(t, d);
    if (!names) return;
    for (const auto& n : *names) ids.insert(n.substr(0, n.find('.')));
  };
  for (Dir d : dirs) add(d);
  for (auto it = std::rbegin(dirs); it != std::rend(dirs); ++it) add(*it);
  return ids;
}

/// A writer's tmp/<id>.tmp is stale when neither its id (when publishing
/// began) nor its mtime (the last write) is recent: a file moved in by
/// publish_file keeps its old mtime but has a fresh id. The headers of a
/// stale one go with it: the writer died before publishing.
void sweep_tmp(const DropTree& t, int64_t stale_ns) {
  auto names = list_dir(t, Dir::tmp);
  if (!names) return;
  const int64_t now = wall_ns();
  for (const auto& n : *names) {
    const std::string id = n.substr(0, n.find('.'));
    const int64_t started = now - id_time_ns(id);
    if (age_ns(t, Dir::tmp, n, now) <= stale_ns || started <= stale_ns) continue;
    if (!remove_entry(t, Dir::tmp, n) && is_message_id(id)) (void)remove_entry(t, Dir::meta, id);
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
  // Dead letters age by their reason file (written when they failed).
  auto failed = list_dir(t, Dir::failed);
  if (failed) {
    const int64_t now = wall_ns();
    for (const auto& n : *failed) {
      const auto r = parse_ready(n);
      if (r && age_ns(t, Dir::failed, reason_name(r->id), now) > ns(o.dead_letter_retention)) {
        (void)purge_dead_letter(t, r->id, n);
      }
    }
  }
  // Orphaned headers (a consumer died between removing a message and its
  // headers) are a few bytes each: they go only after key_retention, so a
  // message that keeps moving while this looks is never stripped of them.
  const auto ids = live_ids(t);
  remove_older(s, Dir::meta, ns(o.key_retention), [&](const std::string& id) { return !ids.count(id); });
}

}  // namespace ringdrop::detail

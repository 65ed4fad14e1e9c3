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

/// Counts a rename another consumer won; passes on any other error.
std::error_code lost_or(DropConsumerState& s, std::error_code ec) {
  if (ec != errc::not_found) return ec;
  DropCounters::add(s.counters.lost_races);
  return {};
}

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

/// Ids of every message still somewhere in the tree.
std::set<std::string> live_ids(const DropTree& t) {
  std::set<std::string> ids;
  for (Dir d : {Dir::ready, Dir::work, Dir::retry, Dir::failed, Dir::done, Dir::tmp}) {
    auto names = list_dir(t, d);
    if (!names) continue;
    for (const auto& n : *names) ids.insert(n.substr(0, n.find('.')));
  }
  return ids;
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
    if (auto e = lost_or(s, ec)) return e;
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
    if (auto e = lost_or(s, ec)) return e;
  }
  return {};
}

void sweep_retention(DropConsumerState& s) {
  const DropTree& t = *s.tree;
  const DropOptions& o = t.options;
  const auto any = [](const std::string&) { return true; };
  remove_older(s, Dir::tmp, ns(o.stale_tmp_after), any);
  remove_older(s, Dir::keys, ns(o.key_retention), any);
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
  // Headers are written before their message appears, so only old orphans go.
  const auto ids = live_ids(t);
  remove_older(s, Dir::meta, ns(o.stale_tmp_after), [&](const std::string& id) { return !ids.count(id); });
}

}  // namespace ringdrop::detail

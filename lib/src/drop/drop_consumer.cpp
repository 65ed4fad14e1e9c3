#include "ringdrop/drop_consumer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>

#include "drop/drop_counters.hpp"
#include "drop/drop_dead_letter.hpp"
#include "drop/drop_headers.hpp"
#include "drop/drop_ingest.hpp"
#include "drop/drop_maintenance.hpp"
#include "drop/drop_name.hpp"
#include "drop/drop_settle.hpp"
#include "drop/drop_watch.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop {

using detail::Dir;

namespace {
/// How often retention is swept (each consumer; the work is idempotent).
constexpr auto kSweepInterval = std::chrono::minutes(1);
}  // namespace

struct DropConsumer::Impl {
  std::shared_ptr<detail::DropConsumerState> state;
  std::optional<detail::Watch> watch;
  detail::Ingest ingest;
  std::set<std::string> candidates;  ///< names in new/, oldest first
  bool rescan = true;                ///< incoming/ changed, or events were lost
  Deadline next_scan{};              ///< the periodic full scan
  Deadline next_due = Deadline::max();  ///< a retry, lease end or settling file
  Deadline next_sweep{};

  const detail::DropTree& tree() const { return *state->tree; }

  void absorb_events() {
    if (!watch) return;
    auto ev = watch->drain();
    if (ev.broken) {
      // inotify failed under us: fall back to polling, which always works.
      watch.reset();
      detail::DropCounters::add(state->counters.errors);
    }
    for (auto& n : ev.ready) {
      if (n.front() != '.') candidates.insert(std::move(n));
    }
    if (ev.overflow) detail::DropCounters::add(state->counters.inotify_overflows);
    rescan = rescan || ev.incoming || ev.overflow;
  }

  bool scan_due(Deadline now) const { return rescan || now >= next_scan || now >= next_due; }

  /// A full scan. Every phase runs even when an earlier one failed (an
  /// unreadable incoming/ must not stop retries, reclaims or claims); the
  /// first error is returned.
  std::error_code scan() {
    detail::DropCounters::add(state->counters.scans);
    const auto now = Clock::now();
    const int64_t now_ms = detail::wall_ms();
    const auto interval = tree().options.scan_interval;
    Deadline due = Deadline::max();
    int64_t next_ms = INT64_MAX;
    rescan = false;
    std::error_code first;
    const auto keep = [&](std::error_code ec) {
      if (ec && !first) first = ec;
    };
    keep(ingest.pass(*state, now, due));
    keep(detail::promote_retries(*state, now_ms, next_ms));
    keep(detail::reclaim_expired(*state, now_ms, next_ms));
    if (now >= next_sweep) {
      detail::sweep_retention(*state);
      next_sweep = now + kSweepInterval;
    }
    auto names = detail::list_dir(tree(), Dir::ready);
    if (names) {
      candidates.clear();
      for (auto& n : *names) {
        if (n.front() != '.') candidates.insert(std::move(n));
      }
    }
    keep(names.error());
    // A time in a name is only a hint of when to look again: a wild one (a
    // typo in a hand-made name) is clamped to the next scan, and nothing
    // comes sooner than 1 ms, so an entry that keeps failing cannot spin us.
    if (next_ms != INT64_MAX) {
      due = std::min(due, now + std::chrono::milliseconds(std::min<int64_t>(next_ms - now_ms, interval.count())));
    }
    // The next scan is an interval from this one's end, not its start: with
    // a backlog so long that listing it takes longer than the interval, a
    // start-based time is always past, and every claim would list it again
    // (23 claims/s at 60,000 waiting files, found by the kill -9 campaign).
    const auto end = Clock::now();
    next_scan = end + interval;
    next_due = std::max(due, end + std::chrono::milliseconds(1));
    return first;
  }

  /// Claims `name` from new/: the claim, or nothing (lost to another
  /// consumer, refused, already processed, or not movable: counted).
  std::optional<DropClaim> take(const std::string& name) {
    const detail::DropTree& t = tree();
    const auto ready = detail::parse_ready(name);
    if (!ready) {
      // A file a legacy program renamed into new/ under its own name: it is
      // complete, so adopt it under an id (a later scan finds it).
      rescan = true;
      state->counters.count_failed_move(detail::Ingest::adopt(*state, Dir::ready, name));
      return std::nullopt;
    }
    const uint32_t attempt = ready->attempts + 1;
    const int64_t lease_end = detail::wall_ms() + t.options.lease.count();
    const std::string work = detail::work_name(ready->id, attempt, state->consumer_id, lease_end);
    if (auto ec = detail::move_entry(t, Dir::ready, name, Dir::work, work)) {
      state->counters.count_failed_move(ec);
      return std::nullopt;
    }
    const int fd = ::openat(t.fd(Dir::work), work.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st{};
    if (fd < 0 && errno != ELOOP) {
      // Not the message's fault (no permission, out of descriptors, I/O):
      // put it back as it was, for this or another consumer to try again.
      const int err = errno;
      (void)detail::move_entry(t, Dir::work, work, Dir::ready, name);
      (void)detail::fs_error(err, "open", t.path(Dir::work, work));
      detail::DropCounters::add(state->counters.errors);
      return std::nullopt;
    }
    const char* unsafe = fd < 0 ? "a symbolic link" : (::fstat(fd, &st), detail::unsafe_kind(st));
    if (unsafe) {
      if (fd >= 0) ::close(fd);
      const auto ec = detail::move_to_failed(
          t, {Dir::work, work, ready->id, attempt, std::string("refused in new/: ") + unsafe,
              state->consumer_id});
      if (!ec) detail::DropCounters::add(state->counters.refused);
      state->counters.count_failed_move(ec);
      return std::nullopt;
    }
    DropHeaders headers = detail::read_headers(t, ready->id);
    if (detail::key_processed(t, detail::message_key(headers, ready->id))) {
      ::close(fd);
      (void)detail::finish_message(t, ready->id, attempt, work);
      detail::DropCounters::add(state->counters.duplicates_skipped);
      return std::nullopt;
    }
    detail::DropCounters::add(state->counters.claimed);
    return std::optional<DropClaim>(DropClaim(
        state, ready->id, attempt, work, fd, static_cast<uint64_t>(st.st_size), std::move(headers),
        std::chrono::system_clock::time_point(std::chrono::milliseconds(lease_end))));
  }

  /// The oldest candidate this consumer wins, or would_block.
  Result<DropClaim> take_next() {
    while (!candidates.empty()) {
      const std::string name = std::move(candidates.extract(candidates.begin()).value());
      if (auto got = take(name)) return std::move(*got);
    }
    return errc::would_block;
  }

  void wait(Deadline until) const {
    if (watch) {
      (void)watch->wait(until);
    } else {
      detail::sleep_until(until);
    }
  }
};

DropConsumer::DropConsumer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
DropConsumer::DropConsumer(DropConsumer&&) noexcept = default;
DropConsumer& DropConsumer::operator=(DropConsumer&&) noexcept = default;
DropConsumer::~DropConsumer() = default;

Result<DropConsumer> DropConsumer::open(const DropChannel& channel) {
  auto impl = std::make_unique<Impl>();
  impl->state = std::make_shared<detail::DropConsumerState>();
  impl->state->tree = channel.tree_;
  impl->state->consumer_id = detail::new_consumer_id();
  const detail::DropTree& t = *channel.tree_;
  const Discovery d = t.options.discovery;
  if (d == Discovery::inotify || (d == Discovery::automatic && !t.network_fs)) {
    auto w = detail::Watch::open(t);
    if (w) {
      impl->watch.emplace(std::move(*w));
    } else if (d == Discovery::inotify) {
      return w.error();  // asked for explicitly; automatic falls back to polling
    }
  }
  return DropConsumer(std::move(impl));
}

Result<DropClaim> DropConsumer::claim(std::chrono::nanoseconds timeout) {
  return claim_until(deadline_after(timeout));
}

Result<DropClaim> DropConsumer::claim_until(Deadline deadline) {
  Impl& m = *impl_;
  for (;;) {
    m.absorb_events();
    // Scan when due even with names in hand: a steady stream of inotify
    // names must not starve retries, lease reclaims and incoming/.
    std::error_code scan_error;
    if (m.scan_due(Clock::now())) scan_error = m.scan();
    auto c = m.take_next();
    if (c || c.error() != errc::would_block) return c;
    if (scan_error) return scan_error;  // nothing to hand out, and a reason
    if (Clock::now() >= deadline) return errc::timed_out;
    m.wait(std::min({deadline, m.next_scan, m.next_due}));
  }
}

Result<DropClaim> DropConsumer::try_claim() {
  Impl& m = *impl_;
  m.absorb_events();
  const bool due = m.scan_due(Clock::now());
  std::error_code scan_error = due ? m.scan() : std::error_code{};
  auto c = m.take_next();
  if (c || c.error() != errc::would_block) return c;
  if (!due) {
    scan_error = m.scan();  // looking once means looking at the tree
    c = m.take_next();
    if (c) return c;
  }
  if (scan_error) return scan_error;
  return c;
}

std::error_code DropConsumer::scan() { return impl_->scan(); }

DropConsumerStats DropConsumer::stats() const noexcept { return impl_->state->counters.snapshot(); }
const std::string& DropConsumer::consumer_id() const noexcept { return impl_->state->consumer_id; }
bool DropConsumer::uses_inotify() const noexcept { return impl_->watch.has_value(); }

}  // namespace ringdrop

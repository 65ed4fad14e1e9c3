#include "drop/drop_ingest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "drop/drop_dead_letter.hpp"
#include "drop/drop_headers.hpp"
#include "drop/drop_name.hpp"
#include "drop/drop_receipt.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

bool same(const timespec& a, const timespec& b) noexcept {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

int64_t ns_of(const timespec& t) noexcept {
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

/// A header value cannot hold control characters; a file name can.
std::string printable(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// How long ago `st` last changed by the wall clock (ctime moves on every
/// write and rename and cannot be set).
int64_t quiet_ns(const struct stat& st) noexcept { return wall_ns() - ns_of(st.st_ctim); }

/// Flushes a file a foreign writer left (best effort: it is theirs).
void flush_foreign(const DropTree& t, Dir d, const std::string& name) {
  const int fd = ::openat(t.fd(d), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

/// A marker whose data file is gone: left by a consumer that died between
/// taking the file and removing the marker, or made by a writer after its
/// file had already settled and been taken. Once older than settle_time (a
/// writer makes the data first, so a young marker may only be ahead of a
/// listing that missed its file), an empty one is removed, lest the next
/// file of that name be taken half-written; one with content is not a mere
/// marker, and goes to failed/ with a reason, never lost, never delivered.
void Ingest::orphan_marker(DropConsumerState& s, const std::vector<std::string>& names,
                           const std::string& marker) {
  const DropTree& t = *s.tree;
  const std::string data = marker.substr(0, marker.size() - t.options.ingest.marker_suffix.size());
  if (std::binary_search(names.begin(), names.end(), data)) return;
  struct stat st{};
  if (::fstatat(t.fd(Dir::incoming), marker.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (quiet_ns(st) <= std::chrono::nanoseconds(t.options.ingest.settle_time).count()) return;
  if (S_ISREG(st.st_mode) && st.st_size == 0) {
    discard_entry(t, Dir::incoming, marker);
    return;
  }
  s.counters.count_failed_move(adopt(s, Dir::incoming, marker, "a completion marker (" +
                                                                 t.options.ingest.marker_suffix +
                                                                 ") with content, whose data file never came"));
}

bool SettleTracker::settled(const std::string& name, const Look& look, Clock::time_point now,
                            Clock::duration settle, Clock::time_point& due) {
  auto [it, fresh] = seen_.try_emplace(name, Seen{look, now});
  Seen& s = it->second;
  const bool changed = s.look.ino != look.ino || s.look.size != look.size ||
                       !same(s.look.mtime, look.mtime) || !same(s.look.ctime, look.ctime);
  if (!fresh && changed) s = Seen{look, now};
  if (now - s.since >= settle) return true;
  due = std::min(due, s.since + settle);
  return false;
}

void SettleTracker::keep_only(const std::vector<std::string>& present) {
  std::erase_if(seen_, [&](const auto& kv) {
    return !std::binary_search(present.begin(), present.end(), kv.first);
  });
}

const char* unsafe_kind(const struct stat& st) noexcept {
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: return st.st_nlink > 1 ? "a file with more than one hard link" : nullptr;
    case S_IFLNK: return "a symbolic link";
    case S_IFIFO: return "a FIFO";
    case S_IFDIR: return "a directory";
    case S_IFSOCK: return "a socket";
    case S_IFCHR:
    case S_IFBLK: return "a device";
    default: return "not a regular file";
  }
}

/// A headers sidecar whose file never came: written before its file, so it
/// may wait long; once unchanged for stale_tmp_after, it goes to failed/
/// with a reason (never lost, never delivered as a message).
void Ingest::orphan_sidecar(DropConsumerState& s, const std::vector<std::string>& names,
                            const std::string& sidecar) {
  const DropTree& t = *s.tree;
  const std::string data = sidecar.substr(0, sidecar.size() - kSidecarSuffix.size());
  if (std::binary_search(names.begin(), names.end(), data)) return;
  struct stat st{};
  if (::fstatat(t.fd(Dir::incoming), sidecar.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (quiet_ns(st) <= std::chrono::nanoseconds(t.options.stale_tmp_after).count()) return;
  s.counters.count_failed_move(adopt(s, Dir::incoming, sidecar, "a headers sidecar whose data file never came"));
}

std::error_code Ingest::adopt(DropConsumerState& s, Dir from, const std::string& name,
                              const std::string& refuse) {
  const DropTree& t = *s.tree;
  struct stat st{};
  if (::fstatat(t.fd(from), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return fs_error(errno, "stat", t.path(from, name));
  }
  const std::string id = new_message_id();
  // A sidecar <name>.headers, written by the writer before its file, gives
  // it headers; original-name is ringdrop's. Lines that are not headers
  // (no ": ", a bad key) are skipped, as in any header file; headers that
  // break the limits (a value over 1024 bytes...) refuse the file.
  DropHeaders headers;
  std::string refused = refuse;
  const bool sidecar = from == Dir::incoming && refuse.empty() &&
                       ::faccessat(t.fd(from), (name + std::string(kSidecarSuffix)).c_str(), F_OK,
                                   AT_SYMLINK_NOFOLLOW) == 0;
  if (sidecar) {
    auto text = read_small_file(t, from, name + std::string(kSidecarSuffix));
    if (text) headers = decode_headers(*text);
    headers.erase(std::string(drop_header::original_name));
    headers.erase(std::string(drop_header::published_at));
    if (!text || check_headers(headers)) {
      refused = "its headers sidecar (" + std::string(kSidecarSuffix) + ") cannot be read as headers: " +
                last_error_detail();
      headers.clear();
    }
  }
  headers[std::string(drop_header::original_name)] = printable(name);
  if (auto ec = write_headers(t, id, headers)) return ec;
  const char* unsafe = unsafe_kind(st);
  if (!unsafe && !is_plain_name(name)) unsafe = "a name with control characters";
  if (!unsafe && !refused.empty()) unsafe = refused.c_str();
  std::error_code ec;
  if (unsafe) {
    ec = move_to_failed(t, {from, name, id, 0, std::string("refused: ") + unsafe + " (" +
                                                   printable(name) + ")", ""});
    if (!ec) DropCounters::add(s.counters.refused);
  } else {
    if (t.options.durable) flush_foreign(t, from, name);
    ec = move_entry(t, from, name, Dir::ready, ready_name(id, 0));
    if (!ec) sync_dir(t, Dir::ready);
    if (!ec) DropCounters::add(s.counters.ingested);
    if (!ec) write_receipt(t, id, headers, "taken");
  }
  if (ec) discard_entry(t, Dir::meta, id);
  // A sidecar that refused its file stays, to be set aside as an orphan.
  if (!ec && sidecar && refused.empty()) discard_entry(t, from, name + std::string(kSidecarSuffix));
  return ec;
}

std::error_code Ingest::pass(DropConsumerState& s, Clock::time_point now, Clock::time_point& due) {
  const DropTree& t = *s.tree;
  auto names = list_dir(t, Dir::incoming);
  if (!names) return names.error();
  settle_.keep_only(*names);
  const IngestOptions& o = t.options.ingest;
  const bool by_marker = o.completion == Completion::marker;
  for (const auto& name : *names) {
    if (name.front() == '.') continue;
    // A marker is never a message, whichever rule the channel follows: a
    // writer may use the marker protocol on a channel that settles.
    if (ends_with(name, o.marker_suffix)) {
      orphan_marker(s, *names, name);
      continue;
    }
    if (ends_with(name, kSidecarSuffix)) {  // taken with its file
      orphan_sidecar(s, *names, name);
      continue;
    }
    struct stat st{};
    if (::fstatat(t.fd(Dir::incoming), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    // Its marker says it is complete, under either rule.
    const bool marked = std::binary_search(names->begin(), names->end(), name + o.marker_suffix);
    bool take = unsafe_kind(st) != nullptr || marked;
    if (!take && !by_marker) {
      const SettleTracker::Look look{st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
      take = settle_.settled(name, look, now, o.settle_time, due);
    }
    if (!take) continue;
    const auto ec = adopt(s, Dir::incoming, name);
    s.counters.count_failed_move(ec);  // skipped: one stuck file must not stop the rest
    if (!ec && marked) (void)remove_entry(t, Dir::incoming, name + o.marker_suffix);
  }
  return {};
}

}  // namespace ringdrop::detail

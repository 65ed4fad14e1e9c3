#include "ringdrop/drop_channel.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "drop/drop_dead_letter.hpp"
#include "drop/drop_headers.hpp"
#include "drop/drop_ingest.hpp"
#include "drop/drop_name.hpp"
#include "drop/drop_receipt.hpp"
#include "drop/drop_tree.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop {

using detail::Dir;

namespace {

std::string tmp_name(std::string_view id) { return std::string(id) + ".tmp"; }

/// Makes the file tmp/<id>.tmp a message: its headers first (if it has any:
/// most messages need no second file), then one rename into new/ that never
/// replaces. On failure the headers are removed and the file is left in tmp/
/// for the caller to delete or give back.
Result<std::string> publish_tmp(const detail::DropTree& t, const std::string& id,
                                const DropHeaders& headers) {
  std::error_code ec;
  if (!headers.empty()) {
    ec = detail::write_headers(t, id, headers);
    detail::sync_dir(t, Dir::meta);  // durable: no message in new/ without its headers
  }
  if (!ec) ec = detail::move_entry(t, Dir::tmp, tmp_name(id), Dir::ready, detail::ready_name(id, 0));
  if (ec) {
    detail::discard_entry(t, Dir::meta, id);
    return ec;
  }
  detail::sync_dir(t, Dir::ready);
  return id;
}

}  // namespace

DropChannel::DropChannel(std::shared_ptr<detail::DropTree> tree) noexcept : tree_(std::move(tree)) {}
DropChannel::DropChannel(DropChannel&&) noexcept = default;
DropChannel& DropChannel::operator=(DropChannel&&) noexcept = default;
DropChannel::~DropChannel() = default;

Result<DropChannel> DropChannel::open(std::string root, DropOptions options) {
  auto tree = detail::open_tree(std::move(root), options);
  if (!tree) return tree.error();
  return DropChannel(std::move(*tree));
}

const std::string& DropChannel::root() const noexcept { return tree_->root; }
const DropOptions& DropChannel::options() const noexcept { return tree_->options; }

Result<DropWriter> DropChannel::begin_publish(DropHeaders headers) {
  if (auto ec = detail::check_headers(headers)) return ec;
  std::string id = detail::new_message_id();
  const std::string name = tmp_name(id);
  const int fd = ::openat(tree_->fd(Dir::tmp), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                          tree_->options.dir_mode & 0666);
  if (fd < 0) return detail::fs_error(errno, "create", tree_->path(Dir::tmp, name));
  ::fchmod(fd, tree_->options.dir_mode & 0666);  // the umask does not apply
  return DropWriter(tree_, std::move(id), std::move(headers), fd);
}

Result<std::string> DropChannel::publish(std::span<const std::byte> payload,
                                         const DropHeaders& headers) {
  auto w = begin_publish(headers);
  if (!w) return w.error();
  if (auto ec = w->write(payload)) return ec;  // the writer's destructor removes the file
  return w->commit();
}

Result<std::string> DropChannel::publish_file(const std::string& path, const DropHeaders& headers) {
  if (auto ec = detail::check_headers(headers)) return ec;
  const std::string id = detail::new_message_id();
  const std::string tmp = tmp_name(id);
  // Move first, then look at what arrived: checking the path first would
  // leave a window in which it could be swapped for a symlink.
  if (::renameat(AT_FDCWD, path.c_str(), tree_->fd(Dir::tmp), tmp.c_str()) != 0) {
    if (errno == EXDEV) {
      return detail::fail(errc::invalid_argument,
                          path + " is on another file system than " + tree_->root +
                              ": copy it in with begin_publish()");
    }
    return detail::fs_error(errno, "rename", path);
  }
  const auto give_back = [&] {
    (void)::renameat2(tree_->fd(Dir::tmp), tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  };
  const int fd = ::openat(tree_->fd(Dir::tmp), tmp.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  struct stat st{};
  const char* unsafe = fd < 0                   ? (errno == ELOOP ? "a symbolic link" : "unreadable")
                       : ::fstat(fd, &st) != 0 ? "unreadable"
                                               : detail::unsafe_kind(st);
  if (fd >= 0 && !unsafe && tree_->options.durable) (void)::fsync(fd);
  if (fd >= 0) ::close(fd);
  if (unsafe) {
    give_back();
    return detail::fail(errc::unsafe_file, path + " is " + unsafe);
  }
  auto published = publish_tmp(*tree_, id, headers);
  if (!published) give_back();  // the caller's file, not ours to delete
  return published;
}

Result<std::vector<DeadLetter>> DropChannel::dead_letters() const {
  auto names = detail::list_dir(*tree_, Dir::failed);
  if (!names) return names.error();
  std::vector<DeadLetter> out;
  for (const auto& n : *names) {
    if (!detail::parse_ready(n)) continue;  // reason files
    auto d = detail::load_dead_letter(*tree_, n);
    if (d) out.push_back(std::move(*d));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const DeadLetter& a, const DeadLetter& b) { return a.failed_at < b.failed_at; });
  return out;
}

Result<DeadLetter> DropChannel::dead_letter(std::string_view id) const {
  auto name = detail::find_dead_letter(*tree_, id);
  if (!name) return name.error();
  return detail::load_dead_letter(*tree_, *name);
}

Result<DropReceipt> DropChannel::receipt(std::string_view name, std::string_view id,
                                         std::chrono::milliseconds timeout) const {
  if (timeout <= std::chrono::milliseconds::zero()) return detail::read_receipt(*tree_, name, id, std::nullopt);
  // A timeout too long to count in nanoseconds is no limit (deadline_after saturates from there).
  constexpr auto kLongest = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds::max());
  return detail::read_receipt(*tree_, name, id, timeout >= kLongest ? Deadline::max() : deadline_after(timeout));
}

std::error_code DropChannel::requeue(std::string_view id) {
  auto name = detail::find_dead_letter(*tree_, id);
  if (!name) return name.error();
  // The reason first: once the message is back in new/, it may fail again
  // and get a new reason before a later removal could run.
  detail::discard_entry(*tree_, Dir::failed, detail::reason_name(id));
  if (auto ec = detail::move_entry(*tree_, Dir::failed, *name, Dir::ready, detail::ready_name(id, 0))) {
    return ec;
  }
  detail::sync_dir(*tree_, Dir::ready);
  return {};
}

std::error_code DropChannel::purge(std::string_view id) {
  auto name = detail::find_dead_letter(*tree_, id);
  if (!name) return name.error();
  return detail::purge_dead_letter(*tree_, id, *name);
}

Result<std::size_t> DropChannel::purge_dead_letters(std::chrono::seconds age) {
  auto all = dead_letters();
  if (!all) return all.error();
  const auto cutoff = std::chrono::system_clock::now() - age;
  std::size_t purged = 0;
  for (const auto& d : *all) {
    if (d.failed_at > cutoff) continue;
    const std::string name = detail::ready_name(d.id, d.attempts);
    if (!detail::purge_dead_letter(*tree_, d.id, name)) ++purged;
  }
  return purged;
}

Result<std::string> DropChannel::put_dead_letter(std::span<const std::byte> payload, const DropHeaders& headers,
                                                 uint32_t attempts, std::string_view reason, std::string_view who) {
  auto w = begin_publish(headers);
  if (!w) return w.error();
  if (auto ec = w->write(payload)) return ec;  // the writer's destructor removes the file
  const std::string id = w->id();
  const std::string tmp = tmp_name(id);
  std::error_code ec = w->close_file();
  if (!ec && !headers.empty()) {
    ec = detail::write_headers(*tree_, id, headers);
    detail::sync_dir(*tree_, Dir::meta);  // no dead letter without its headers
  }
  if (!ec) {
    ec = detail::move_to_failed(*tree_, {Dir::tmp, tmp, id, attempts, std::string(reason), std::string(who)});
  }
  if (ec) {
    detail::discard_entry(*tree_, Dir::meta, id);
    detail::discard_entry(*tree_, Dir::tmp, tmp);
    return ec;
  }
  return id;
}

Result<DropCounts> DropChannel::counts() const {
  DropCounts c;
  const auto count = [&](Dir d, uint64_t& into, auto keep) -> std::error_code {
    auto names = detail::list_dir(*tree_, d);
    if (!names) return names.error();
    into = static_cast<uint64_t>(std::count_if(names->begin(), names->end(), keep));
    return {};
  };
  const auto visible = [](const std::string& n) { return n.front() != '.'; };
  const auto message = [](const std::string& n) { return detail::parse_ready(n).has_value(); };
  for (auto ec : {count(Dir::incoming, c.incoming, visible), count(Dir::ready, c.ready, visible),
                  count(Dir::work, c.claimed, visible), count(Dir::retry, c.retrying, visible),
                  count(Dir::failed, c.failed, message), count(Dir::done, c.done, message)}) {
    if (ec) return ec;
  }
  return c;
}

// --- DropWriter ---------------------------------------------------------------

DropWriter::DropWriter(std::shared_ptr<detail::DropTree> tree, std::string id, DropHeaders headers,
                       int fd)
    : tree_(std::move(tree)), id_(std::move(id)), headers_(std::move(headers)), fd_(fd) {}

DropWriter::DropWriter(DropWriter&& o) noexcept
    : tree_(std::move(o.tree_)), id_(std::move(o.id_)), headers_(std::move(o.headers_)),
      fd_(std::exchange(o.fd_, -1)) {}

DropWriter& DropWriter::operator=(DropWriter&& o) noexcept {
  if (this != &o) {
    abort();
    tree_ = std::move(o.tree_);
    id_ = std::move(o.id_);
    headers_ = std::move(o.headers_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

DropWriter::~DropWriter() { abort(); }

std::error_code DropWriter::write(std::span<const std::byte> bytes) {
  if (fd_ < 0) return detail::fail(errc::invalid_argument, "writer already committed or aborted");
  return detail::write_all(fd_, bytes.data(), bytes.size());
}

void DropWriter::abort() noexcept {
  if (fd_ < 0) return;
  ::close(std::exchange(fd_, -1));
  char name[160];  // no allocation here: this runs in destructors
  if (std::snprintf(name, sizeof name, "%s.tmp", id_.c_str()) < static_cast<int>(sizeof name)) {
    (void)::unlinkat(tree_->fd(Dir::tmp), name, 0);
  }
}

std::error_code DropWriter::close_file() {
  if (fd_ < 0) return detail::fail(errc::invalid_argument, "writer already committed or aborted");
  const std::string path = tree_->path(Dir::tmp, tmp_name(id_));
  std::error_code ec;
  if (tree_->options.durable && ::fsync(fd_) != 0) ec = detail::fs_error(errno, "fsync", path);
  // close() reports deferred write errors (NFS, quotas): a message whose
  // close failed is not published.
  if (::close(std::exchange(fd_, -1)) != 0 && !ec) ec = detail::fs_error(errno, "close", path);
  return ec;
}

Result<std::string> DropWriter::commit() {
  if (fd_ < 0) return detail::fail(errc::invalid_argument, "writer already committed or aborted");
  const std::error_code ec = close_file();
  auto published = ec ? Result<std::string>(ec) : publish_tmp(*tree_, id_, headers_);
  if (!published) detail::discard_entry(*tree_, Dir::tmp, tmp_name(id_));
  return published;
}

}  // namespace ringdrop

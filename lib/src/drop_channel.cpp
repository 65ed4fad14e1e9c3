#include "ringdrop/drop_channel.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "drop_dead_letter.hpp"
#include "drop_headers.hpp"
#include "drop_ingest.hpp"
#include "drop_name.hpp"
#include "drop_tree.hpp"
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
  if (!headers.empty()) ec = detail::write_headers(t, id, headers);
  if (!ec) ec = detail::move_entry(t, Dir::tmp, tmp_name(id), Dir::ready, detail::ready_name(id, 0));
  if (ec) {
    (void)detail::remove_entry(t, Dir::meta, id);
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
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return detail::fs_error(errno, "stat", path);
  if (const char* unsafe = detail::unsafe_kind(st)) {
    return detail::fail(errc::unsafe_file, path + " is " + unsafe);
  }
  const std::string id = detail::new_message_id();
  if (::renameat(AT_FDCWD, path.c_str(), tree_->fd(Dir::tmp), tmp_name(id).c_str()) != 0) {
    if (errno == EXDEV) {
      return detail::fail(errc::invalid_argument,
                          path + " is on another file system than " + tree_->root +
                              ": copy it in with begin_publish()");
    }
    return detail::fs_error(errno, "rename", path);
  }
  if (tree_->options.durable) {
    const int fd = ::openat(tree_->fd(Dir::tmp), tmp_name(id).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      (void)::fsync(fd);
      ::close(fd);
    }
  }
  auto published = publish_tmp(*tree_, id, headers);
  if (!published) {
    // Give the caller's file back rather than delete it.
    (void)::renameat(tree_->fd(Dir::tmp), tmp_name(id).c_str(), AT_FDCWD, path.c_str());
  }
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

std::error_code DropChannel::requeue(std::string_view id) {
  auto name = detail::find_dead_letter(*tree_, id);
  if (!name) return name.error();
  if (auto ec = detail::move_entry(*tree_, Dir::failed, *name, Dir::ready, detail::ready_name(id, 0))) {
    return ec;
  }
  (void)detail::remove_entry(*tree_, Dir::failed, detail::reason_name(id));
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
  (void)detail::remove_entry(*tree_, Dir::tmp, tmp_name(id_));
}

Result<std::string> DropWriter::commit() {
  if (fd_ < 0) return detail::fail(errc::invalid_argument, "writer already committed or aborted");
  const std::string path = tree_->path(Dir::tmp, tmp_name(id_));
  std::error_code ec;
  if (tree_->options.durable && ::fsync(fd_) != 0) ec = detail::fs_error(errno, "fsync", path);
  // close() reports deferred write errors (NFS, quotas): a message whose
  // close failed is not published.
  if (::close(std::exchange(fd_, -1)) != 0 && !ec) ec = detail::fs_error(errno, "close", path);
  auto published = ec ? Result<std::string>(ec) : publish_tmp(*tree_, id_, headers_);
  if (!published) (void)detail::remove_entry(*tree_, Dir::tmp, tmp_name(id_));
  return published;
}

}  // namespace ringdrop

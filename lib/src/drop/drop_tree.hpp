// drop_tree.hpp — a drop channel's directory tree, held open, and the few
// file operations every state change is made of.
//
// Every operation works relative to a directory descriptor opened once
// (openat, renameat2, unlinkat): no path is ever concatenated from a name a
// writer chose, and the tree keeps working if its root is renamed. The
// POSIX file toolkit under them (Fd, fs_error, write_all...) is
// core/posix_file.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/posix_file.hpp"
#include "ringdrop/drop_types.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop::detail {

enum class Dir { incoming, tmp, ready, work, retry, done, failed, state, meta, keys, receipts };
inline constexpr int kDirCount = 11;

/// The text of state/layout; another text is errc::incompatible_layout.
inline constexpr std::string_view kLayoutText = "ringdrop file-drop channel, layout 1\n";

struct DropTree {
  std::string root;
  DropOptions options;
  std::array<Fd, kDirCount> fds;
  /// NFS, CIFS/SMB, FUSE...: inotify does not see remote changes there.
  bool network_fs = false;

  DropTree() = default;
  DropTree(const DropTree&) = delete;
  DropTree& operator=(const DropTree&) = delete;

  int fd(Dir d) const noexcept { return fds[static_cast<int>(d)].get(); }
  /// "<root>/<dir>/<name>", for messages and for callers that want a path.
  std::string path(Dir d, std::string_view name) const;
};

/// Relative path of `d` under the root ("new", "state/meta"...).
const char* dir_path(Dir d) noexcept;

Result<std::shared_ptr<DropTree>> open_tree(std::string root, const DropOptions& options);

/// Renames without replacing (rename_noreplace: a plain rename where the
/// file system lacks RENAME_NOREPLACE). not_found when the source is gone
/// (another process moved it first), already_exists on a name collision.
std::error_code move_entry(const DropTree& t, Dir from, std::string_view from_name, Dir to,
                           std::string_view to_name);
/// Removes file `name` from `d`; not_found when it is already gone.
std::error_code remove_entry(const DropTree& t, Dir d, std::string_view name);
/// Removes `name` if it is there, for cleanup after a failure: reports
/// nothing, and leaves last_error_detail() naming the failure itself.
void discard_entry(const DropTree& t, Dir d, const std::string& name) noexcept;
/// Removes entry `name` of directory `dir_fd` and, if it is a directory,
/// everything under it, never following a symlink.
std::error_code remove_tree_at(int dir_fd, const std::string& name);
/// Writes a small file atomically: into tmp/, then renamed over `name` in `d`
/// (or, without `replace`, renamed only if `name` is not there:
/// already_exists when it is).
std::error_code write_small_file(const DropTree& t, Dir d, std::string_view name,
                                 std::string_view content, bool replace = true);
/// The content of a small regular file (its first `limit` bytes; a symlink,
/// FIFO, device or directory is unsafe_file).
Result<std::string> read_small_file(const DropTree& t, Dir d, std::string_view name,
                                    std::size_t limit = 64 * 1024);
/// The names in `d`, sorted (which sorts messages by publish time).
Result<std::vector<std::string>> list_dir(const DropTree& t, Dir d);
/// fsync of the directory, when the channel is durable. Best effort: it runs
/// after a rename has made the change visible, and failing the operation
/// then would invite the caller to repeat a change that already happened.
void sync_dir(const DropTree& t, Dir d) noexcept;

}  // namespace ringdrop::detail

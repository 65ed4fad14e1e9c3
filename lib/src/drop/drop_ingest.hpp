// drop_ingest.hpp — taking files from writers that do not cooperate.
//
// A file in incoming/ is taken when it is complete: its marker file
// `<name><marker_suffix>` exists (under either rule), or, under
// Completion::settle, it has not changed for settle_time. The rule is the
// channel's (state/ingest, drop_ingest_rule.hpp). A name ending in the
// marker suffix is a marker, never a message. "Not changed" means the same inode, size, mtime and
// ctime at every look for settle_time of the consumer's own steady clock
// (the writer cannot set ctime, and every write moves it; file times are
// never compared with our clock, which may step). Taking it is one rename
// into new/ under a fresh id, after its headers (original-name) are
// written. A marker is removed after its file is taken; a marker left
// without its file is removed when it is older than settle_time if empty,
// and refused into failed/ if it has content (Ingest::orphan_marker).
//
// A sidecar `<name>.headers` (key: value lines, as state/meta/<id>), written
// before the file, gives it headers; it is taken with the file, and is
// never a message itself. Each file taken gets a receipt (drop_receipt.hpp).
//
// Only regular files with one link are taken. Symlinks, FIFOs, sockets,
// devices, directories and hard-linked files are refused: moved to failed/
// with a reason saying what they were. Hidden names (".x", the convention of
// FTP servers for uploads in progress) are left alone.
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "drop/drop_counters.hpp"
#include "drop/drop_tree.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop::detail {

/// Remembers how each file looked, to tell when it stopped changing.
class SettleTracker {
 public:
  struct Look {
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{}, ctime{};
  };
  /// Records `look` of `name` at `now`; true once it has been the same for
  /// `settle`. Otherwise lowers `due` to when it could be.
  bool settled(const std::string& name, const Look& look, Clock::time_point now,
               Clock::duration settle, Clock::time_point& due);
  /// Forgets files that are no longer there (`present` is sorted).
  void keep_only(const std::vector<std::string>& present);

 private:
  struct Seen {
    Look look;
    Clock::time_point since;
  };
  std::map<std::string, Seen> seen_;
};

/// `<name>.headers` in incoming/: the headers of `<name>`, written before it.
inline constexpr std::string_view kSidecarSuffix = ".headers";

/// Why `st` may not be taken as a message, or nullptr when it may.
const char* unsafe_kind(const struct stat& st) noexcept;

class Ingest {
 public:
  /// One pass over incoming/. Lowers `due` to when a file may settle. A file
  /// that cannot be taken is counted and skipped.
  std::error_code pass(DropConsumerState& s, Clock::time_point now, Clock::time_point& due);
  /// Takes entry `name` of `from` into new/ under a fresh id, or refuses it
  /// (unsafe, or `refuse` says why not): into failed/ with the reason.
  /// not_found when another consumer took it first.
  static std::error_code adopt(DropConsumerState& s, Dir from, const std::string& name,
                               const std::string& refuse = {});

 private:
  static void orphan_marker(DropConsumerState& s, const std::vector<std::string>& names,
                            const std::string& marker);
  static void orphan_sidecar(DropConsumerState& s, const std::vector<std::string>& names,
                             const std::string& sidecar);

  SettleTracker settle_;
};

}  // namespace ringdrop::detail

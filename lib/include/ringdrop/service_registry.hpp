// ringdrop/service_registry.hpp — find a service's request ring by name.
//
// A request/response server registers the ring it takes requests on under a
// service name; a client looks the name up instead of hard-coding segment
// names. There is no daemon: the registry is a directory on the host, one
// small file per registration.
//
//   auto reg = ServiceRegistry::open().value();
//   auto me = reg.register_service("orders", Location::shm("orders-rq"), "v2").value();
//   ...                                  // serve; `me` unregisters when destroyed
//
//   auto e = ServiceRegistry::open().value().find("orders");   // elsewhere
//   if (e) connect_to(e->ring);          // else errc::not_found
//
// Several servers may register the same service (competing consumers on one
// ring, or one ring each): every registration is an entry of its own.
//
// Liveness. A registration holds an open-file-description lock
// (F_OFD_SETLK, see role.hpp) on byte 0 of its entry file for as long as it
// lives. The kernel drops the lock when the process exits or is killed with
// -9, so an entry whose lock is free belongs to a dead owner — whatever its
// pid now names (pids are reused), and with no clean-up needed first. Dead
// entries are removed by find() as it meets them, and by remove_dead(); a
// remover takes the entry's lock itself before unlinking it, so it never
// removes a live entry, and of two removers the second finds it gone.
//
// On disk, in the registry directory (default: default_directory()):
//
//   <service>@<pid>.<random: 16 hex>          one registration, e.g.
//                                             orders@4242.9f86d081884c7d65
//   .<service>@<pid>.<random>.tmp             being written (never read)
//
// An entry is written to its .tmp name, locked, and renamed into place, so
// a reader never sees half an entry, and never an entry without its lock.
// Its content is text, one `key=value` per line ('\n'), the value running
// to the end of the line (no quoting; values never hold control characters):
//
//   ringdrop-service 1                  first line: format and version
//   service=orders                      the service name
//   ring=shm:orders-rq                  Location::describe(): shm:<name>
//                                       or file:<absolute-or-relative path>
//   pid=4242                            the registering process
//   registered-ns=1795320937123456789   wall-clock ns since the Unix epoch
//   info=v2                             the server's free text (may be empty)
//
// Readers ignore keys they do not know (later versions may add some). A
// shell script can read an entry with `sed -n 's/^ring=//p' FILE`; it can
// judge liveness only roughly (`kill -0 $pid`: pids are reused). The exact
// test is F_OFD_GETLK on byte 0 (e.g. Python's fcntl.fcntl with
// F_OFD_GETLK); flock(1) does not see these locks.
//
// Files that are not ours are left alone: a name that is not
// `<valid service>@<pid>.<16 hex>`, or anything but a regular file, is
// never listed, found or removed. An entry with our name but a malformed
// content (damaged, or from an unknown format version) is never listed or
// found; when its lock is free it counts as dead and is removed like any
// dead entry.
//
// A child forked from the registering process shares the lock (the same
// open file description), as with ring roles: the entry stays alive while
// either process runs, unless the child execs (the descriptor is
// close-on-exec). The child's copy of the handle never unregisters.
//
// Thread safety: a ServiceRegistry may be used from several threads at
// once. A ServiceRegistration belongs to one thread at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ringdrop/export.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop {

/// One registration, as read from its entry file.
struct ServiceEntry {
  std::string service;  ///< the service name
  Location ring;        ///< where its request ring is (shm name or file path)
  pid_t pid = 0;        ///< the registering process
  std::chrono::system_clock::time_point registered;
  std::string info;     ///< free text from the server (schema, version...), may be empty
  bool alive = false;   ///< the owner still holds its registration (its lock)
  std::filesystem::path file;  ///< the entry file
};

/// A live registration: removed (its entry file unlinked) when destroyed.
/// Move-only. A moved-from handle, or the copy a forked child inherits,
/// does nothing when destroyed.
class RINGDROP_API ServiceRegistration {
 public:
  const std::string& service() const noexcept { return service_; }
  /// The entry file (empty for a moved-from handle).
  const std::filesystem::path& file() const noexcept { return file_; }
  /// Removes the registration now (as the destructor does); idempotent.
  void unregister() noexcept;

  ServiceRegistration(ServiceRegistration&& other) noexcept;
  ServiceRegistration& operator=(ServiceRegistration&& other) noexcept;
  ~ServiceRegistration();

 private:
  friend class ServiceRegistry;
  ServiceRegistration(int dir_fd, int fd, std::string name, std::string service,
                      std::filesystem::path file) noexcept;
  void release() noexcept;

  int dir_fd_ = -1;  // our own descriptor of the registry directory
  int fd_ = -1;      // the entry file, holding its lock
  pid_t owner_ = 0;  // only this process unregisters (not a forked child)
  std::string name_;
  std::string service_;
  std::filesystem::path file_;
};

class RINGDROP_API ServiceRegistry {
 public:
  /// $RINGDROP_SERVICE_DIR if set and not empty, else
  /// /dev/shm/ringdrop-services-<uid> (one registry per user, gone at reboot
  /// like the shm rings it points to).
  static std::filesystem::path default_directory();

  /// Whether `service` is a name a registration can have: 1-100 of
  /// [A-Za-z0-9._-], not starting with '.'.
  static bool valid_service_name(std::string_view service) noexcept;

  /// Opens the registry directory `dir`, creating it (one level: its parent
  /// must exist) with permission bits `mode` when it is missing (the umask
  /// is not applied). Entry files get `mode` without the x bits, so a mode
  /// of 0770 lets the group see and remove each other's entries.
  /// The directory must be owned by this user or by root: another user's
  /// directory (planted in /dev/shm, say) could redirect our clients.
  /// Errors: not_found (the parent is missing), permission_denied (cannot
  /// create or open it, or owned by someone else), invalid_argument (not a
  /// directory, or a symlink).
  /// Reading (find, list) needs read access only; registering needs write.
  static Result<ServiceRegistry> open(std::filesystem::path dir = default_directory(),
                                      mode_t mode = 0700);

  /// Registers `ring` under `service` for as long as the returned handle
  /// lives in this process. `service`: 1-100 of [A-Za-z0-9._-], not starting
  /// with '.'. `info`: at most 4096 bytes, no control characters. The ring's
  /// name: 1-4096 bytes, no control characters.
  /// Errors: invalid_argument (any of these), permission_denied (the
  /// directory is not writable), no_space.
  Result<ServiceRegistration> register_service(std::string_view service, const Location& ring,
                                               std::string_view info = {});

  /// A live registration of `service`: the newest one (latest `registered`,
  /// then highest pid) when there are several. Dead entries of the service
  /// met on the way are removed (when this process may).
  /// Errors: not_found (no live registration), invalid_argument (a name no
  /// registration can have), permission_denied (cannot list the directory).
  Result<ServiceEntry> find(std::string_view service);

  /// Every registration, live or dead (`alive` says which), sorted by
  /// service, then pid, then registration time. Removes nothing.
  Result<std::vector<ServiceEntry>> list();

  /// Removes the entries of dead owners (and .tmp files of writers that
  /// died more than a minute ago); returns how many entries it removed.
  /// Entries this process may not remove (another user's, in a shared
  /// directory without write access to them) are left and not counted.
  Result<std::size_t> remove_dead();

  const std::filesystem::path& directory() const noexcept { return dir_; }

  ServiceRegistry(ServiceRegistry&& other) noexcept;
  ServiceRegistry& operator=(ServiceRegistry&& other) noexcept;
  ~ServiceRegistry();

 private:
  ServiceRegistry(std::filesystem::path dir, int dir_fd, mode_t mode) noexcept;

  std::filesystem::path dir_;
  int dir_fd_ = -1;
  mode_t mode_ = 0700;
};

}  // namespace ringdrop

#include "ring/dead_letter_sink.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/posix_file.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/ring_dead_letters.hpp"

namespace ringdrop {

std::string dead_letter_dir(const Location& ring) {
  if (ring.is_file()) return ring.name() + ".dlq";
  return "/dev/shm/ringdrop-dlq-" + std::to_string(::geteuid()) + "/" + ring.name();
}

namespace detail {

namespace {

// A directory we are about to write messages into must be one: not a
// symbolic link someone left for us to follow. One named by the user must
// exist (a typo should not grow a tree somewhere); the default is made.
std::error_code check_store_dir(const std::string& dir, bool must_exist) {
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT && must_exist) {
      return fail(errc::not_found, dir + " does not exist: create it, or leave dead_letters empty for the default");
    }
    return errno == ENOENT ? std::error_code{} : fs_error(errno, "lstat", dir);
  }
  if (S_ISLNK(st.st_mode)) {
    return fail(errc::unsafe_file, dir + " is a symbolic link: dead letters are not written through one");
  }
  if (!S_ISDIR(st.st_mode)) return fail(errc::invalid_argument, dir + " is not a directory");
  return {};
}

// The per-user parent of the default shm stores: made 0700, and refused
// unless it is a directory of ours.
std::error_code make_user_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fs_error(errno, "mkdir", dir);
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) return fs_error(errno, "lstat", dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    return fail(errc::unsafe_file, dir + " is not a directory of this user's");
  }
  return {};
}

}  // namespace

std::error_code check_max_deliveries(uint32_t n, const Location& ring) {
  if (n >= 1 && n <= kMostMaxDeliveries) return {};
  return fail(errc::invalid_argument, ring.describe() + ": max_deliveries " + std::to_string(n) +
                                          " (1 to " + std::to_string(kMostMaxDeliveries) + ")");
}

Result<DropChannel> open_dead_letter_store(const Location& ring, const std::string& dir, bool create) {
  const std::string root = dir.empty() ? dead_letter_dir(ring) : dir;
  if (create && dir.empty() && !ring.is_file()) {
    if (auto ec = make_user_dir(root.substr(0, root.rfind('/')))) return ec;
  }
  if (auto ec = check_store_dir(root, !create || !dir.empty())) return ec;
  DropOptions o;
  o.create = create;
  o.dir_mode = 0700;
  return DropChannel::open(root, o);
}

std::error_code DeadLetterSink::put(std::span<const std::byte> message, uint32_t deliveries,
                                    std::string_view reason) {
  if (!store_) {
    auto s = open_dead_letter_store(ring_, dir_, true);
    if (!s) {
      return fail(s.error(), ring_.describe() + ": its dead letters cannot be stored (" + last_error_detail() +
                                 "); the message stays in the ring");
    }
    store_.emplace(std::move(*s));
  }
  const DropHeaders headers{{std::string(drop_header::source), ring_.describe()},
                            {std::string(drop_header::source_kind), to_string(kind_)}};
  auto id = store_->put_dead_letter(message, headers, deliveries, reason, "pid " + std::to_string(::getpid()));
  if (!id) {
    return fail(id.error(), ring_.describe() + ": a dead letter could not be stored in " + store_->root() + " (" +
                                last_error_detail() + "); the message stays in the ring");
  }
  return {};
}

std::error_code DeadLetterSink::put_exhausted(std::span<const std::byte> message, uint32_t deliveries,
                                              uint32_t max_deliveries) {
  return put(message, deliveries,
             "delivered " + std::to_string(deliveries) + " times (max_deliveries " +
                 std::to_string(max_deliveries) + "), and each consumer died holding it");
}

}  // namespace detail
}  // namespace ringdrop

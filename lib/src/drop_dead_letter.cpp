#include "drop_dead_letter.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "drop_headers.hpp"
#include "drop_name.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

/// One line, printable, at most 4 KiB: the reason file stays one header.
std::string one_line(std::string_view s) {
  std::string out(s.substr(0, 4096));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

}  // namespace

std::error_code move_to_failed(const DropTree& t, const DeadLetterMove& m) {
  if (auto ec = move_entry(t, m.from, m.from_name, Dir::failed, ready_name(m.id, m.attempts))) {
    return ec;
  }
  DropHeaders reason{{"reason", one_line(m.reason)},
                     {"attempts", std::to_string(m.attempts)},
                     {"failed-at", iso_time(wall_ns())}};
  if (!m.consumer.empty()) reason.emplace("consumer", m.consumer);
  if (const int64_t ns = id_time_ns(m.id)) reason.emplace("published-at", iso_time(ns));
  // The message is safe in failed/ whatever happens to its reason file.
  (void)write_small_file(t, Dir::failed, reason_name(m.id), encode_headers(reason));
  sync_dir(t, Dir::failed);
  return {};
}

Result<std::string> find_dead_letter(const DropTree& t, std::string_view id) {
  if (!is_message_id(id)) {
    std::string detail(id);
    detail += " is not a message id";
    return fail(errc::invalid_argument, std::move(detail));
  }
  auto names = list_dir(t, Dir::failed);
  if (!names) return names.error();
  for (const auto& n : *names) {
    const auto parsed = parse_ready(n);
    if (parsed && parsed->id == id) return n;
  }
  return fail(errc::not_found, "no dead letter " + std::string(id) + " in " + t.root + "/failed");
}

Result<DeadLetter> load_dead_letter(const DropTree& t, const std::string& name) {
  const auto parsed = parse_ready(name);
  if (!parsed) return fail(errc::invalid_argument, name + " is not a dead letter's name");
  DeadLetter d;
  d.id = parsed->id;
  d.attempts = parsed->attempts;
  d.path = t.path(Dir::failed, name);
  const std::string reason = reason_name(d.id);
  auto text = read_small_file(t, Dir::failed, reason);
  d.reason = text ? *text : "reason: no reason recorded\n";
  d.headers = read_headers(t, d.id);
  struct stat st{};
  if (::fstatat(t.fd(Dir::failed), text ? reason.c_str() : name.c_str(), &st,
                AT_SYMLINK_NOFOLLOW) == 0) {
    d.failed_at = std::chrono::system_clock::time_point(
        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec));
  }
  return d;
}

std::error_code purge_dead_letter(const DropTree& t, std::string_view id, const std::string& name) {
  struct stat st{};
  if (::fstatat(t.fd(Dir::failed), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
    // A directory someone dropped into incoming/ and we refused.
    std::error_code ec;
    std::filesystem::remove_all(t.path(Dir::failed, name), ec);
    if (ec) return fs_error(ec.value(), "remove", t.path(Dir::failed, name));
  } else if (auto ec = remove_entry(t, Dir::failed, name)) {
    return ec;
  }
  (void)remove_entry(t, Dir::failed, reason_name(id));
  (void)remove_entry(t, Dir::meta, id);
  return {};
}

}  // namespace ringdrop::detail

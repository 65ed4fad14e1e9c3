#include "drop/drop_dead_letter.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>

#include "drop/drop_headers.hpp"
#include "drop/drop_name.hpp"
#include "drop/drop_receipt.hpp"
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
  write_receipt(t, m.id, read_headers(t, m.id), "dead-lettered", one_line(m.reason));
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
  d.failed_at = failed_at(t, d.id, name);
  return d;
}

std::chrono::system_clock::time_point failed_at(const DropTree& t, std::string_view id,
                                                const std::string& name) {
  // The later of the reason file's and the message's ctime: the move into
  // failed/ sets the message's, the reason is written right after (and
  // may be missing, or left from an earlier failure).
  int64_t latest = 0;
  for (const std::string& n : {reason_name(id), name}) {
    struct stat st{};
    if (::fstatat(t.fd(Dir::failed), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      latest = std::max<int64_t>(latest, static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 +
                                             st.st_ctim.tv_nsec);
    }
  }
  // Gone meanwhile (requeued, purged): not old, so no sweep acts on a name
  // that may already belong to the message's next failure.
  if (latest == 0) return std::chrono::system_clock::now();
  return std::chrono::system_clock::time_point(std::chrono::nanoseconds(latest));
}

std::error_code purge_dead_letter(const DropTree& t, std::string_view id, const std::string& name) {
  // A refused directory goes with its content, without following symlinks.
  if (auto ec = remove_tree_at(t.fd(Dir::failed), name)) {
    return fail(ec, "remove " + t.path(Dir::failed, name) + ": " + ec.message());
  }
  discard_entry(t, Dir::failed, reason_name(id));
  discard_entry(t, Dir::meta, std::string(id));
  return {};
}

}  // namespace ringdrop::detail

#include "ringdrop/error.hpp"

#include <cerrno>

namespace ringdrop {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ringdrop"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::would_block: return "would block: nothing to read or no room to write now";
      case errc::timed_out: return "timed out: nothing arrived before the timeout";
      case errc::deadline_exceeded: return "deadline exceeded: the message expired before it was handled";
      case errc::peer_gone: return "peer gone: the other process died or detached";
      case errc::role_taken: return "role taken: another live process holds this role";
      case errc::message_lost: return "message lost";
      case errc::bad_message: return "bad message: malformed, truncated or of the wrong type";
      case errc::message_too_large: return "message too large for this ring";
      case errc::corrupted: return "corrupted segment";
      case errc::foreign_segment: return "foreign segment: not a ringdrop segment";
      case errc::incompatible_layout: return "incompatible layout version";
      case errc::wrong_kind: return "wrong ring kind";
      case errc::capacity_mismatch: return "capacity mismatch";
      case errc::permission_denied: return "permission denied";
      case errc::not_found: return "not found";
      case errc::already_exists: return "already exists";
      case errc::invalid_argument: return "invalid argument";
      case errc::no_space: return "no space: the disk or a quota is full; nothing was moved";
      case errc::lease_lost: return "lease lost: the claim expired and the message was taken back";
      case errc::unsafe_file: return "unsafe file refused: symlink, special file, hard link or bad name";
      case errc::remote_error: return "remote error: the server answered with an error";
      case errc::circuit_open: return "circuit open: the service failed recently, call not sent";
      case errc::unknown_type: return "message type not handled: no handler or schema for it";
    }
    return "unknown ringdrop error " + std::to_string(code);
  }

  // Lets callers compare against portable conditions, e.g.
  // `ec == std::errc::permission_denied`.
  std::error_condition default_error_condition(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::would_block: return std::errc::resource_unavailable_try_again;
      case errc::timed_out: return std::errc::timed_out;
      case errc::permission_denied: return std::errc::permission_denied;
      case errc::not_found: return std::errc::no_such_file_or_directory;
      case errc::already_exists: return std::errc::file_exists;
      case errc::invalid_argument: return std::errc::invalid_argument;
      case errc::message_too_large: return std::errc::message_size;
      case errc::bad_message: return std::errc::bad_message;
      case errc::no_space: return std::errc::no_space_on_device;
      default: return {code, *this};
    }
  }
};

thread_local std::string t_last_detail;

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

const std::string& last_error_detail() noexcept { return t_last_detail; }

namespace detail {

std::error_code fail(std::error_code e, std::string detail) {
  t_last_detail = std::move(detail);
  return e;
}

void clear_last_error() noexcept { t_last_detail.clear(); }

std::error_code from_errno(int err) noexcept {
  switch (err) {
    case EACCES:
    case EPERM: return errc::permission_denied;
    case ENOENT: return errc::not_found;
    case EEXIST: return errc::already_exists;
    case EINVAL:
    case ENAMETOOLONG: return errc::invalid_argument;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return errc::no_space;
    case ELOOP: return errc::unsafe_file;
    default: return {err, std::system_category()};
  }
}

}  // namespace detail
}  // namespace ringdrop

#include "ringdrop/error.hpp"

#include <cerrno>

namespace ringdrop {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ringdrop"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
#define RINGDROP_MESSAGE_(name, c_suffix, number, message) \
  case errc::name: return message;
      RINGDROP_ERROR_TABLE(RINGDROP_MESSAGE_)
#undef RINGDROP_MESSAGE_
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

// Whether anything below is set. Trivial, so reading it needs no init guard:
// clear_last_error(), run at every C ABI call, costs one load when, as on
// every successful hot-path call, there is nothing to clear.
thread_local bool t_dirty = false;
thread_local std::string t_last_detail;
thread_local int t_last_errno = 0;
// The code from_errno made last: a fail() with it keeps t_last_errno.
// (Value and category apart: trivial thread_locals, no init guard.)
thread_local int t_errno_code_value = 0;
thread_local const std::error_category* t_errno_code_category = nullptr;
// The code t_last_detail was recorded with (detail_of).
thread_local int t_detail_code_value = 0;
thread_local const std::error_category* t_detail_code_category = nullptr;

bool is_errno_category(const std::error_category& c) noexcept {
  return c == std::system_category() || c == std::generic_category();
}

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

const std::string& last_error_detail() noexcept { return t_last_detail; }

int last_error_errno() noexcept { return t_last_errno; }

namespace detail {

std::error_code fail(std::error_code e, std::string detail) {
  t_dirty = true;
  t_last_detail = std::move(detail);
  t_detail_code_value = e.value();
  t_detail_code_category = &e.category();
  if (is_errno_category(e.category())) {
    t_last_errno = e.value();
  } else if (e.value() != t_errno_code_value || &e.category() != t_errno_code_category) {
    t_last_errno = 0;  // not made from errno: an older errno is not behind it
  }
  return e;
}

std::string detail_of(std::error_code e) {
  if (e.value() != t_detail_code_value || &e.category() != t_detail_code_category) return {};
  return t_last_detail;
}

void clear_last_error() noexcept {
  if (!t_dirty) return;
  t_dirty = false;
  t_last_detail.clear();
  t_detail_code_value = 0;
  t_detail_code_category = nullptr;
  t_last_errno = 0;
  t_errno_code_value = 0;
  t_errno_code_category = nullptr;
}

namespace {

std::error_code map_errno(int err) noexcept {
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

}  // namespace

std::error_code from_errno(int err) noexcept {
  const std::error_code ec = map_errno(err);
  t_dirty = true;
  t_last_errno = err;
  t_errno_code_value = ec.value();
  t_errno_code_category = &ec.category();
  return ec;
}

}  // namespace detail
}  // namespace ringdrop

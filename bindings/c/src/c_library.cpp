// The library part of the C ABI: versions and errors.
#include <cstring>

#include "c_boundary.hpp"
#include "ringdrop/version.h"

// Both are made from error_table.h; this guards the expansions themselves.
#define RINGDROP_SAME_CODE_(cpp_name, c_suffix, number, message)      \
  static_assert(RINGDROP_##c_suffix == -static_cast<int>(ringdrop::errc::cpp_name), \
                "RINGDROP_" #c_suffix " is the negated errc::" #cpp_name);
RINGDROP_ERROR_TABLE(RINGDROP_SAME_CODE_)
#undef RINGDROP_SAME_CODE_

namespace ringdrop::c {

namespace {

// An operating-system failure: its errno is ringdrop_last_error_errno(), and
// the message names it even where the code that failed did not say.
void note_system_error(std::error_code ec) noexcept {
  try {
    std::string text = last_error_detail();
    const std::string os = ec.message();  // strerror's text
    if (text.find(os) == std::string::npos) text += text.empty() ? os : ": " + os;
    (void)detail::fail(ec, std::move(text));  // also records ec.value() as the errno
  } catch (...) {  // no memory for the text: the code says enough
  }
}

// A ringdrop code keeps the errno recorded with it only if that errno maps to
// it: one left by a failure the library recovered from is not behind it.
void forget_unrelated_errno(std::error_code ec) noexcept {
  const int err = last_error_errno();
  if (err == 0 || detail::from_errno(err) == ec) return;
  try {
    (void)detail::fail(ec, last_error_detail());  // another code: forgets the errno
  } catch (...) {
    detail::clear_last_error();
  }
}

}  // namespace

int to_code(std::error_code ec) noexcept {
  if (!ec) return RINGDROP_OK;
  if (ec.category() == error_category()) {
    forget_unrelated_errno(ec);
    return -ec.value();
  }
  note_system_error(ec);
  return RINGDROP_ESYSTEM;
}

void note(const char* what) noexcept {
  try {
    (void)detail::fail(errc::invalid_argument, what);  // only the detail is kept
  } catch (...) {  // no memory for the text: the code says enough
  }
}

}  // namespace ringdrop::c

extern "C" {

RINGDROP_API int ringdrop_version(void) { return RINGDROP_VERSION; }

RINGDROP_API const char* ringdrop_version_string(void) { return RINGDROP_VERSION_STRING; }

RINGDROP_API const char* ringdrop_strerror(int code) {
  // The table's texts are string literals: the C caller may keep the pointer.
  switch (code) {
    case RINGDROP_OK: return "success";
#define RINGDROP_TEXT_(cpp_name, c_suffix, number, message) \
  case RINGDROP_##c_suffix: return message;
    RINGDROP_ERROR_TABLE(RINGDROP_TEXT_)
#undef RINGDROP_TEXT_
#define RINGDROP_C_TEXT_(c_suffix, number, message) \
  case RINGDROP_##c_suffix: return message;
    RINGDROP_C_ERROR_TABLE(RINGDROP_C_TEXT_)
#undef RINGDROP_C_TEXT_
    default: return "unknown ringdrop error code";
  }
}

RINGDROP_API const char* ringdrop_last_error_message(void) {
  return ringdrop::last_error_detail().c_str();
}

RINGDROP_API int ringdrop_last_error_errno(void) { return ringdrop::last_error_errno(); }

}  // extern "C"

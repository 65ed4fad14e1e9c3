// The library part of the C ABI: versions and errors.
#include <cstring>

#include "c_boundary.hpp"
#include "ringdrop/version.hpp"

static_assert(RINGDROP_VERSION_MAJOR * 10000 + RINGDROP_VERSION_MINOR * 100 + RINGDROP_VERSION_PATCH ==
                  RINGDROP_VERSION,
              "ringdrop.h and the build agree on the version");
static_assert(RINGDROP_EUNKNOWNTYPE == -static_cast<int>(ringdrop::errc::unknown_type),
              "the C codes are the negated errc values");

namespace ringdrop::c {

int to_code(std::error_code ec) noexcept {
  if (!ec) return RINGDROP_OK;
  if (ec.category() == error_category()) return -ec.value();
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
  switch (code) {
    case RINGDROP_OK: return "success";
    case RINGDROP_ESYSTEM: return "operating-system error (see ringdrop_last_error_message)";
    case RINGDROP_ENOMEM: return "out of memory";
    case RINGDROP_EINTERNAL: return "internal error in ringdrop";
    default: break;
  }
  if (code < 0 && code >= RINGDROP_EUNKNOWNTYPE) {
    try {
      // The C++ category's texts, kept as static strings: the C caller may
      // hold the pointer for as long as it likes.
      static const std::string* const texts = [] {
        auto* t = new std::string[-RINGDROP_EUNKNOWNTYPE + 1];
        for (int c = 1; c <= -RINGDROP_EUNKNOWNTYPE; ++c) {
          t[c] = ringdrop::make_error_code(static_cast<ringdrop::errc>(c)).message();
        }
        return t;
      }();
      return texts[-code].c_str();
    } catch (...) {  // no memory for the table yet; the next call tries again
      return "ringdrop error (no memory for its description)";
    }
  }
  return "unknown ringdrop error code";
}

RINGDROP_API const char* ringdrop_last_error_message(void) {
  return ringdrop::last_error_detail().c_str();
}

}  // extern "C"

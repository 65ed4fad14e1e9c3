// c_boundary.hpp — how a C entry point turns C++ outcomes into C codes.
//
// Every function of ringdrop.h that can fail has the shape
//
//   int ringdrop_x_y(...) { return ringdrop::c::guard([&] { ...; return ec; }); }
//
// guard() returns 0 or a negative RINGDROP_E* code, and catches every
// exception (std::bad_alloc becomes RINGDROP_ENOMEM; anything else
// RINGDROP_EINTERNAL), recording its text for ringdrop_last_error_message().
#pragma once

#include <exception>
#include <new>
#include <string>
#include <system_error>

#include "ringdrop.h"
#include "ringdrop/error.hpp"

namespace ringdrop::c {

/// 0, a negated ringdrop::errc, or RINGDROP_ESYSTEM for other categories.
int to_code(std::error_code ec) noexcept;

/// Records `what` for ringdrop_last_error_message() without allocating
/// twice; never throws.
void note(const char* what) noexcept;

template <class Body>
int guard(Body&& body) noexcept {
  detail::clear_last_error();  // a detail belongs to this call's failure, or there is none
  try {
    return to_code(body());
  } catch (const std::bad_alloc&) {
    note("out of memory");
    return RINGDROP_ENOMEM;
  } catch (const std::exception& e) {
    note(e.what());
    return RINGDROP_EINTERNAL;
  } catch (...) {
    note("unknown exception");
    return RINGDROP_EINTERNAL;
  }
}

}  // namespace ringdrop::c

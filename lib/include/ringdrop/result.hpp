// ringdrop/result.hpp — a value or a std::error_code.
//
// C++20 has no std::expected; this is the small subset ringdrop needs.
// Every fallible ringdrop call returns a Result (or a bare std::error_code
// when there is no value), so failures are values, not exceptions. `value()`
// on an error throws std::system_error, for callers who prefer that; its
// what() leads with the failure's detail (last_error_detail(), when it was
// recorded with this error): "open shm:orders: No such file or directory:
// not found".
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "ringdrop/error.hpp"

namespace ringdrop {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                   // NOLINT: implicit by design
  Result(std::error_code error) : v_(error) { assert(error); }  // NOLINT
  template <class E, class = std::enable_if_t<std::is_error_code_enum_v<E>>>
  Result(E error) : Result(std::error_code(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The error; a default (success) error_code when ok().
  std::error_code error() const noexcept {
    return ok() ? std::error_code{} : std::get<1>(v_);
  }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }

  T& operator*() & noexcept { assert(ok()); return std::get<0>(v_); }
  const T& operator*() const& noexcept { assert(ok()); return std::get<0>(v_); }
  T* operator->() noexcept { assert(ok()); return &std::get<0>(v_); }
  const T* operator->() const noexcept { assert(ok()); return &std::get<0>(v_); }

 private:
  void check() const {
    if (ok()) return;
    const std::error_code e = std::get<1>(v_);
    const std::string why = detail::detail_of(e);
    if (why.empty()) throw std::system_error(e);
    throw std::system_error(e, why);
  }
  std::variant<T, std::error_code> v_;
};

}  // namespace ringdrop

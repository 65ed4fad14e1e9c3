// c_message.hpp — what the typed-message and request/response parts of the
// C ABI share (c_message.cpp, c_rpc.cpp): the message handle, a caller's
// flat payload validated, and the C option structs as C++ options.
#pragma once

#include <capnp/any.h>
#include <capnp/serialize.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "c_boundary.hpp"
#include "ringdrop/message.hpp"
#include "ringdrop/rpc.hpp"

/// A validated typed message: over its own copy (open, replies), over the
/// caller's bytes (view), or over a message the server holds (a handler's
/// request). Fields behind pointers are read once, when the handle is made
/// (index_fields()): Cap'n Proto's traversal budget is per message, so accessors
/// called in a loop must not walk it again.
struct ringdrop_message {
  std::optional<ringdrop::OwnedMessage> owned;
  std::optional<ringdrop::IncomingMessage> viewed;
  const ringdrop::IncomingMessage* m = nullptr;  ///< one of the above, or borrowed

  const char* reply_to = "";
  int error_code = 0;
  const char* error_text = "";
  std::vector<std::pair<const char*, const char*>> headers;

  /// The payload as its own flat message, made on first use.
  mutable std::unique_ptr<capnp::word[]> payload_words;
  mutable size_t payload_size = 0;
};

namespace ringdrop::c {

/// Reads the fields behind pointers of `h.m` into `h` (see above).
std::error_code index_fields(ringdrop_message& h);
/// A handle owning `m`.
std::unique_ptr<ringdrop_message> owning(OwnedMessage m);
/// The payload of `h` as a flat message (made once, then kept).
std::span<const std::byte> flat_payload(const ringdrop_message& h);

/// A caller's payload: a flat Cap'n Proto message whose root is a struct,
/// validated (bounds, nesting, no capabilities, no aliasing, nothing after
/// its end). Move-only; the caller's bytes must outlive it (unless they
/// were unaligned: then it holds a copy).
class Payload {
 public:
  /// errc::bad_message when malformed, invalid_argument for NULL with a size.
  static Result<Payload> parse(const void* data, unsigned long long size);
  bool empty() const noexcept { return words_ == 0; }
  /// Words the payload takes when copied into a message.
  size_t words() const noexcept { return words_; }
  /// Copies the payload under `target` (nothing when empty).
  void copy_to(capnp::AnyPointer::Builder target) const;

 private:
  Payload() = default;
  std::unique_ptr<capnp::word[]> copy_;  // when the caller's bytes were unaligned
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  size_t words_ = 0;
};

/// Headers as the C++ options take them; storage for one call.
using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;
/// keys[i]: values[i], i < count; invalid_argument for NULL pointers.
std::error_code headers_of(const char* const* keys, const char* const* values, unsigned long count,
                           HeaderList& out);

/// ringdrop_message_options as MessageOptions (`headers` holds what
/// `out.headers` points at; both valid while the caller's strings are).
std::error_code message_options(const ringdrop_message_options* c, MessageOptions& out, HeaderList& headers);

/// The bytes an envelope of `o` around `p` takes in flat form (one segment).
size_t flat_envelope_size(const MessageOptions& o, const Payload& p) noexcept;

}  // namespace ringdrop::c

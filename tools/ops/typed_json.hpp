// typed_json.hpp — typed messages as JSON, with a schema given at run time.
//
// Tools cannot be compiled against every user's schema, so they read the
// .capnp file when asked (Cap'n Proto's SchemaParser) and convert with its
// JSON codec: `ringdrop send --schema orders.capnp --type Order --json
// '{...}'` builds an envelope around that payload; `dlq show --schema ...`
// prints one. Without a schema, the envelope is still shown (ids, kind,
// times, headers) and the payload's size.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/schema.h>

#include "ops_json.hpp"
#include "ringdrop/message.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop::ops {

class SchemaType {
 public:
  /// Parses `file` and finds struct `type` in it ("Order", or "Outer.Inner"
  /// for a nested one). Absolute imports ("/capnp/c++.capnp") are looked for
  /// in `import_dirs`, then /usr/local/include and /usr/include. Errors:
  /// not_found (no such file), bad_message (the file does not parse),
  /// invalid_argument (no such type, or not a struct); the detail says
  /// where.
  static Result<SchemaType> load(const std::string& file, const std::string& type,
                                 const std::vector<std::string>& import_dirs = {});

  uint64_t type_id() const noexcept;
  std::string name() const;
  capnp::StructSchema schema() const noexcept { return schema_; }

  /// A whole typed message (segment table first, as ring records and
  /// published files are): an envelope stamped as `options` say, around the
  /// payload `json` describes. Errors: bad_message (JSON that does not
  /// parse, or does not match the type — a field it does not have, a value
  /// of the wrong kind: the detail names it).
  Result<std::vector<std::byte>> encode_message(const std::string& json, const MessageOptions& options) const;
  /// The payload alone, as a message whose root is this type (to copy into
  /// an envelope another API builds). Errors: bad_message.
  Result<std::shared_ptr<capnp::MallocMessageBuilder>> encode_payload(const std::string& json) const;
  /// The payload as JSON. Errors: bad_message.
  Result<Json> decode(capnp::AnyPointer::Reader payload) const;

 private:
  struct Parsed;
  std::shared_ptr<Parsed> parsed_;  // keeps the parser (and so the schema) alive
  capnp::StructSchema schema_;
};

/// A typed message as JSON: its envelope, and its payload (decoded with
/// `schema` when given and the type ids match; else its size in words).
Json describe_message(const IncomingMessage& m, const SchemaType* schema);

/// Any message's bytes as JSON: {"typed": true, "size", "envelope": ...}
/// when they open as a typed message, else {"typed": false, "size", and
/// "text" (valid UTF-8 without control characters but tab and newline) or
/// "hex"}.
Json describe_bytes(std::span<const std::byte> bytes, const SchemaType* schema);

}  // namespace ringdrop::ops

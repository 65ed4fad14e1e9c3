#include "typed_json.hpp"

#include <capnp/compat/json.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema-parser.h>
#include <capnp/serialize.h>
#include <kj/filesystem.h>

#include <cstring>
#include <filesystem>

#include "ringdrop/error.hpp"

namespace ringdrop::ops {

struct SchemaType::Parsed {
  kj::Own<kj::Filesystem> fs = kj::newDiskFilesystem();
  std::vector<kj::Own<const kj::ReadableDirectory>> import_dirs;
  std::vector<const kj::ReadableDirectory*> import_ptrs;
  capnp::SchemaParser parser;
};

namespace {

std::string describe(const kj::Exception& e) { return std::string(e.getDescription().cStr()); }

// The envelope's kind by its schema name ("request"), or its number if unknown.
std::string kind_name(MessageKind kind) {
  const auto all = capnp::Schema::from<MessageKind>().getEnumerants();
  const auto k = static_cast<uint16_t>(kind);
  return k < all.size() ? all[k].getProto().getName().cStr() : std::to_string(k);
}

}  // namespace

Result<SchemaType> SchemaType::load(const std::string& file, const std::string& type,
                                    const std::vector<std::string>& import_dirs) {
  std::error_code fec;
  if (!std::filesystem::is_regular_file(file, fec)) return detail::fail(errc::not_found, "no schema file " + file);
  auto p = std::make_shared<Parsed>();
  try {
    std::vector<std::string> dirs = import_dirs;
    dirs.push_back("/usr/local/include");
    dirs.push_back("/usr/include");
    for (const auto& d : dirs) {
      std::error_code ec;
      if (!std::filesystem::is_directory(d, ec)) continue;
      const std::string abs = std::filesystem::absolute(d).lexically_normal().string();
      p->import_dirs.push_back(p->fs->getRoot().openSubdir(kj::Path::parse(abs.substr(1))));
      p->import_ptrs.push_back(p->import_dirs.back().get());
    }
    const std::string abs = std::filesystem::absolute(file).lexically_normal().string();
    capnp::ParsedSchema node = p->parser.parseFromDirectory(
        p->fs->getRoot(), kj::Path::parse(abs.substr(1)), kj::arrayPtr(p->import_ptrs.data(), p->import_ptrs.size()));
    size_t at = 0;
    while (at <= type.size()) {
      const size_t dot = std::min(type.find('.', at), type.size());
      const std::string part = type.substr(at, dot - at);
      KJ_IF_MAYBE (child, node.findNested(part.c_str())) {
        node = *child;
      } else {
        return detail::fail(errc::invalid_argument, "no type " + type + " in " + file + " (no '" + part + "')");
      }
      at = dot + 1;
    }
    if (!node.getProto().isStruct()) return detail::fail(errc::invalid_argument, type + " in " + file + " is not a struct");
    SchemaType t;
    t.schema_ = node.asStruct();
    t.parsed_ = std::move(p);
    return t;
  } catch (const kj::Exception& e) {
    return detail::fail(errc::bad_message, "schema " + file + ": " + describe(e));
  }
}

uint64_t SchemaType::type_id() const noexcept { return schema_.getProto().getId(); }

std::string SchemaType::name() const { return schema_.getShortDisplayName().cStr(); }

Result<std::vector<std::byte>> SchemaType::encode_message(const std::string& json,
                                                          const MessageOptions& options) const {
  try {
    capnp::MallocMessageBuilder b;
    auto env = b.initRoot<Envelope>();
    fill_envelope(env, type_id(), options);
    auto payload = env.getPayload().initAs<capnp::DynamicStruct>(schema_);
    capnp::JsonCodec codec;
    codec.setRejectUnknownFields(true);  // a misspelt field is an error, not a silent default
    codec.decode(kj::ArrayPtr<const char>(json.data(), json.size()), payload);
    const auto words = capnp::messageToFlatArray(b);
    std::vector<std::byte> out(words.asBytes().size());
    std::memcpy(out.data(), words.asBytes().begin(), out.size());
    return out;
  } catch (const kj::Exception& e) {
    return detail::fail(errc::bad_message, "JSON for " + name() + ": " + describe(e));
  }
}

Result<std::shared_ptr<capnp::MallocMessageBuilder>> SchemaType::encode_payload(const std::string& json) const {
  try {
    auto b = std::make_shared<capnp::MallocMessageBuilder>();
    auto payload = b->initRoot<capnp::DynamicStruct>(schema_);
    capnp::JsonCodec codec;
    codec.setRejectUnknownFields(true);  // a misspelt field is an error, not a silent default
    codec.decode(kj::ArrayPtr<const char>(json.data(), json.size()), payload);
    return b;
  } catch (const kj::Exception& e) {
    return detail::fail(errc::bad_message, "JSON for " + name() + ": " + describe(e));
  }
}

Result<Json> SchemaType::decode(capnp::AnyPointer::Reader payload) const {
  try {
    capnp::JsonCodec codec;
    const kj::String text = codec.encode(payload.getAs<capnp::DynamicStruct>(schema_));
    return Json::parse(text.cStr());
  } catch (const kj::Exception& e) {
    return detail::fail(errc::bad_message, "decoding a " + name() + ": " + describe(e));
  } catch (const std::exception& e) {
    return detail::fail(errc::bad_message, std::string("decoding a ") + name() + ": " + e.what());
  }
}

Json describe_message(const IncomingMessage& m, const SchemaType* schema) {
  const auto env = m.envelope();
  char type[24];
  std::snprintf(type, sizeof type, "0x%016llx", static_cast<unsigned long long>(m.type_id()));
  Json headers = Json::object();
  for (auto h : env.getHeaders()) headers[h.getKey().cStr()] = h.getValue().cStr();
  const auto ns_time = [](int64_t ns) -> Json {
    if (ns == 0) return nullptr;
    return iso_time(std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns))));
  };
  // 64-bit ids as strings, as Cap'n Proto's JSON writes 64-bit integers:
  // JavaScript (and jq) would round them as numbers.
  Json out = {{"message_id", std::to_string(env.getMessageId())},
              {"correlation_id", std::to_string(env.getCorrelationId())},
              {"kind", kind_name(env.getKind())},
              {"type_id", type},
              {"schema_version", env.getSchemaVersion()},
              {"sent_at", ns_time(env.getSentAtNs())},
              {"deadline", ns_time(env.getDeadlineNs())},
              {"attempt", env.getAttempt()},
              {"reply_to", env.getReplyTo().cStr()},
              {"idempotent", env.getIdempotent()},
              {"headers", headers}};
  if (schema && schema->type_id() == m.type_id()) {
    auto payload = schema->decode(env.getPayload());
    out["payload"] = payload ? *payload : Json(nullptr);
    if (!payload) out["payload_error"] = last_error_detail();
  } else {
    out["payload_words"] = env.getPayload().targetSize().wordCount;
    if (schema) out["payload_error"] = "the message's type is not " + schema->name();
  }
  return out;
}

namespace {

// Printable UTF-8: what a terminal shows as it is.
bool is_text(std::span<const std::byte> bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > bytes.size()) return false;
    if (len == 1 && c < 0x20 && c != '\n' && c != '\t' && c != '\r') return false;
    if (c == 0x7f) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(bytes[i + k]) >> 6) != 0x2) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

Json describe_bytes(std::span<const std::byte> bytes, const SchemaType* schema) {
  if (!bytes.empty() && bytes.size() % sizeof(capnp::word) == 0) {
    std::vector<capnp::word> aligned(bytes.size() / sizeof(capnp::word));
    std::memcpy(aligned.data(), bytes.data(), bytes.size());
    if (auto m = IncomingMessage::open(std::as_bytes(std::span(aligned)))) {
      return {{"typed", true}, {"size", bytes.size()}, {"envelope", describe_message(*m, schema)}};
    }
  }
  Json out = {{"typed", false}, {"size", bytes.size()}};
  if (is_text(bytes)) {
    out["text"] = std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  } else {
    static const char* digits = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (auto b : bytes) {
      hex += digits[static_cast<unsigned>(b) >> 4];
      hex += digits[static_cast<unsigned>(b) & 0xf];
    }
    out["hex"] = hex;
  }
  return out;
}

}  // namespace ringdrop::ops

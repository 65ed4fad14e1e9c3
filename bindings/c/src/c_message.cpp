// The typed-message part of the C ABI: envelopes built around a caller's
// flat Cap'n Proto payload (into a buffer, or straight into a ring), and a
// validated message handle with accessors.
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <variant>

#include "c_message.hpp"
#include "c_ring.hpp"
#include "message/empty_lists.hpp"

using namespace ringdrop;
using c::invalid;

static_assert(RINGDROP_MESSAGE_NOTIFICATION == static_cast<int>(MessageKind::NOTIFICATION) &&
                  RINGDROP_MESSAGE_REQUEST == static_cast<int>(MessageKind::REQUEST) &&
                  RINGDROP_MESSAGE_RESPONSE == static_cast<int>(MessageKind::RESPONSE) &&
                  RINGDROP_MESSAGE_EVENT == static_cast<int>(MessageKind::EVENT),
              "the C kinds are Envelope.Kind's values");

namespace ringdrop::c {

namespace {

constexpr size_t kWord = sizeof(capnp::word);
// A payload sits one level below the envelope, whose reader allows 32.
constexpr int kPayloadNesting = 30;

bool aligned(const void* p, size_t to) noexcept { return reinterpret_cast<uintptr_t>(p) % to == 0; }

std::error_code bad(std::string what) { return detail::fail(errc::bad_message, std::move(what)); }

size_t text_words(size_t bytes) noexcept { return (bytes + 1 + kWord - 1) / kWord; }  // with its NUL

std::error_code not_a_struct() { return bad("the payload's root is not a struct"); }
std::error_code aliased() { return bad("the payload's pointers alias each other (not a plain message)"); }

}  // namespace

// ------------------------------------------------------------------ payload

Result<Payload> Payload::parse(const void* data, unsigned long long size) {
  Payload p;
  if (size == 0) return p;
  if (!data) return invalid("payload is NULL but its size is not 0");
  if (size % kWord != 0) {
    return bad("a payload is a flat Cap'n Proto message, whole 8-byte words; got " + std::to_string(size) +
               " bytes");
  }
  const size_t words = static_cast<size_t>(size / kWord);
  const auto* w = static_cast<const capnp::word*>(data);
  if (!aligned(data, alignof(capnp::word))) {
    p.copy_.reset(new capnp::word[words]);
    std::memcpy(p.copy_.get(), data, static_cast<size_t>(size));
    w = p.copy_.get();
  }
  const auto array = kj::arrayPtr(w, words);
  try {
    uint64_t objects = 0;  // the words the payload's objects take (totalSize())
    const auto plain = detail::walk_plain(array, std::nullopt, kPayloadNesting);
    if (plain && plain->segment_words == words - 1) {
      // A plain message, nothing after its segment: one walk over its raw
      // words checked and counted what the reader below does.
      if (plain->root == 0) return p;  // no payload: the struct's defaults
      if ((plain->root & 3) != 0) return not_a_struct();
      objects = plain->count.whole.words;
      if (objects + 1 > plain->segment_words) return aliased();  // as below
      if (auto ec = detail::judge_empty_lists(plain->count, objects)) return ec;
    } else {
      // The checking walk runs under a budget (a payload whose pointers alias
      // one list could otherwise cost unbounded work)...
      capnp::ReaderOptions checked;
      checked.traversalLimitInWords = std::max<uint64_t>(4 * words, 4096) + detail::empty_lists_walk_budget(words);
      checked.nestingLimit = kPayloadNesting;
      capnp::FlatArrayMessageReader check(array, checked);
      if (check.getEnd() != array.end()) {
        return bad("the payload has " + std::to_string((array.end() - check.getEnd()) * kWord) +
                   " bytes after its last segment (pass the message's exact size)");
      }
      auto root = check.getRoot<capnp::AnyPointer>();
      if (root.isNull()) return p;  // no payload: the struct's defaults
      if (!root.isStruct()) return not_a_struct();
      const auto total = root.targetSize();
      if (total.capCount != 0) return bad("the payload holds capabilities, which cannot travel");
      // Objects reachable from the root fit in the segments (less the root
      // pointer) unless pointers alias: then copies would multiply.
      uint32_t segments_less_one = 0;  // the table's first entry
      std::memcpy(&segments_less_one, array.begin(), sizeof segments_less_one);
      const size_t table_words = (size_t{segments_less_one} + 1) / 2 + 1;
      if (total.wordCount + 1 > words - table_words) return aliased();
      // Nor may lists of elements that take no space amplify it (each such
      // element is a step of every copy, and the copies have no budget).
      if (auto ec = detail::check_empty_lists(root, total.wordCount)) return ec;
      objects = total.wordCount;
    }
    // ...and, being neither deep, aliased nor amplified, each copy of it
    // reads at most 33 times its size: the reader copies use (once per try
    // of a call) needs no budget.
    capnp::ReaderOptions copying;
    copying.traversalLimitInWords = UINT64_MAX;
    copying.nestingLimit = kPayloadNesting;
    p.reader_ = std::make_unique<capnp::FlatArrayMessageReader>(array, copying);
    p.words_ = static_cast<size_t>(objects);
    if (p.words_ == 0) p.words_ = 1;  // an empty struct: still a non-null pointer to copy
  } catch (const kj::Exception& e) {
    return detail::from_capnp(e, "reading the payload");
  }
  return p;
}

void Payload::copy_to(capnp::AnyPointer::Builder target) const {
  if (reader_) target.set(reader_->getRoot<capnp::AnyPointer>());
}

// ------------------------------------------------------------------ options

std::error_code headers_of(const char* const* keys, const char* const* values, unsigned long count,
                           HeaderList& out) {
  out.clear();
  if (count == 0) return {};
  if (!keys || !values) return invalid("header keys or values is NULL with a header count > 0");
  out.reserve(count);
  for (unsigned long i = 0; i < count; ++i) {
    if (!keys[i] || !values[i]) {
      return detail::fail(errc::invalid_argument, "header " + std::to_string(i) + ": its key or value is NULL");
    }
    out.emplace_back(keys[i], values[i]);
  }
  return {};
}

std::error_code message_options(const ringdrop_message_options* c, MessageOptions& out, HeaderList& headers) {
  ringdrop_message_options o;
  if (auto ec = copy_options(c, o, ringdrop_message_options_init, "ringdrop_message_options_init")) return ec;
  if (o.kind < RINGDROP_MESSAGE_NOTIFICATION || o.kind > RINGDROP_MESSAGE_EVENT) {
    return invalid("options->kind must be one of RINGDROP_MESSAGE_*");
  }
  if (o.timeout_ns < 0) return invalid("options->timeout_ns must not be negative (0: no deadline)");
  if (o.attempt > UINT16_MAX || o.schema_version > UINT16_MAX) {
    return invalid("options->attempt and ->schema_version must be at most 65535");
  }
  if (auto ec = headers_of(o.header_keys, o.header_values, o.header_count, headers)) return ec;
  out = MessageOptions{};
  out.kind = static_cast<MessageKind>(o.kind);
  out.correlation_id = o.correlation_id;
  out.reply_to = o.reply_to ? std::string_view(o.reply_to) : std::string_view();
  out.deadline = o.timeout_ns > 0 ? deadline_after(std::chrono::nanoseconds(o.timeout_ns)) : Deadline::max();
  out.attempt = static_cast<uint16_t>(o.attempt);
  out.schema_version = static_cast<uint16_t>(o.schema_version);
  out.idempotent = o.idempotent != 0;
  out.headers = headers;
  return {};
}

size_t flat_envelope_size(const MessageOptions& o, const Payload& p) noexcept {
  using S = Envelope::_capnpPrivate;
  using H = Envelope::Header::_capnpPrivate;
  size_t words = 1 /* segment table */ + 1 /* root pointer */ + S::dataWordSize + S::pointerCount;
  if (!o.reply_to.empty()) words += text_words(o.reply_to.size());
  if (!o.headers.empty()) {
    words += 1 + o.headers.size() * (H::dataWordSize + H::pointerCount);  // tag + elements
    for (const auto& [k, v] : o.headers) words += text_words(k.size()) + text_words(v.size());
  }
  return (words + p.words()) * kWord;
}

// ------------------------------------------------------------------ handles

std::error_code index_fields(ringdrop_message& h) {
  try {
    const auto env = h.m->envelope();
    h.reply_to = env.getReplyTo().cStr();
    const auto error = env.getError();
    h.error_code = error.getCode();
    h.error_text = error.getMessage().cStr();
    h.headers.clear();
    for (auto header : env.getHeaders()) h.headers.emplace_back(header.getKey().cStr(), header.getValue().cStr());
  } catch (const kj::Exception& e) {
    return detail::from_capnp(e, "reading a message's fields");
  }
  return {};
}

std::unique_ptr<ringdrop_message> owning(OwnedMessage m) {
  auto h = std::make_unique<ringdrop_message>();
  h->owned.emplace(std::move(m));
  h->m = &h->owned->message();
  return h;
}

std::span<const std::byte> flat_payload(const ringdrop_message& h) {
  if (!h.payload_words) {
    // A first segment as large as the whole message: the copy stays in one.
    capnp::MallocMessageBuilder b(static_cast<unsigned>(h.m->bytes().size() / kWord + 1));
    try {
      b.getRoot<capnp::AnyPointer>().set(h.m->envelope().getPayload());
    } catch (const kj::Exception& e) {
      throw std::runtime_error(std::string("copying a validated payload: ") + e.getDescription().cStr());
    }
    const auto segments = b.getSegmentsForOutput();
    const size_t size = detail::flat_size(segments);
    std::unique_ptr<capnp::word[]> words(new capnp::word[size / kWord]);
    detail::write_flat(segments, std::span(reinterpret_cast<std::byte*>(words.get()), size));
    h.payload_words = std::move(words);
    h.payload_size = size;
  }
  return {reinterpret_cast<const std::byte*>(h.payload_words.get()), h.payload_size};
}

}  // namespace ringdrop::c

namespace {

template <class T>
int fetch(const ringdrop_message* m, T* out, const char* what, T (*get)(const ringdrop_message&)) {
  return c::guard([&]() -> std::error_code {
    if (!m || !out) return detail::fail(errc::invalid_argument, std::string(what) + ": NULL argument");
    *out = get(*m);
    return {};
  });
}

Result<std::unique_ptr<ringdrop_message>> make_handle(const void* data, unsigned long long size, bool copy) {
  if (!data && size > 0) return invalid("data is NULL but its size is not 0");
  const std::span bytes(static_cast<const std::byte*>(data), static_cast<size_t>(size));
  auto h = std::make_unique<ringdrop_message>();
  if (copy) {
    auto owned = OwnedMessage::copy_of(bytes);
    if (!owned) return owned.error();
    h = c::owning(std::move(*owned));
  } else {
    if (size > 0 && reinterpret_cast<uintptr_t>(data) % sizeof(capnp::word) != 0) {
      return invalid("view: data is not 8-byte aligned (ring views are; ringdrop_message_open copies)");
    }
    auto viewed = IncomingMessage::open(bytes);
    if (!viewed) return viewed.error();
    h->viewed.emplace(std::move(*viewed));
    h->m = &*h->viewed;
  }
  if (auto ec = c::index_fields(*h)) return ec;
  return h;
}

}  // namespace

extern "C" {

RINGDROP_API void ringdrop_message_options_init(ringdrop_message_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->kind = RINGDROP_MESSAGE_NOTIFICATION;
  o->attempt = 1;
}

RINGDROP_API int ringdrop_message_build(unsigned long long type_id, const void* payload,
                                        unsigned long long payload_size,
                                        const ringdrop_message_options* options, void* buffer,
                                        unsigned long long capacity, unsigned long long* size) {
  return c::guard([&]() -> std::error_code {
    if (!size) return invalid("build: size (the out parameter) is NULL");
    *size = 0;
    MessageOptions mo;
    c::HeaderList headers;
    if (auto ec = c::message_options(options, mo, headers)) return ec;
    auto p = c::Payload::parse(payload, payload_size);
    if (!p) return p.error();
    const size_t estimate = c::flat_envelope_size(mo, *p);
    capnp::MallocMessageBuilder b(static_cast<unsigned>(estimate / sizeof(capnp::word)));
    try {
      auto env = b.initRoot<Envelope>();
      fill_envelope(env, type_id, mo);
      p->copy_to(env.getPayload());
    } catch (const kj::Exception& e) {
      return detail::from_capnp(e, "building a message");
    }
    const auto segments = b.getSegmentsForOutput();
    const size_t needed = detail::flat_size(segments);
    *size = needed;
    if (!buffer || capacity < needed) {
      return detail::fail(errc::message_too_large, "build: the buffer holds " + std::to_string(capacity) +
                                                       " bytes, the message needs " + std::to_string(needed));
    }
    if (reinterpret_cast<uintptr_t>(buffer) % alignof(uint32_t) == 0) {
      detail::write_flat(segments, std::span(static_cast<std::byte*>(buffer), needed));
    } else {  // write_flat stores the table as uint32_t
      std::vector<capnp::word> flat(needed / sizeof(capnp::word));
      detail::write_flat(segments, std::as_writable_bytes(std::span(flat)));
      std::memcpy(buffer, flat.data(), needed);
    }
    return {};
  });
}

RINGDROP_API int ringdrop_message_send(ringdrop_ring* ring, unsigned long long type_id, const void* payload,
                                       unsigned long long payload_size,
                                       const ringdrop_message_options* options, long long timeout_ns) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = c::timeout_of(timeout_ns);
    if (!ring || !timeout) return invalid("send: ring is NULL, or the timeout negative");
    MessageOptions mo;
    c::HeaderList headers;
    if (auto ec = c::message_options(options, mo, headers)) return ec;
    auto p = c::Payload::parse(payload, payload_size);
    if (!p) return p.error();
    // The exact size: reserved and zeroed once, built in place, no copy.
    mo.size_hint = c::flat_envelope_size(mo, *p);
    return std::visit(
        [&](auto& end) -> std::error_code {
          const uint64_t most = end.max_message_size();
          if (mo.size_hint > most) {
            // Refused before reserving: a reservation of the ring's largest
            // size could wait for a drained ring only to fail then.
            return detail::fail(errc::message_too_large, "send: the message is " +
                                                             std::to_string(mo.size_hint) +
                                                             " bytes, the ring carries at most " +
                                                             std::to_string(most));
          }
          if constexpr (c::is_consumer<std::decay_t<decltype(end)>>) {
            return invalid("send: this handle is a consumer");
          } else {
            SenderState state;
            return detail::build_and_send(
                end, type_id, deadline_after(*timeout),
                [&](Envelope::Builder env) { p->copy_to(env.getPayload()); }, mo, state);
          }
        },
        ring->end);
  });
}

RINGDROP_API int ringdrop_message_open(const void* data, unsigned long long size, ringdrop_message** message) {
  return c::guard([&]() -> std::error_code {
    if (!message) return invalid("open: message (the out parameter) is NULL");
    *message = nullptr;
    auto h = make_handle(data, size, true);
    if (!h) return h.error();
    *message = h->release();
    return {};
  });
}

RINGDROP_API int ringdrop_message_view(const void* data, unsigned long long size, ringdrop_message** message) {
  return c::guard([&]() -> std::error_code {
    if (!message) return invalid("view: message (the out parameter) is NULL");
    *message = nullptr;
    auto h = make_handle(data, size, false);
    if (!h) return h.error();
    *message = h->release();
    return {};
  });
}

RINGDROP_API void ringdrop_message_close(ringdrop_message* message) { delete message; }

RINGDROP_API int ringdrop_message_id(const ringdrop_message* m, unsigned long long* id) {
  return fetch<unsigned long long>(m, id, "message_id", [](const ringdrop_message& h) -> unsigned long long {
    return h.m->id();
  });
}

RINGDROP_API int ringdrop_message_correlation_id(const ringdrop_message* m, unsigned long long* id) {
  return fetch<unsigned long long>(m, id, "message_correlation_id", [](const ringdrop_message& h) -> unsigned long long {
    return h.m->envelope().getCorrelationId();
  });
}

RINGDROP_API int ringdrop_message_type_id(const ringdrop_message* m, unsigned long long* type_id) {
  return fetch<unsigned long long>(m, type_id, "message_type_id", [](const ringdrop_message& h) -> unsigned long long {
    return h.m->type_id();
  });
}

RINGDROP_API int ringdrop_message_kind(const ringdrop_message* m, int* kind) {
  return fetch<int>(m, kind, "message_kind", [](const ringdrop_message& h) { return static_cast<int>(h.m->kind()); });
}

RINGDROP_API int ringdrop_message_schema_version(const ringdrop_message* m, unsigned int* version) {
  return fetch<unsigned int>(m, version, "message_schema_version", [](const ringdrop_message& h) -> unsigned int {
    return h.m->envelope().getSchemaVersion();
  });
}

RINGDROP_API int ringdrop_message_attempt(const ringdrop_message* m, unsigned int* attempt) {
  return fetch<unsigned int>(m, attempt, "message_attempt", [](const ringdrop_message& h) -> unsigned int {
    return h.m->envelope().getAttempt();
  });
}

RINGDROP_API int ringdrop_message_idempotent(const ringdrop_message* m, int* idempotent) {
  return fetch<int>(m, idempotent, "message_idempotent", [](const ringdrop_message& h) -> int {
    return h.m->envelope().getIdempotent() ? 1 : 0;
  });
}

RINGDROP_API int ringdrop_message_deadline(const ringdrop_message* m, long long* monotonic_ns) {
  return fetch<long long>(m, monotonic_ns, "message_deadline", [](const ringdrop_message& h) -> long long {
    const int64_t ns = h.m->envelope().getDeadlineNs();
    return ns > 0 ? ns : 0;
  });
}

RINGDROP_API int ringdrop_message_time_left(const ringdrop_message* m, long long* ns) {
  return fetch<long long>(m, ns, "message_time_left", [](const ringdrop_message& h) -> long long {
    const Deadline d = h.m->deadline();
    if (d == Deadline::max()) return LLONG_MAX;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d - Clock::now()).count();
  });
}

RINGDROP_API int ringdrop_message_sent_at(const ringdrop_message* m, long long* wall_ns) {
  return fetch<long long>(m, wall_ns, "message_sent_at", [](const ringdrop_message& h) -> long long {
    return h.m->envelope().getSentAtNs();
  });
}

RINGDROP_API int ringdrop_message_reply_to(const ringdrop_message* m, const char** reply_to) {
  return fetch<const char*>(m, reply_to, "message_reply_to", [](const ringdrop_message& h) { return h.reply_to; });
}

RINGDROP_API int ringdrop_message_header(const ringdrop_message* m, const char* key, const char** value) {
  return c::guard([&]() -> std::error_code {
    if (!m || !key || !value) return invalid("message_header: NULL argument");
    for (const auto& [k, v] : m->headers) {
      if (std::strcmp(k, key) == 0) {
        *value = v;
        return {};
      }
    }
    *value = nullptr;
    return detail::fail(errc::not_found, std::string("the message has no header \"") + key + "\"");
  });
}

RINGDROP_API int ringdrop_message_header_count(const ringdrop_message* m, unsigned long* count) {
  return fetch<unsigned long>(m, count, "message_header_count", [](const ringdrop_message& h) -> unsigned long {
    return h.headers.size();
  });
}

RINGDROP_API int ringdrop_message_header_at(const ringdrop_message* m, unsigned long index, const char** key,
                                            const char** value) {
  return c::guard([&]() -> std::error_code {
    if (!m || !key || !value) return invalid("message_header_at: NULL argument");
    if (index >= m->headers.size()) {
      *key = *value = nullptr;
      return detail::fail(errc::not_found, "the message has " + std::to_string(m->headers.size()) +
                                               " headers, none at index " + std::to_string(index));
    }
    *key = m->headers[index].first;
    *value = m->headers[index].second;
    return {};
  });
}

RINGDROP_API int ringdrop_message_error(const ringdrop_message* m, int* code, const char** text) {
  return c::guard([&]() -> std::error_code {
    if (!m || !code || !text) return invalid("message_error: NULL argument");
    *code = m->error_code;
    *text = m->error_text;
    return {};
  });
}

RINGDROP_API int ringdrop_message_payload(const ringdrop_message* m, const void** data, unsigned long long* size) {
  return c::guard([&]() -> std::error_code {
    if (!m || !data || !size) return invalid("message_payload: NULL argument");
    const auto flat = c::flat_payload(*m);
    *data = flat.data();
    *size = flat.size();
    return {};
  });
}

RINGDROP_API int ringdrop_message_bytes(const ringdrop_message* m, const void** data, unsigned long long* size) {
  return c::guard([&]() -> std::error_code {
    if (!m || !data || !size) return invalid("message_bytes: NULL argument");
    *data = m->m->bytes().data();
    *size = m->m->bytes().size();
    return {};
  });
}

}  // extern "C"

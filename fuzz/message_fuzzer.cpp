// message_fuzzer — typed messages from bytes someone else wrote: the C++
// IncomingMessage::open (and OwnedMessage::copy_of, peek_correlation_id),
// and the C ABI's ringdrop_message_open / _view and the payload parsing of
// ringdrop_message_build.
//
// The input is the message, as a ring record would hold it. Beyond "no
// crash, no undefined behaviour, no exception out of the library":
//   - open and view (copying, in place) agree on whether it is valid;
//   - a validated message's accessors all succeed, in C++ and in C (the C
//     ABI promises they never fail on the content once the handle exists),
//     and reading its fields does not exceed the reader's budget;
//   - the payload of a validated message can be sent on: built into a new
//     message, which opens, and whose payload is the same bytes again;
//   - the input as a payload for ringdrop_message_build either is refused,
//     or gives a message that opens.
#include <capnp/any.h>
#include <capnp/message.h>

#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "ringdrop.h"
#include "ringdrop/message.hpp"
#include "ringdrop/owned_message.hpp"

using namespace ringdrop;

namespace {

/// The input in 8-byte aligned memory (ring records are), exactly its size
/// (so ASan sees a read past the end).
struct Aligned {
  explicit Aligned(const uint8_t* data, size_t size)
      : words((size + 7) / 8 + 1), bytes(reinterpret_cast<std::byte*>(words.data()), size) {
    if (size) std::memcpy(words.data(), data, size);
  }
  std::vector<uint64_t> words;
  std::span<const std::byte> bytes;
};

void cpp_reader(std::span<const std::byte> bytes) {
  (void)peek_correlation_id(bytes);
  auto m = IncomingMessage::open(bytes);
  auto owned = OwnedMessage::copy_of(bytes);
  FUZZ_CHECK(m.ok() == owned.ok(), "IncomingMessage::open and OwnedMessage::copy_of disagree");
  if (!m) {
    FUZZ_CHECK(m.error() == errc::bad_message, "a malformed message is not errc::bad_message");
    return;
  }
  try {
    const auto env = m->envelope();
    (void)m->type_id();
    (void)m->kind();
    (void)m->id();
    (void)m->deadline();
    (void)env.getCorrelationId();
    (void)env.getSentAtNs();
    (void)env.getReplyTo();
    // One full read must fit the budget (64 of them must, per message.hpp:
    // header() walks the list again at each call, so it is called once).
    for (auto h : env.getHeaders()) {
      (void)h.getKey();
      (void)h.getValue();
    }
    (void)m->header("content-type");
    if (env.hasError()) (void)env.getError().getMessage();
    auto payload = env.getPayload();
    if (!payload.isNull()) {
      // What a reader does with a payload it does not know: copy it whole.
      capnp::MallocMessageBuilder copy;
      copy.setRoot(payload.getAs<capnp::AnyStruct>());
    }
  } catch (const kj::Exception& e) {
    std::fprintf(stderr, "%s\n", e.getDescription().cStr());
    FUZZ_CHECK(false, "reading a validated message threw (Cap'n Proto)");
  }
}

/// Every accessor of a C handle; returns its payload, flat.
std::vector<uint8_t> c_accessors(const ringdrop_message* m, size_t input_size) {
  unsigned long long u = 0;
  long long ll = 0;
  int i = 0;
  unsigned int ui = 0;
  const char* text = nullptr;
  FUZZ_CHECK(ringdrop_message_id(m, &u) == 0, "ringdrop_message_id failed on a valid handle");
  FUZZ_CHECK(ringdrop_message_correlation_id(m, &u) == 0, "ringdrop_message_correlation_id failed");
  FUZZ_CHECK(ringdrop_message_type_id(m, &u) == 0, "ringdrop_message_type_id failed");
  FUZZ_CHECK(ringdrop_message_kind(m, &i) == 0, "ringdrop_message_kind failed");
  FUZZ_CHECK(ringdrop_message_schema_version(m, &ui) == 0, "ringdrop_message_schema_version failed");
  FUZZ_CHECK(ringdrop_message_attempt(m, &ui) == 0, "ringdrop_message_attempt failed");
  FUZZ_CHECK(ringdrop_message_idempotent(m, &i) == 0, "ringdrop_message_idempotent failed");
  FUZZ_CHECK(ringdrop_message_deadline(m, &ll) == 0, "ringdrop_message_deadline failed");
  FUZZ_CHECK(ringdrop_message_time_left(m, &ll) == 0, "ringdrop_message_time_left failed");
  FUZZ_CHECK(ringdrop_message_sent_at(m, &ll) == 0, "ringdrop_message_sent_at failed");
  FUZZ_CHECK(ringdrop_message_reply_to(m, &text) == 0 && text, "ringdrop_message_reply_to failed");
  (void)std::strlen(text);
  FUZZ_CHECK(ringdrop_message_error(m, &i, &text) == 0 && text, "ringdrop_message_error failed");
  (void)std::strlen(text);
  unsigned long count = 0;
  FUZZ_CHECK(ringdrop_message_header_count(m, &count) == 0, "ringdrop_message_header_count failed");
  for (unsigned long k = 0; k <= count; ++k) {
    const char* key = nullptr;
    const char* value = nullptr;
    const int rc = ringdrop_message_header_at(m, k, &key, &value);
    if (k == count) {
      FUZZ_CHECK(rc == RINGDROP_ENOTFOUND, "ringdrop_message_header_at past the count did not fail");
      break;
    }
    FUZZ_CHECK(rc == 0 && key && value, "ringdrop_message_header_at failed below the count");
    const std::string k_copy(key);
    const char* first = nullptr;
    FUZZ_CHECK(ringdrop_message_header(m, k_copy.c_str(), &first) == 0 && first,
               "ringdrop_message_header does not find a key the message has");
  }
  const void* bytes = nullptr;
  unsigned long long size = 0;
  FUZZ_CHECK(ringdrop_message_bytes(m, &bytes, &size) == 0 && size == input_size,
             "ringdrop_message_bytes failed or changed the size");
  const int rc = ringdrop_message_payload(m, &bytes, &size);
  if (rc != 0) std::fprintf(stderr, "payload: %d %s\n", rc, ringdrop_last_error_message());
  FUZZ_CHECK(rc == 0, "ringdrop_message_payload failed on a valid handle");
  FUZZ_CHECK(size % 8 == 0 && reinterpret_cast<uintptr_t>(bytes) % 8 == 0, "a payload is not whole aligned words");
  const auto* p = static_cast<const uint8_t*>(bytes);
  return std::vector<uint8_t>(p, p + size);
}

/// Builds a message around `payload`; its bytes, or nothing when refused.
std::vector<uint8_t> build(const std::vector<uint8_t>& payload, bool must) {
  unsigned long long needed = 0;
  int rc = ringdrop_message_build(7, payload.data(), payload.size(), nullptr, nullptr, 0, &needed);
  if (rc != RINGDROP_EMSGSIZE) {
    if (must) std::fprintf(stderr, "build: %d %s\n", rc, ringdrop_last_error_message());
    FUZZ_CHECK(!must, "a validated message's payload cannot be sent on");
    FUZZ_CHECK(rc == RINGDROP_EBADMESSAGE, "a refused payload is not RINGDROP_EBADMESSAGE");
    return {};
  }
  std::vector<uint8_t> out(needed);
  rc = ringdrop_message_build(7, payload.data(), payload.size(), nullptr, out.data(), out.size(), &needed);
  FUZZ_CHECK(rc == 0 && needed == out.size(), "building a message failed after its size was given");
  return out;
}

void c_abi(const uint8_t* data, size_t size, std::span<const std::byte> aligned) {
  ringdrop_message* opened = nullptr;
  ringdrop_message* viewed = nullptr;
  const int rc_open = ringdrop_message_open(data, size, &opened);
  const int rc_view = ringdrop_message_view(aligned.data(), aligned.size(), &viewed);
  FUZZ_CHECK((rc_open == 0) == (opened != nullptr), "ringdrop_message_open: code and handle disagree");
  FUZZ_CHECK((rc_view == 0) == (viewed != nullptr), "ringdrop_message_view: code and handle disagree");
  FUZZ_CHECK((rc_open == 0) == (rc_view == 0), "ringdrop_message_open and _view disagree");
  if (rc_open != 0) {
    FUZZ_CHECK(rc_open == RINGDROP_EBADMESSAGE, "a malformed message is not RINGDROP_EBADMESSAGE");
  } else {
    const auto payload = c_accessors(opened, size);
    (void)c_accessors(viewed, size);
    // Sent on: the payload goes into a new message, which opens, and whose
    // payload is the same bytes.
    const auto again = build(payload, true);
    ringdrop_message* rebuilt = nullptr;
    FUZZ_CHECK(ringdrop_message_open(again.data(), again.size(), &rebuilt) == 0,
               "a message built around a validated payload does not open");
    FUZZ_CHECK(c_accessors(rebuilt, again.size()) == payload, "a payload sent on changed");
    ringdrop_message_close(rebuilt);
  }
  ringdrop_message_close(opened);
  ringdrop_message_close(viewed);

  // The input as a caller's payload.
  const auto built = build(std::vector<uint8_t>(data, data + size), false);
  if (!built.empty()) {
    ringdrop_message* m = nullptr;
    const int rc = ringdrop_message_open(built.data(), built.size(), &m);
    if (rc != 0) std::fprintf(stderr, "open: %d %s\n", rc, ringdrop_last_error_message());
    FUZZ_CHECK(rc == 0, "a message built around an accepted payload does not open");
    (void)c_accessors(m, built.size());
    ringdrop_message_close(m);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Aligned aligned(data, size);
  cpp_reader(aligned.bytes);
  c_abi(data, size, aligned.bytes);
  return 0;
}

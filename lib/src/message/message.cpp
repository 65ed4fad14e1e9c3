// Typed messages: the in-place builder, flat writing and validated reading.
#include "ringdrop/message.hpp"

#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>
#include <optional>
#include <utility>

#include <capnp/schema.h>

#include "message/empty_lists.hpp"

namespace ringdrop {

namespace {

constexpr size_t kWord = sizeof(capnp::word);

// Nesting depth a real schema never needs; deeper is an attack or a bug.
constexpr int kNestingLimit = 32;

uint64_t random64() noexcept {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r) {
    r = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (static_cast<uint64_t>(::getpid()) << 40);
  }
  return r;
}

capnp::ReaderOptions limits_for(size_t words) noexcept {
  capnp::ReaderOptions o;
  // Aliasing pointers (the amplification attack the budget exists for) are
  // refused by open(); what is left only has to bound a reader that reads
  // the same fields over and over: 64 times the message, at least 512 KiB.
  o.traversalLimitInWords = std::max<uint64_t>(64 * words, 64 * 1024);
  o.nestingLimit = kNestingLimit;
  return o;
}

// Reads every pointer field of the envelope itself once: a Text that is not
// NUL-terminated or a pointer of the wrong kind throws here, inside open(),
// not later in a caller that trusted a validated message. A null pointer
// reads as the field's default, which cannot throw: only fields set are read.
void touch_envelope(Envelope::Reader env) {
  if (env.hasReplyTo()) (void)env.getReplyTo();
  if (env.hasHeaders()) {
    for (auto h : env.getHeaders()) {
      (void)h.getKey();
      (void)h.getValue();
    }
  }
  if (env.hasError()) (void)env.getError().getMessage();
}

// Which of the envelope's pointers `field` is, as the schema lays it out.
unsigned pointer_of(const char* field) {
  return capnp::Schema::from<Envelope>().getFieldByName(field).getProto().getSlot().getOffset();
}

// Which of the envelope's pointers is the payload.
unsigned payload_pointer() {
  static const unsigned index = pointer_of("payload");
  return index;
}

// The envelope's pointers touch_envelope() reads, as bits.
uint64_t touched_pointers() {
  static const uint64_t bits = uint64_t{1} << pointer_of("replyTo") | uint64_t{1} << pointer_of("headers") |
                               uint64_t{1} << pointer_of("error");
  return bits;
}

}  // namespace

namespace {

// A process-wide counter over a random base, drawn at first use and again
// in a forked child (a fork handler forgets the base), so parent and child
// never share ids and no message pays for a getpid() call. Each thread takes
// the counter's values a block at a time: one atomic add per kIdBlock ids,
// not a contended `lock xadd` per message. A thread's block belongs to the
// base it was taken under; a new base (after fork) means a new block.
std::atomic<uint64_t> id_base{0};
std::atomic<uint64_t> id_counter{0};
constexpr uint64_t kIdBlock = 1024;

void forget_id_base() noexcept { id_base.store(0, std::memory_order_relaxed); }

}  // namespace

uint64_t next_message_id() noexcept {
  static const int registered = ::pthread_atfork(nullptr, nullptr, forget_id_base);
  (void)registered;
  // relaxed: ids need uniqueness, not ordering; two threads drawing a base
  // at once just draw it twice (both before any id is handed out from it).
  uint64_t base = id_base.load(std::memory_order_relaxed);
  if (base == 0) {
    uint64_t fresh = random64() | 1;
    if (!id_base.compare_exchange_strong(base, fresh, std::memory_order_relaxed)) fresh = base;
    base = fresh;
  }
  thread_local uint64_t block_base = 0, next = 0, end = 0;
  if (next == end || block_base != base) {
    // relaxed: blocks need to be disjoint, not ordered.
    next = id_counter.fetch_add(kIdBlock, std::memory_order_relaxed);
    end = next + kIdBlock;
    block_base = base;
  }
  const uint64_t id = base + next++;
  return id != 0 ? id : next_message_id();  // 0 means "none" in envelopes: the next one
}

int64_t to_envelope_time(Deadline deadline) noexcept {
  if (deadline == Deadline::max()) return 0;
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  return ns > 0 ? ns : 1;
}

Deadline from_envelope_time(int64_t ns) noexcept {
  if (ns <= 0) return Deadline::max();
  return Deadline(std::chrono::duration_cast<Deadline::duration>(std::chrono::nanoseconds(ns)));
}

void fill_envelope(Envelope::Builder env, uint64_t type_id, const MessageOptions& o) {
  env.setMessageId(o.message_id ? o.message_id : next_message_id());
  env.setCorrelationId(o.correlation_id);
  if (!o.reply_to.empty()) env.setReplyTo(capnp::Text::Reader(o.reply_to.data(), o.reply_to.size()));
  env.setTypeId(type_id);
  env.setSchemaVersion(o.schema_version);
  env.setSentAtNs(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count());
  env.setDeadlineNs(to_envelope_time(o.deadline));
  env.setAttempt(o.attempt);
  env.setKind(o.kind);
  env.setIdempotent(o.idempotent);
  if (!o.headers.empty()) {
    auto list = env.initHeaders(static_cast<unsigned>(o.headers.size()));
    for (unsigned i = 0; i < o.headers.size(); ++i) {
      const auto& [k, v] = o.headers[i];
      list[i].setKey(capnp::Text::Reader(k.data(), k.size()));
      list[i].setValue(capnp::Text::Reader(v.data(), v.size()));
    }
  }
}

// ------------------------------------------------------------------ reading

namespace {

// A FlatArrayMessageReader made where the thread's last one was freed:
// open() then costs no malloc/free. IncomingMessage holds it as the
// FlatArrayMessageReader it is (its header unchanged), and deleting it
// through that base reaches this class's operator delete through the
// virtual destructor.
class ReusedReader final : public capnp::FlatArrayMessageReader {
 public:
  using FlatArrayMessageReader::FlatArrayMessageReader;
  static void* operator new(size_t size);
  static void operator delete(void* block) noexcept;
};

// The block of the reader the thread freed last. Trivially destructible,
// so still there for a reader freed by a thread_local destroyed after the
// keeper below.
struct Spare {
  void* block = nullptr;
  bool ended = false;  // the thread is ending: its block is freed, and none kept any more
};
constinit thread_local Spare spare;

// Frees the thread's block when the thread ends; made by the first block kept.
struct SpareKeeper {
  ~SpareKeeper() {
    ::operator delete(spare.block);
    spare = {nullptr, true};
  }
};

// Every block is sizeof(ReusedReader): the class is final.
void* ReusedReader::operator new(size_t size) {
  if (void* block = std::exchange(spare.block, nullptr)) return block;
  return ::operator new(size);
}

void ReusedReader::operator delete(void* block) noexcept {
  if (spare.block != nullptr || spare.ended) {
    ::operator delete(block);
    return;
  }
  static thread_local SpareKeeper keeper;
  (void)keeper;
  spare.block = block;
}

// The checks for a message walk_plain() gives up on (several segments, far
// pointers, a capability, aliasing, anything malformed): Cap'n Proto's
// reader walks it, and says what is wrong. Its exceptions are open()'s.
std::error_code check_through_reader(capnp::MessageReader& reader, Envelope::Reader root, size_t words) {
  // One walk of every pointer: bounds, nesting, budget. A well-formed
  // message is never larger read than it is long; one that is reuses
  // (aliases) its objects, to make a small message costly to read.
  const capnp::MessageSize size = root.totalSize();
  const uint64_t read_words = size.wordCount;
  if (read_words > words) {
    return detail::fail(errc::bad_message, "pointers overlap: " + std::to_string(words) + " words would read as " +
                                               std::to_string(read_words));
  }
  // Capabilities mean nothing between processes (there is no table to
  // resolve them), and copying one throws: a payload that holds one could
  // not be copied out or sent on.
  if (size.capCount != 0) {
    return detail::fail(errc::bad_message, "the message holds " + std::to_string(size.capCount) +
                                               " capability pointers, which cannot travel");
  }
  // ... nor one that amplifies through lists of elements taking no space.
  // The payload is checked on its own too: it may be sent on alone.
  return detail::check_empty_lists(reader.getRoot<capnp::AnyPointer>(), read_words, payload_pointer());
}

// Whether the envelope's payload is null or a struct: from the pointer the
// walk read (kind 0: a struct, or null), else asked of the reader.
bool payload_is_struct(const std::optional<detail::PlainMessage>& plain, Envelope::Reader root) {
  if (plain) return (plain->part & 3) == 0;
  const auto payload = root.getPayload();
  return payload.isNull() || payload.isStruct();
}

}  // namespace

Result<IncomingMessage> IncomingMessage::open(std::span<const std::byte> bytes) {
  if (bytes.empty()) return detail::fail(errc::bad_message, "an empty record (a cancelled message)");
  if (bytes.size() % kWord != 0 || reinterpret_cast<uintptr_t>(bytes.data()) % kWord != 0) {
    return detail::fail(errc::bad_message, "a typed message is whole 8-byte words; got " +
                                               std::to_string(bytes.size()) + " bytes");
  }
  IncomingMessage m;
  m.bytes_ = bytes;
  const auto words = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / kWord);
  try {
    // The budget covers the checks below on top of what the caller may read.
    capnp::ReaderOptions o = limits_for(words.size());
    o.traversalLimitInWords += detail::empty_lists_walk_budget(words.size());
    m.reader_ = std::make_unique<ReusedReader>(words, o);
    auto root = m.reader_->getRoot<Envelope>();
    // A plain message (what every builder makes) is walked once, over its
    // raw words: that walk checks what totalSize() would and counts the
    // lists of empty elements. Its objects take no more words than it has
    // (no overlap), and it holds no capability. Any other goes through the
    // reader.
    const auto plain = detail::walk_plain(words, payload_pointer(), kNestingLimit);
    if (auto ec = plain ? detail::judge_empty_lists(plain->count, plain->count.whole.words)
                        : check_through_reader(*m.reader_, root, words.size())) {
      return ec;
    }
    // Only the envelope's fields that are set can be malformed (a null
    // pointer reads as the default): the walk saw which are.
    if (!plain || (plain->root_pointers & touched_pointers()) != 0) touch_envelope(root);
    if (!payload_is_struct(plain, root)) {
      return detail::fail(errc::bad_message, "the envelope's payload is not a struct");
    }
    m.envelope_ = root;
  } catch (const kj::Exception& e) {
    return detail::from_capnp(e, "reading a message");
  }
  return m;
}

uint64_t peek_correlation_id(std::span<const std::byte> bytes) noexcept {
  if (bytes.empty() || bytes.size() % kWord != 0 || reinterpret_cast<uintptr_t>(bytes.data()) % kWord != 0) return 0;
  const auto words = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / kWord);
  try {
    capnp::FlatArrayMessageReader reader(words, limits_for(words.size()));
    return reader.getRoot<Envelope>().getCorrelationId();  // a data field: no pointer followed
  } catch (...) {
    return 0;
  }
}

std::string_view IncomingMessage::header(std::string_view key) const noexcept {
  try {
    for (auto h : envelope_.getHeaders()) {
      auto k = h.getKey();
      if (std::string_view(k.cStr(), k.size()) == key) {
        auto v = h.getValue();
        return {v.cStr(), v.size()};
      }
    }
  } catch (const kj::Exception&) {  // the reader's traversal budget is spent
  }
  return {};
}

std::error_code IncomingMessage::wrong_type(uint64_t wanted) const {
  char text[96];
  std::snprintf(text, sizeof text, "the message carries type 0x%016llx, not 0x%016llx",
                static_cast<unsigned long long>(type_id()), static_cast<unsigned long long>(wanted));
  return detail::fail(errc::bad_message, text);
}

// ------------------------------------------------------------------ writing

namespace detail {

RingMessageBuilder::RingMessageBuilder(std::span<std::byte> span, size_t zero_bytes)
    : span_(span), zero_words_((zero_bytes + kWord - 1) / kWord) {}

RingMessageBuilder::~RingMessageBuilder() = default;

kj::ArrayPtr<capnp::word> RingMessageBuilder::allocateSegment(unsigned minimum_words) {
  const size_t room = span_.size() / kWord;  // words of the span
  if (!first_given_) {
    first_given_ = true;
    if (room > 1 && minimum_words <= room - 1) {
      // Word 0 is the segment table of a one-segment message.
      const size_t words = std::min(room - 1, std::max<size_t>(minimum_words, zero_words_));
      auto* first = reinterpret_cast<capnp::word*>(span_.data()) + 1;
      std::memset(first, 0, words * kWord);
      return kj::arrayPtr(first, words);
    }
  }
  // Outgrown (or too big from the start): heap segments, copied in at the end.
  const size_t words = std::max<size_t>(minimum_words, 1024);
  heap_.push_back(kj::heapArray<capnp::word>(words));
  std::memset(heap_.back().begin(), 0, words * kWord);
  return heap_.back();
}

size_t RingMessageBuilder::finish_in_place() {
  const auto segments = getSegmentsForOutput();
  const auto words = static_cast<uint32_t>(segments[0].size());
  const uint32_t table[2] = {0, words};  // segment count - 1, then each size in words
  std::memcpy(span_.data(), table, sizeof table);
  return (1 + size_t{words}) * kWord;
}

size_t flat_size(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) noexcept {
  size_t words = segments.size() / 2 + 1;  // the table, padded to a word
  for (auto s : segments) words += s.size();
  return words * kWord;
}

void write_flat(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments,
                std::span<std::byte> out) noexcept {
  const size_t table_words = segments.size() / 2 + 1;
  auto* table = reinterpret_cast<uint32_t*>(out.data());
  std::memset(table, 0, table_words * kWord);
  table[0] = static_cast<uint32_t>(segments.size() - 1);
  for (size_t i = 0; i < segments.size(); ++i) table[1 + i] = static_cast<uint32_t>(segments[i].size());
  std::byte* at = out.data() + table_words * kWord;
  for (auto s : segments) {
    std::memcpy(at, s.begin(), s.size() * kWord);
    at += s.size() * kWord;
  }
}

std::error_code from_capnp(const kj::Exception& e, const char* doing) {
  return fail(errc::bad_message, std::string(doing) + ": " + e.getDescription().cStr());
}

}  // namespace detail

HeapMessage::HeapMessage() : envelope_(builder_.initRoot<Envelope>()) {}

}  // namespace ringdrop

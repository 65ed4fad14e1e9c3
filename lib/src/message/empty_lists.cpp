#include "message/empty_lists.hpp"

#include <capnp/any.h>
#include <capnp/common.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "ringdrop/error.hpp"

namespace ringdrop::detail {

namespace {

// Elements that take no space allowed per word of the message, and in any
// message however small (see the header).
constexpr uint64_t kPerWord = 32;
constexpr uint64_t kFree = 512;

uint64_t allowed_for(size_t words) noexcept { return std::max<uint64_t>(kPerWord * words, kFree); }

uint64_t load(const capnp::word* w) noexcept {
  uint64_t x;
  std::memcpy(&x, w, sizeof x);
  return x;
}

// The walk over raw words (walk_plain). A pointer is read as the encoding
// spec lays it out; the data is never looked at. It checks what totalSize()
// checks, and gives up where totalSize() would fail, and in two more cases,
// which the reader then judges: an object of no words whose offset points
// outside the segment (the reader reads it as empty), and objects that add
// up to more words than the message has (some are read twice: the caller
// refuses that). That bound also bounds the work: an object whose pointers
// the walk steps through adds a word for each, so a message whose pointers
// loop or alias costs a step a word at most before the walk gives up (the
// depth bounds the recursion).
//
// Each pointer is read once into a local, checked, then used: a process
// rewriting the words meanwhile can change the counts (the reader that
// reads the message later checks again), never make the walk read outside
// the segment. About 2 ns a pointer, where the reader's walk spends 10.
class RawWalk {
 public:
  RawWalk(const capnp::word* segment, uint64_t size, uint64_t max_words) noexcept
      : seg_(segment), size_(size), max_words_(max_words) {}

  // The root pointer `x` (word 0), not null.
  bool root(uint64_t x, std::optional<unsigned> part, int depth, PlainMessage& out) noexcept {
    return kind(x) == 0 ? root_struct(x, part, depth, out) : follow(0, x, depth);
  }
  EmptyCount::Tally whole() const noexcept { return {elements_, words_}; }

 private:
  // A pointer's fields: its kind in bits 0..1, the offset of its target from
  // the word after it in 2..31; a struct's data words in 32..47, its
  // pointers in 48..63; a list's element size in 32..34, its count in 35..63.
  static uint64_t kind(uint64_t x) noexcept { return x & 3; }
  static int64_t target(int64_t at, uint64_t x) noexcept {
    return at + 1 + (static_cast<int32_t>(static_cast<uint32_t>(x)) >> 2);
  }
  static uint64_t data_words(uint64_t x) noexcept { return (x >> 32) & 0xffff; }
  static uint64_t pointer_count(uint64_t x) noexcept { return x >> 48; }

  bool fits(int64_t begin, uint64_t len) const noexcept {
    return begin >= 0 && static_cast<uint64_t>(begin) <= size_ && len <= size_ - static_cast<uint64_t>(begin);
  }
  // Counts `n` words of objects (n fits the segment, so this cannot wrap);
  // false once they add up to more than max_words_.
  bool add_words(uint64_t n) noexcept {
    words_ += n;
    return words_ <= max_words_;
  }

  // The pointer `x`, not null, read at word `at`.
  bool follow(int64_t at, uint64_t x, int depth) noexcept {
    if (depth <= 0) return false;  // deeper than the reader allows
    switch (kind(x)) {
      case 0:
        return structure(target(at, x), data_words(x), pointer_count(x), depth - 1);
      case 1:
        return list(target(at, x), (x >> 32) & 7, x >> 35, depth - 1);
      default:
        return false;  // far, or a capability
    }
  }

  bool structure(int64_t begin, uint64_t data, uint64_t pointers, int depth) noexcept {
    return fits(begin, data + pointers) && add_words(data + pointers) &&
           pointers_at(begin + static_cast<int64_t>(data), pointers, depth);
  }

  // `n` elements of element size `size` (for a composite list, `n` words).
  bool list(int64_t begin, uint64_t size, uint64_t n, int depth) noexcept {
    switch (size) {
      case 0:  // List(Void): no words, wherever it points (totalSize() does not look)
        elements_ += n;
        return true;
      case 6:  // pointers
        return fits(begin, n) && add_words(n) && pointers_at(begin, n, depth);
      case 7:
        return composite(begin, n, depth);
      default: {  // bits and bytes: no pointers, and every element takes space
        const uint64_t words = (n * kBits[size] + 63) / 64;
        return fits(begin, words) && add_words(words);
      }
    }
  }

  // A list of structs: a tag word (a struct pointer whose offset is the
  // element count) and the elements after it, in `words` words.
  bool composite(int64_t tag_at, uint64_t words, int depth) noexcept {
    if (!fits(tag_at, words + 1)) return false;
    const uint64_t tag = load(seg_ + tag_at);
    if (kind(tag) != 0) return false;
    const uint64_t elements = static_cast<uint32_t>(tag) >> 2;
    const uint64_t data = data_words(tag);
    const uint64_t pointers = pointer_count(tag);
    const uint64_t used = elements * (data + pointers);
    // The elements and their tag, as totalSize() counts them: what a copy
    // keeps, which may be less than the words the list claims.
    if (used > words || !add_words(used + 1)) return false;
    if (data + pointers == 0) elements_ += elements;
    if (pointers == 0) return true;
    int64_t at = tag_at + 1 + static_cast<int64_t>(data);
    for (uint64_t i = 0; i < elements; ++i, at += static_cast<int64_t>(data + pointers)) {
      if (!pointers_at(at, pointers, depth)) return false;
    }
    return true;
  }

  bool pointers_at(int64_t begin, uint64_t n, int depth) noexcept {
    for (uint64_t i = 0; i < n; ++i) {
      const int64_t at = begin + static_cast<int64_t>(i);
      const uint64_t x = load(seg_ + at);
      if (x != 0 && !follow(at, x, depth)) return false;
    }
    return true;
  }

  // The root struct, stepped into as follow() and structure() do, but
  // noting which of its pointers are set, and with its pointer `part` kept
  // and its objects counted apart.
  bool root_struct(uint64_t x, std::optional<unsigned> part, int depth, PlainMessage& out) noexcept {
    const int64_t begin = target(0, x);
    const uint64_t data = data_words(x);
    const uint64_t pointers = pointer_count(x);
    if (depth <= 0 || !fits(begin, data + pointers) || !add_words(data + pointers)) return false;
    if (part && *part < pointers) out.count.part = EmptyCount::Tally{};
    for (uint64_t i = 0; i < pointers; ++i) {
      const int64_t at = begin + static_cast<int64_t>(data + i);
      const uint64_t p = load(seg_ + at);
      if (p == 0) continue;
      if (i < 64) out.root_pointers |= uint64_t{1} << i;
      const EmptyCount::Tally before = whole();
      if (!follow(at, p, depth - 1)) return false;
      if (part && i == *part) {
        out.part = p;
        out.count.part = EmptyCount::Tally{elements_ - before.elements, words_ - before.words};
      }
    }
    return true;
  }

  // Bits per element of the list element sizes 0..5 (6 and 7 hold pointers).
  static constexpr uint64_t kBits[8] = {0, 1, 8, 16, 32, 64, 64, 0};

  const capnp::word* seg_;
  uint64_t size_;
  uint64_t max_words_;
  uint64_t words_ = 0;
  uint64_t elements_ = 0;
};

// The reader's walk: counts the elements that take no space reachable from p, each object once
// (pointers do not alias). Lists of them are counted, never iterated.
uint64_t count(capnp::AnyPointer::Reader p) {
  uint64_t n = 0;
  switch (p.getPointerType()) {
    case capnp::PointerType::STRUCT:
      for (auto q : p.getAs<capnp::AnyStruct>().getPointerSection()) n += count(q);
      return n;
    case capnp::PointerType::LIST: {
      const auto list = p.getAs<capnp::AnyList>();
      switch (list.getElementSize()) {
        case capnp::ElementSize::VOID:
          return list.size();
        case capnp::ElementSize::POINTER:
          for (auto q : list.as<capnp::List<capnp::AnyPointer>>()) n += count(q);
          return n;
        case capnp::ElementSize::INLINE_COMPOSITE: {
          const auto structs = list.as<capnp::List<capnp::AnyStruct>>();
          if (structs.size() == 0) return 0;
          if (structs[0].getDataSection().size() == 0 && structs[0].getPointerSection().size() == 0) {
            return structs.size();
          }
          for (auto s : structs) {
            for (auto q : s.getPointerSection()) n += count(q);
          }
          return n;
        }
        default:
          return 0;  // bits and bytes: no pointers, and every element takes space
      }
    }
    default:
      return 0;
  }
}

std::error_code refuse(const char* what, uint64_t n, uint64_t allowed, uint64_t words) {
  return fail(errc::bad_message,
              "lists of empty elements: " + (n > allowed + 1 ? std::to_string(n) : "more than " + std::to_string(allowed)) +
                  " in " + what + " of " + std::to_string(words) + " words (reading it would cost more than " +
                  std::to_string(kPerWord + 1) + " times its size)");
}

}  // namespace

std::optional<PlainMessage> walk_plain(kj::ArrayPtr<const capnp::word> flat, std::optional<unsigned> part,
                                       int nesting_limit) noexcept {
  // Filled where the caller receives it (one object returned on every
  // path): copying it out would cost more than the walk of a small message.
  std::optional<PlainMessage> out;
  if (flat.size() < 2) return out;
  const uint64_t table = load(flat.begin());
  const uint64_t size = table >> 32;
  // One segment, not empty, inside the bytes (one cut short: the reader says so).
  if (static_cast<uint32_t>(table) != 0 || size == 0 || size > flat.size() - 1) return out;
  PlainMessage& m = out.emplace();
  m.segment_words = size;
  m.root = load(flat.begin() + 1);
  RawWalk walk(flat.begin() + 1, size, flat.size());
  if (m.root != 0 && !walk.root(m.root, part, nesting_limit, m)) {
    out.reset();
    return out;
  }
  m.count.whole = walk.whole();
  return out;
}

std::error_code judge_empty_lists(const EmptyCount& n, uint64_t words) {
  const uint64_t allowed = allowed_for(words);
  if (n.whole.elements > allowed) return refuse("a message", n.whole.elements, allowed, words);
  // A part that passes as a message of its own passes here; one that passes here only because
  // the rest of the message is large would be refused when sent on alone.
  if (n.part && n.part->elements > allowed_for(n.part->words)) {
    return refuse("a payload", n.part->elements, allowed_for(n.part->words), n.part->words);
  }
  return {};
}

uint64_t empty_lists_walk_budget(size_t words) noexcept { return 2 * (words + allowed_for(words)); }

std::error_code check_empty_lists(capnp::AnyPointer::Reader root, uint64_t words, std::optional<unsigned> part) {
  EmptyCount n;
  try {
    n.whole.elements = count(root);
    if (part && root.isStruct()) {
      const auto pointers = root.getAs<capnp::AnyStruct>().getPointerSection();
      if (*part < pointers.size()) {
        const auto p = pointers[*part];
        n.part = EmptyCount::Tally{count(p), p.targetSize().wordCount};
      }
    }
  } catch (const kj::Exception&) {
    n.whole.elements = allowed_for(words) + 1;  // one list claims more than the budget left for the walk
  }
  return judge_empty_lists(n, words);
}

}  // namespace ringdrop::detail

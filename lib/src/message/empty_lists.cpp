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

// The walk over raw words, for the message people send: one segment (every
// ringdrop builder makes one), near pointers only. A pointer is read as the
// encoding spec lays it out; the data is never looked at. Gives up (nullopt)
// on anything else — several segments, far pointers, capabilities, a bound
// crossed, more pointers than words — and the reader's walk (count below)
// takes over. About 2 ns a pointer, where the reader's walk spends 10.
class RawWalk {
 public:
  static std::optional<EmptyCount> count(kj::ArrayPtr<const capnp::word> flat, std::optional<unsigned> part) noexcept {
    if (flat.size() < 2) return std::nullopt;
    const uint64_t table = load(flat.begin());
    if (static_cast<uint32_t>(table) != 0) return std::nullopt;  // more than one segment
    RawWalk w(flat.begin() + 1, std::min<uint64_t>(table >> 32, flat.size() - 1));
    if (w.size_ == 0) return std::nullopt;
    if (part) w.find_part(*part);
    if (!w.pointer(0, kDepth)) return std::nullopt;
    return w.result_;
  }

 private:
  static constexpr int kDepth = 64;  // deeper than any reader allows

  RawWalk(const capnp::word* seg, uint64_t size) noexcept : seg_(seg), size_(size), visits_(size) {}

  // Where the root struct's pointer `index` is, if the root is a struct
  // that has it: the walk then counts that pointer's objects apart.
  void find_part(unsigned index) noexcept {
    const uint64_t x = load(seg_);
    if ((x & 3) != 0 || x == 0) return;
    const uint64_t data = (x >> 32) & 0xffff;
    if (index >= (x >> 48)) return;
    part_at_ = 1 + (static_cast<int32_t>(static_cast<uint32_t>(x)) >> 2) + static_cast<int64_t>(data + index);
  }

  static uint64_t load(const capnp::word* w) noexcept {
    uint64_t x;
    std::memcpy(&x, w, sizeof x);
    return x;
  }
  bool fits(int64_t begin, uint64_t len) const noexcept {
    return begin >= 0 && static_cast<uint64_t>(begin) <= size_ && len <= size_ - static_cast<uint64_t>(begin);
  }

  bool pointer(int64_t at, int depth) noexcept {
    if (at == part_at_ && depth == kDepth - 1) {  // the root struct's pointer to the part
      const EmptyCount before = result_;
      if (!follow(at, depth)) return false;
      result_.part = {result_.whole.elements - before.whole.elements, result_.whole.words - before.whole.words};
      return true;
    }
    return follow(at, depth);
  }

  bool follow(int64_t at, int depth) noexcept {
    const uint64_t x = load(seg_ + at);
    if (x == 0) return true;
    if (depth == 0 || visits_-- == 0) return false;
    const auto lo = static_cast<uint32_t>(x);
    const int64_t target = at + 1 + (static_cast<int32_t>(lo) >> 2);
    switch (lo & 3) {
      case 0:  // struct: data words in bits 32..47, pointers in 48..63
        return structure(target, (x >> 32) & 0xffff, x >> 48, depth - 1);
      case 1: {  // list: element size in bits 32..34, count in 35..63
        const uint64_t size = (x >> 32) & 7;
        const uint64_t count = x >> 35;
        if (size == 0) {  // List(Void)
          result_.whole.elements += count;
          return true;
        }
        if (size == 6) {  // pointers
          if (!fits(target, count)) return false;
          result_.whole.words += count;
          for (uint64_t i = 0; i < count; ++i) {
            if (!pointer(target + static_cast<int64_t>(i), depth - 1)) return false;
          }
          return true;
        }
        if (size == 7) return composite(target, count, depth - 1);  // count is in words
        // Bits and bytes: no pointers, and every element takes space.
        result_.whole.words += (count * kBits[size] + 63) / 64;
        return true;
      }
      default:
        return false;  // far, or a capability
    }
  }

  bool structure(int64_t begin, uint64_t data, uint64_t pointers, int depth) noexcept {
    if (!fits(begin, data + pointers)) return false;
    result_.whole.words += data + pointers;
    return pointers_of(begin + static_cast<int64_t>(data), pointers, depth);
  }

  // A list of structs: a tag word (a struct pointer whose offset is the
  // element count) and the elements after it.
  bool composite(int64_t tag_at, uint64_t words, int depth) noexcept {
    if (!fits(tag_at, words + 1)) return false;
    result_.whole.words += words + 1;  // the elements and their tag, as totalSize() counts them
    const uint64_t tag = load(seg_ + tag_at);
    if ((tag & 3) != 0) return false;
    const uint64_t elements = static_cast<uint32_t>(tag) >> 2;
    const uint64_t data = (tag >> 32) & 0xffff;
    const uint64_t pointers = tag >> 48;
    if (data + pointers == 0) {
      result_.whole.elements += elements;
      return true;
    }
    if (elements * (data + pointers) > words) return false;
    if (pointers == 0) return true;
    int64_t at = tag_at + 1;
    for (uint64_t i = 0; i < elements; ++i, at += static_cast<int64_t>(data + pointers)) {
      if (!pointers_of(at + static_cast<int64_t>(data), pointers, depth)) return false;
    }
    return true;
  }

  bool pointers_of(int64_t begin, uint64_t pointers, int depth) noexcept {
    for (uint64_t i = 0; i < pointers; ++i) {
      if (!pointer(begin + static_cast<int64_t>(i), depth)) return false;
    }
    return true;
  }

  // Bits per element of the list element sizes 0..5 (6 and 7 hold pointers).
  static constexpr uint64_t kBits[8] = {0, 1, 8, 16, 32, 64, 64, 0};

  const capnp::word* seg_;
  uint64_t size_;
  uint64_t visits_;  // pointers followed, at most one a word: no aliasing loop
  int64_t part_at_ = -1;
  EmptyCount result_;
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

uint64_t empty_lists_walk_budget(size_t words) noexcept { return 2 * (words + allowed_for(words)); }

std::error_code check_empty_lists(kj::ArrayPtr<const capnp::word> flat, capnp::AnyPointer::Reader root,
                                  uint64_t words, std::optional<unsigned> part) {
  const uint64_t allowed = allowed_for(words);
  EmptyCount n;
  if (auto raw = RawWalk::count(flat, part)) {
    n = *raw;
  } else {
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
      n.whole.elements = allowed + 1;  // one list claims more than the budget left for the walk
    }
  }
  if (n.whole.elements > allowed) return refuse("a message", n.whole.elements, allowed, words);
  // A part that passes as a message of its own passes here; one that passes here only because
  // the rest of the message is large would be refused when sent on alone.
  if (n.part && n.part->elements > allowed_for(n.part->words)) {
    return refuse("a payload", n.part->elements, allowed_for(n.part->words), n.part->words);
  }
  return {};
}

}  // namespace ringdrop::detail

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
  static std::optional<uint64_t> count(kj::ArrayPtr<const capnp::word> flat) noexcept {
    if (flat.size() < 2) return std::nullopt;
    const uint64_t table = load(flat.begin());
    if (static_cast<uint32_t>(table) != 0) return std::nullopt;  // more than one segment
    RawWalk w(flat.begin() + 1, std::min<uint64_t>(table >> 32, flat.size() - 1));
    if (w.size_ == 0 || !w.pointer(0, kDepth)) return std::nullopt;
    return w.n_;
  }

 private:
  static constexpr int kDepth = 64;  // deeper than any reader allows

  RawWalk(const capnp::word* seg, uint64_t size) noexcept : seg_(seg), size_(size), visits_(size) {}

  static uint64_t load(const capnp::word* w) noexcept {
    uint64_t x;
    std::memcpy(&x, w, sizeof x);
    return x;
  }
  bool fits(int64_t begin, uint64_t len) const noexcept {
    return begin >= 0 && static_cast<uint64_t>(begin) <= size_ && len <= size_ - static_cast<uint64_t>(begin);
  }

  bool pointer(int64_t at, int depth) noexcept {
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
          n_ += count;
          return true;
        }
        if (size == 6) {  // pointers
          if (!fits(target, count)) return false;
          for (uint64_t i = 0; i < count; ++i) {
            if (!pointer(target + static_cast<int64_t>(i), depth - 1)) return false;
          }
          return true;
        }
        if (size == 7) return composite(target, count, depth - 1);  // count is in words
        return true;  // bits and bytes: no pointers, and every element takes space
      }
      default:
        return false;  // far, or a capability
    }
  }

  bool structure(int64_t begin, uint64_t data, uint64_t pointers, int depth) noexcept {
    if (!fits(begin, data + pointers)) return false;
    for (uint64_t i = 0; i < pointers; ++i) {
      if (!pointer(begin + static_cast<int64_t>(data + i), depth)) return false;
    }
    return true;
  }

  // A list of structs: a tag word (a struct pointer whose offset is the
  // element count) and the elements after it.
  bool composite(int64_t tag_at, uint64_t words, int depth) noexcept {
    if (!fits(tag_at, words + 1)) return false;
    const uint64_t tag = load(seg_ + tag_at);
    if ((tag & 3) != 0) return false;
    const uint64_t elements = static_cast<uint32_t>(tag) >> 2;
    const uint64_t data = (tag >> 32) & 0xffff;
    const uint64_t pointers = tag >> 48;
    if (data + pointers == 0) {
      n_ += elements;
      return true;
    }
    if (elements * (data + pointers) > words) return false;
    if (pointers == 0) return true;
    int64_t at = tag_at + 1;
    for (uint64_t i = 0; i < elements; ++i, at += static_cast<int64_t>(data + pointers)) {
      if (!structure(at, data, pointers, depth)) return false;
    }
    return true;
  }

  const capnp::word* seg_;
  uint64_t size_;
  uint64_t visits_;  // pointers followed, at most one a word: no aliasing loop
  uint64_t n_ = 0;
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

}  // namespace

uint64_t empty_lists_walk_budget(size_t words) noexcept { return words + allowed_for(words); }

std::error_code check_empty_lists(kj::ArrayPtr<const capnp::word> flat, capnp::AnyPointer::Reader root,
                                  uint64_t words) {
  const uint64_t allowed = allowed_for(words);
  uint64_t n = 0;
  if (auto raw = RawWalk::count(flat)) {
    n = *raw;
  } else {
    try {
      n = count(root);
    } catch (const kj::Exception&) {
      n = allowed + 1;  // one list claims more than the budget left for the walk
    }
  }
  if (n <= allowed) return {};
  return fail(errc::bad_message,
              "lists of empty elements: " + (n > allowed + 1 ? std::to_string(n) : "more than " + std::to_string(allowed)) +
                  " in a message of " + std::to_string(words) + " words (reading it would cost more than " +
                  std::to_string(kPerWord + 1) + " times its size)");
}

}  // namespace ringdrop::detail

// Lists of elements that take no space: the one amplification a plain
// (unaliased) Cap'n Proto message still has.
//
// A List(Void), or a list of structs with no data and no pointers, takes no
// words however many elements it claims (up to 2^29): totalSize() counts it
// as nothing, yet a reader that copies or iterates it does a step per
// element. Cap'n Proto charges the traversal budget a word per element when
// the list is read, so a reader with a budget fails late (a payload that
// opened cannot be copied out), and one without spends seconds of CPU on a
// hundred-byte message.
//
// The rule: a message may hold at most max(32 x the words its objects take,
// 512) such elements, all lists together. Reading it whole then costs at
// most 33 times its size: inside the budget open() gives its reader (64
// times), and bounded for the C ABI's copies, which have none.
//
// The check walks the pointers, never the data: over the raw words for a
// message of one segment with near pointers only (what every builder makes),
// else through the caller's reader, whose budget must then cover what it
// reads: empty_lists_walk_budget() more.
#pragma once

#include <capnp/any.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include <system_error>

namespace ringdrop::detail {

/// Elements that take no space, and the words the objects around them take
/// (as totalSize() counts them), in a message and in one part of it.
struct EmptyCount {
  struct Tally {
    uint64_t elements = 0;
    uint64_t words = 0;
  };
  Tally whole;                ///< whole.words is counted by the raw walk only
  std::optional<Tally> part;  ///< the root struct's pointer asked for, if it has it
};

/// Words of a reader's traversal budget that check_empty_lists() spends on
/// a message of `words` words that passes it: each word read once, and a
/// word for each element that takes no space; twice, for a part.
uint64_t empty_lists_walk_budget(size_t words) noexcept;

/// Empty if the flat message `flat` (segment table first; its pointers found
/// not to alias: totalSize() no larger than the message), whose root `root`
/// is and whose objects take `words` words (totalSize(): what a copy keeps,
/// so a message built around a payload that passes passes too), holds no
/// more elements that take no space than the rule allows; else
/// errc::bad_message with the count. May walk on root's reader, which must
/// have empty_lists_walk_budget(flat.size()) left.
///
/// With `part`, the objects under the root struct's pointer `part` (an
/// envelope's payload) must also pass as a message of their own would: so
/// a payload read inside a large envelope can be sent on alone.
std::error_code check_empty_lists(kj::ArrayPtr<const capnp::word> flat, capnp::AnyPointer::Reader root,
                                  uint64_t words, std::optional<unsigned> part = {});

}  // namespace ringdrop::detail

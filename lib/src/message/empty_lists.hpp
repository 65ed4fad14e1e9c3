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

#include <system_error>

namespace ringdrop::detail {

/// Words of a reader's traversal budget that check_empty_lists() spends on
/// a message of `words` words that passes it: each word read once, and a
/// word for each element that takes no space.
uint64_t empty_lists_walk_budget(size_t words) noexcept;

/// Empty if the flat message `flat` (segment table first; its pointers found
/// not to alias: totalSize() no larger than the message), whose root `root`
/// is and whose objects take `words` words (totalSize(): what a copy keeps,
/// so a message built around a payload that passes passes too), holds no
/// more elements that take no space than the rule allows; else
/// errc::bad_message with the count. May walk on root's reader, which must
/// have empty_lists_walk_budget(flat.size()) left.
std::error_code check_empty_lists(kj::ArrayPtr<const capnp::word> flat, capnp::AnyPointer::Reader root,
                                  uint64_t words);

}  // namespace ringdrop::detail

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
// The count walks the pointers, never the data. For a plain message (one
// segment, near pointers only: what every builder makes) it walks the raw
// words, and that one walk also checks what totalSize() checks (bounds,
// nesting, no capabilities) and counts the words it counts, so a caller
// that has walk_plain()'s answer walks the message no second time. For any
// other message it walks through the caller's reader (check_empty_lists),
// whose budget must then cover what it reads: empty_lists_walk_budget()
// more.
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

/// What the walk over raw words learns of a plain message.
struct PlainMessage {
  EmptyCount count;            ///< count.whole.words: what the root's totalSize() would give
  uint64_t segment_words = 0;  ///< the segment, as the table gives it (the table is read once)
  uint64_t root = 0;           ///< the root pointer, as read
  uint64_t root_pointers = 0;  ///< bit i: the root struct's pointer i (i < 64) is set
  uint64_t part = 0;           ///< the root struct's pointer `part`, as read (0: null, or none)
};

/// Walks the flat message `flat` (segment table first) over its raw words,
/// if it is plain: one segment (within `flat`), near pointers only, every
/// object in bounds, no capability, composite lists of structs, no chain of
/// pointers longer than `nesting_limit` (the root pointer included: the
/// depth totalSize() allows under a reader of that nesting limit), and
/// objects that add up to no more words than `flat` has (more: pointers
/// alias, which open() refuses). Else nullopt: the reader's checks then say
/// what is wrong, if anything. With `part`, the objects under the root
/// struct's pointer `part` (an envelope's payload) are counted apart too.
/// Every word it uses is read once into a local and checked there before it
/// is used: the bytes may be another process's, and change meanwhile.
std::optional<PlainMessage> walk_plain(kj::ArrayPtr<const capnp::word> flat, std::optional<unsigned> part,
                                       int nesting_limit) noexcept;

/// Empty if the counts `n` of a message whose objects take `words` words
/// (totalSize(): what a copy keeps, so a message built around a payload
/// that passes passes too) are within the rule; else errc::bad_message with
/// the count. A part must also pass as a message of its own would: so a
/// payload read inside a large envelope can be sent on alone.
std::error_code judge_empty_lists(const EmptyCount& n, uint64_t words);

/// Words of a reader's traversal budget that check_empty_lists() spends on
/// a message of `words` words that passes it: each word read once, and a
/// word for each element that takes no space; twice, for a part.
uint64_t empty_lists_walk_budget(size_t words) noexcept;

/// judge_empty_lists() on counts taken through root's reader, for a message
/// walk_plain() gives up on whose pointers were found not to alias
/// (totalSize() no larger than the message) and whose objects take `words`
/// words (totalSize()). root's reader must have
/// empty_lists_walk_budget(the message's words) left. `part`: as walk_plain.
std::error_code check_empty_lists(capnp::AnyPointer::Reader root, uint64_t words, std::optional<unsigned> part = {});

}  // namespace ringdrop::detail

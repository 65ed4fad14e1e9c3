// drop_headers.hpp — a message's headers as a small text file,
// state/meta/<id>: one "key: value" line per header, sorted by key.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "drop/drop_tree.hpp"
#include "ringdrop/drop_types.hpp"

namespace ringdrop::detail {

/// invalid_argument (with the offending header in the detail) unless every
/// key is 1-64 of [a-z0-9-], every value at most 1024 printable bytes, and
/// the file at most 64 KiB.
std::error_code check_headers(const DropHeaders& headers);

std::string encode_headers(const DropHeaders& headers);
/// Lenient: a line without ": " (a hand-written file's typo) is skipped.
DropHeaders decode_headers(std::string_view text);

std::error_code write_headers(const DropTree& t, std::string_view id, const DropHeaders& headers);
/// The headers of message `id` (none for a hand-made file), with
/// published-at taken from the id: it is not stored, the id carries it.
DropHeaders read_headers(const DropTree& t, std::string_view id);

}  // namespace ringdrop::detail

// drop_receipt.hpp — what became of a file a legacy writer dropped.
//
// A program that drops orders.csv into incoming/ cannot call anything; it
// can only look for files. So for every file taken from incoming/ the
// channel keeps a receipt in receipts/, named after the writer's file and
// the message id it got (ids begin with the time, so a name dropped daily
// has one receipt a day, in order):
//
//   receipts/orders.csv.<id>      one "key: value" line each, sorted:
//     id: <id>
//     name: orders.csv
//     outcome: taken | processed | dead-lettered
//     reason: <why it was dead-lettered or refused>   (dead-lettered only)
//     at: 2026-12-06T17:44:37.123Z                    (when the outcome was)
//
// "taken" when it is moved into new/, then "processed" at its ack, or
// "dead-lettered" when it goes to failed/ (refused at ingest, rejected, or
// out of attempts); a requeued dead letter's later ack makes it
// "processed". Each is written as headers are (tmp/, then a rename), so a
// reader never sees half a receipt. Best effort: a receipt that cannot be
// written never fails the ack or the move it reports. Receipts older than
// DropOptions::receipt_retention are removed by consumers' maintenance.
// Messages published by cooperating programs get one when they carry an
// original-name header. DropChannel::receipt reads (and waits for) one by
// name and id, for a program that cannot list a directory.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "drop/drop_tree.hpp"
#include "ringdrop/drop_types.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop::detail {

/// The receipt's file name in receipts/: the writer's name ('/' made '_',
/// cut so the whole stays within NAME_MAX), a dot, the id.
std::string receipt_file(std::string_view name, std::string_view id);

/// Writes (or replaces) the receipt of message `id`, if `headers` carry an
/// original-name and the channel has receipts/.
void write_receipt(const DropTree& t, std::string_view id, const DropHeaders& headers,
                   std::string_view outcome, std::string_view reason = {}) noexcept;

/// The receipt of `id` named `name`: as it is now (no `until`), or once it
/// is settled, waiting until `until` (DropChannel::receipt).
Result<DropReceipt> read_receipt(const DropTree& t, std::string_view name, std::string_view id,
                                 std::optional<Deadline> until);

}  // namespace ringdrop::detail

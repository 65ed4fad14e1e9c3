// drop_dead_letter.hpp — moving a message into failed/ with its reason, and
// reading dead letters back.
//
// The message moves first, then its reason file is written: a crash between
// the two leaves a dead letter without a reason (listed as "no reason
// recorded"), never a reason without its message.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <system_error>

#include "drop/drop_tree.hpp"
#include "ringdrop/drop_types.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop::detail {

struct DeadLetterMove {
  Dir from;
  std::string from_name;
  std::string id;
  uint32_t attempts = 0;
  std::string reason;
  std::string consumer;  ///< who gave up on it ("" for an ingest refusal)
};

/// Moves the entry to failed/<id>.<attempts> and writes failed/<id>.reason.
/// not_found when another process moved the entry first.
std::error_code move_to_failed(const DropTree& t, const DeadLetterMove& m);

/// The name of dead letter `id` in failed/ (invalid_argument for a malformed
/// id, not_found when there is none).
Result<std::string> find_dead_letter(const DropTree& t, std::string_view id);
/// The dead letter stored as failed/<name>.
Result<DeadLetter> load_dead_letter(const DropTree& t, const std::string& name);
/// When dead letter failed/<name> failed.
std::chrono::system_clock::time_point failed_at(const DropTree& t, std::string_view id,
                                                const std::string& name);
/// Removes its data (a refused directory with its content), reason and
/// headers.
std::error_code purge_dead_letter(const DropTree& t, std::string_view id, const std::string& name);

}  // namespace ringdrop::detail

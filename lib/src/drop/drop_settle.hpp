// drop_settle.hpp — how a claimed message leaves work/ for good, and the
// processed-key records that make consumption idempotent.
//
// A message's key is its idempotency-key header, or else its id. A claim
// whose key is recorded (state/keys/<key>) is skipped, not delivered.
// Acking records a producer's key before the message leaves work/, so no
// other message with that key is processed again, even after a crash in
// between. An id is recorded only when the ack finds its lease lost: the
// file then lives on elsewhere as a second copy. When the ack removes the
// file, no copy of that id remains, and a record would be a file per message
// kept for key_retention.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "drop/drop_tree.hpp"

namespace ringdrop::detail {

std::string message_key(const DropHeaders& headers, std::string_view id);
bool key_processed(const DropTree& t, std::string_view key);
std::error_code record_key(const DropTree& t, std::string_view key);

/// Archives (done/<id>.<attempts> and done/<id>.headers) or deletes a message
/// in work/. not_found when it is no longer there (its lease was lost).
std::error_code finish_message(const DropTree& t, std::string_view id, uint32_t attempts,
                               const std::string& work_name);

/// How long a message nacked on attempt `attempt` waits: backoff * 2^(a-1),
/// at most backoff_max.
std::chrono::milliseconds retry_delay(const DropOptions& o, uint32_t attempt) noexcept;

}  // namespace ringdrop::detail

// exit_codes.hpp — the exit status of `ringdrop`, one per kind of failure,
// from one table (docs/cli.md lists them; `ringdrop --help` too).
#pragma once

#define RINGDROP_CLI_EXIT_CODES(XX)                                                                  \
  XX(ok, 0, "success")                                                                               \
  XX(failed, 1, "the operation failed; the message says why")                                        \
  XX(usage, 2, "bad arguments (ringdrop COMMAND --help explains each)")                              \
  XX(not_found, 3, "no such ring, channel, service, dead letter or file")                            \
  XX(bad_input, 4, "refused input: a foreign or corrupted segment, a bad id, JSON, schema or header") \
  XX(timed_out, 5, "nothing arrived, or no room was freed, in time")                                 \
  XX(denied, 6, "permission denied")                                                                 \
  XX(busy, 7, "taken: another live process holds the role")                                          \
  XX(remote, 8, "the service answered with an error, or could not be called (circuit open, gone)")   \
  XX(problems, 9, "doctor found problems; dlq/gc did only part of the work")

namespace ringdrop::cli {

enum class Exit : int {
#define RINGDROP_CLI_EXIT_ENUM(name, value, text) name = value,
  RINGDROP_CLI_EXIT_CODES(RINGDROP_CLI_EXIT_ENUM)
#undef RINGDROP_CLI_EXIT_ENUM
};

/// The table as help text: one line per code.
const char* exit_code_help() noexcept;

}  // namespace ringdrop::cli

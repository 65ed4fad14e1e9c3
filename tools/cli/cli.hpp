// cli.hpp — what every `ringdrop` command shares: the global options, how a
// failure becomes one sentence on stderr and an exit status, naming things
// on the command line, and printing.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"
#include "inventory.hpp"
#include "ops_json.hpp"
#include "typed_json.hpp"
#include "ringdrop/segment.hpp"

namespace ringdrop::cli {

/// Options every command takes, before or after the command's name — but
/// for `send` and `call`, whose own --json is the payload: there the output
/// flag goes first (`ringdrop --json send ...`).
struct Globals {
  bool json = false;                  ///< --json: one JSON document on stdout
  std::vector<std::string> channels;  ///< --channel DIR (and the config file's `channel`)
  std::vector<std::string> paths;     ///< --path FILE: file-backed rings
  std::string registry;               ///< --registry DIR (default: the library's)

  ops::InventoryOptions inventory() const;
};

/// A failure: its sentence (printed as "ringdrop: <text>") and exit status.
struct Failure : std::runtime_error {
  Failure(Exit c, const std::string& text) : std::runtime_error(text), code(c) {}
  Exit code;
};

/// Throws the Failure for a library error: `what` names the object and the
/// action ("open shm:orders"); the library's detail follows.
[[noreturn]] void fail(std::error_code ec, const std::string& what);
[[noreturn]] void fail(Exit code, const std::string& text);
/// The exit status for a library error.
Exit exit_for(std::error_code ec) noexcept;

/// What a NAME on the command line is.
struct Target {
  enum class Kind { ring, channel, service };
  Kind kind = Kind::ring;
  Location ring = Location::shm("?");  ///< ring, or the service's request ring
  std::string channel;                  ///< drop channel root
  std::string service;

  static Target of_ring(Location where);
  static Target of_channel(std::string root);
  static Target of_service(std::string name, Location request_ring);
  std::string describe() const;
};

/// Resolves NAME: "shm:x", "file:/p" or "service:x" say what they are; a
/// path (with '/') is a drop channel if it is a directory, else a file-backed
/// ring; a bare name is the shm ring of that name if there is one, else a
/// drop channel in that directory here, else the registered service. Fails
/// with not_found (and what was tried) otherwise, and refuses a path with a
/// ".." component.
Target resolve(const std::string& name, const Globals& g);

/// "1.5 MiB", "312 B"
std::string human_bytes(uint64_t n);
/// "3s", "5m", "2h", "4d" (rounded down)
std::string human_age(std::chrono::system_clock::duration d);
/// Parses "30s", "5m", "2h", "7d", "250ms" (a bare number is seconds).
std::chrono::milliseconds parse_duration(const std::string& text);
/// --header key=value options as pairs (a Failure, usage, for one without '=').
std::vector<std::pair<std::string, std::string>> parse_headers(const std::vector<std::string>& given);
/// Prints `j` indented on stdout.
void print_json(const ops::Json& j);
/// Prints a message's bytes as ops::describe_bytes gave them: a typed
/// message's envelope (and payload), text, or a hex dump.
void print_body(const ops::Json& described);

/// --schema, --type and --import: how typed messages are decoded.
struct SchemaArgs {
  std::string file, type;
  std::vector<std::string> imports;
  void add_to(CLI::App* cmd);
  /// The type, if --schema and --type were given (a Failure if it does not load).
  std::optional<ops::SchemaType> load() const;
};

/// Sends one message's bytes on a ring, waiting up to the timeout given
/// to open_sender for room.
using RingSender = std::function<std::error_code(std::span<const std::byte>)>;
/// A producer of the ring at `where`, of its kind (cmd_send.cpp). A Failure
/// when it cannot be opened (busy: its only producer role is held).
RingSender open_sender(const Location& where, std::chrono::milliseconds timeout);

// The commands, each in its own file (cmd_<name>.cpp).
void add_ls(CLI::App& app, Globals& g);
void add_stat(CLI::App& app, Globals& g);
void add_dlq(CLI::App& app, Globals& g);
void add_gc(CLI::App& app, Globals& g);
void add_doctor(CLI::App& app, Globals& g);
void add_tail(CLI::App& app, Globals& g);
void add_call(CLI::App& app, Globals& g);
void add_bridge(CLI::App& app, Globals& g);
void add_send(CLI::App& app, Globals& g);
void add_console(CLI::App& app, Globals& g);

}  // namespace ringdrop::cli

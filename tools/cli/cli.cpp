#include "cli.hpp"

#include <cstdio>
#include <iostream>

#include "dead_letter_query.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/service_registry.hpp"

namespace ringdrop::cli {

const char* exit_code_help() noexcept {
  return "Exit status:\n"
#define RINGDROP_CLI_EXIT_LINE(name, value, text) "  " #value "  " text "\n"
      RINGDROP_CLI_EXIT_CODES(RINGDROP_CLI_EXIT_LINE)
#undef RINGDROP_CLI_EXIT_LINE
      ;
}

ops::InventoryOptions Globals::inventory() const {
  ops::InventoryOptions o;
  o.ring_paths = paths;
  o.channels = channels;
  if (!registry.empty()) o.registry = registry;
  return o;
}

Exit exit_for(std::error_code ec) noexcept {
  if (ec == errc::not_found) return Exit::not_found;
  if (ec == errc::permission_denied) return Exit::denied;
  if (ec == errc::timed_out || ec == errc::deadline_exceeded || ec == errc::would_block) return Exit::timed_out;
  if (ec == errc::role_taken) return Exit::busy;
  if (ec == errc::remote_error || ec == errc::circuit_open || ec == errc::peer_gone) return Exit::remote;
  if (ec == errc::foreign_segment || ec == errc::corrupted || ec == errc::incompatible_layout ||
      ec == errc::wrong_kind || ec == errc::capacity_mismatch || ec == errc::bad_message ||
      ec == errc::message_too_large || ec == errc::invalid_argument || ec == errc::unsafe_file ||
      ec == errc::unknown_type) {
    return Exit::bad_input;
  }
  return Exit::failed;
}

void fail(std::error_code ec, const std::string& what) {
  const std::string detail = last_error_detail();
  std::string text = what + ": " + ec.message();
  if (!detail.empty()) text += " (" + detail + ")";
  throw Failure(exit_for(ec), text);
}

void fail(Exit code, const std::string& text) { throw Failure(code, text); }

Target Target::of_ring(Location where) {
  Target t;
  t.ring = std::move(where);
  return t;
}

Target Target::of_channel(std::string root) {
  Target t;
  t.kind = Kind::channel;
  t.channel = std::move(root);
  return t;
}

Target Target::of_service(std::string name, Location request_ring) {
  Target t;
  t.kind = Kind::service;
  t.service = std::move(name);
  t.ring = std::move(request_ring);
  return t;
}

std::string Target::describe() const {
  switch (kind) {
    case Kind::ring: return ring.describe();
    case Kind::channel: return "channel " + channel;
    case Kind::service: return "service " + service + " (" + ring.describe() + ")";
  }
  return {};
}

namespace {

void refuse_dot_dot(const std::string& path) {
  for (const auto& part : std::filesystem::path(path)) {
    if (part == "..") fail(Exit::bad_input, path + ": a path with '..' is refused (name the place itself)");
  }
}

Target service_target(const std::string& service, const Globals& g) {
  const std::filesystem::path dir = g.inventory().registry;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    fail(Exit::not_found, "no service " + service + ": there is no registry at " + dir.string());
  }
  auto reg = ServiceRegistry::open(dir);
  if (!reg) fail(reg.error(), "open the service registry " + dir.string());
  auto e = reg->find(service);
  if (!e) fail(e.error(), "find service " + service + " in " + dir.string());
  return Target::of_service(service, e->ring);
}

Target path_target(const std::string& path) {
  refuse_dot_dot(path);
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found) fail(Exit::not_found, "no file or directory " + path);
  if (std::filesystem::is_directory(st)) return Target::of_channel(path);
  return Target::of_ring(Location::file(path));
}

}  // namespace

Target resolve(const std::string& name, const Globals& g) {
  if (name.empty()) fail(Exit::usage, "an empty name");
  if (name.rfind("service:", 0) == 0) return service_target(name.substr(8), g);
  if (name.rfind("file:", 0) == 0) {
    auto t = path_target(name.substr(5));
    if (t.kind != Target::Kind::ring) fail(Exit::bad_input, name + " is a directory, not a file-backed ring");
    return t;
  }
  if (name.rfind("shm:", 0) == 0 || name.find('/') == std::string::npos) {
    const std::string shm = name.rfind("shm:", 0) == 0 ? name.substr(4) : name;
    if (shm.empty() || shm.find('/') != std::string::npos || shm == "." || shm == "..") {
      fail(Exit::bad_input, name + ": a shm name is one path component");
    }
    std::error_code ec;
    if (std::filesystem::exists("/dev/shm/" + shm, ec) || name.rfind("shm:", 0) == 0) {
      return Target::of_ring(Location::shm(shm));
    }
    if (std::filesystem::is_directory(name, ec)) return Target::of_channel(name);  // a channel here
    const std::string tried = "no ring shm:" + name + " in /dev/shm, no directory " + name + " here";
    if (!ServiceRegistry::valid_service_name(name)) fail(Exit::not_found, tried);
    try {
      return service_target(name, g);
    } catch (const Failure& f) {
      if (f.code != Exit::not_found) throw;
      fail(Exit::not_found, tried + ", and no live service " + name + " (registry " +
                                g.inventory().registry.string() + ")");
    }
  }
  return path_target(name);
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else {
    std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  }
  return buf;
}

std::string human_age(std::chrono::system_clock::duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) return "0s";
  if (s < 120) return std::to_string(s) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::chrono::milliseconds parse_duration(const std::string& text) {
  const auto d = ops::parse_duration(text);
  if (!d) fail(Exit::usage, "'" + text + "' is not a duration from 0 to about 30000 years (e.g. 30s, 5m, 2h, 7d, 250ms)");
  return *d;
}

std::vector<std::pair<std::string, std::string>> parse_headers(const std::vector<std::string>& given) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : given) {
    const auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0) fail(Exit::usage, "--header " + h + ": write it as key=value");
    out.emplace_back(h.substr(0, eq), h.substr(eq + 1));
  }
  return out;
}

void print_json(const ops::Json& j) {
  // replace: a header or file name that is not UTF-8 prints with U+FFFD, not an exception.
  std::cout << j.dump(2, ' ', false, ops::Json::error_handler_t::replace) << std::endl;
}

std::optional<ops::SchemaType> SchemaArgs::load() const {
  if (file.empty() && type.empty()) return std::nullopt;
  if (file.empty() || type.empty()) fail(Exit::usage, "--schema and --type go together");
  auto t = ops::SchemaType::load(file, type, imports);
  if (!t) fail(t.error(), "load type " + type + " from " + file);
  return std::move(*t);
}

void SchemaArgs::add_to(CLI::App* cmd) {
  cmd->add_option("--schema", file, "The .capnp file of the payload's type (typed messages are decoded as JSON)");
  cmd->add_option("--type", type, "The payload's struct in that file (Outer.Inner if nested)");
  cmd->add_option("--import", imports, "A directory for the schema's absolute imports (repeatable)");
}

void print_body(const ops::Json& d) {
  if (d["typed"].get<bool>()) {
    std::printf("typed message, %zu bytes:\n%s\n", d["size"].get<size_t>(),
                d["envelope"].dump(2, ' ', false, ops::Json::error_handler_t::replace).c_str());
  } else if (d.contains("text")) {
    std::printf("%zu bytes of text:\n%s\n", d["size"].get<size_t>(), d["text"].get<std::string>().c_str());
  } else {
    const std::string hex = d["hex"].get<std::string>();
    std::printf("%zu bytes:\n", d["size"].get<size_t>());
    for (size_t at = 0; at < hex.size(); at += 32) {
      std::printf("  %08zx ", at / 2);
      std::string text;
      for (size_t i = at; i < at + 32 && i < hex.size(); i += 2) {
        const auto c = static_cast<unsigned char>(std::stoul(hex.substr(i, 2), nullptr, 16));
        std::printf(" %s", hex.substr(i, 2).c_str());
        text += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
      }
      std::printf("%*s  %s\n", static_cast<int>(at + 32 > hex.size() ? (at + 32 - hex.size()) / 2 * 3 : 0), "",
                  text.c_str());
    }
  }
}

}  // namespace ringdrop::cli

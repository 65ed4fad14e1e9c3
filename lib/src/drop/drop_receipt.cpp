#include "drop/drop_receipt.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "drop/drop_headers.hpp"
#include "drop/drop_name.hpp"
#include "drop/drop_watch.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {

namespace {

using Outcome = DropReceipt::Outcome;

constexpr std::pair<std::string_view, Outcome> kOutcomes[] = {
    {"taken", Outcome::taken}, {"processed", Outcome::processed}, {"dead-lettered", Outcome::dead_lettered}};

// One look: the receipt, not_found while there is none, bad_message for a
// file that is not one.
Result<DropReceipt> look(const DropTree& t, const std::string& file) {
  auto text = read_small_file(t, Dir::receipts, file);
  if (!text) return text.error();
  DropHeaders h = decode_headers(*text);
  DropReceipt r;
  const auto outcome = h.find(std::string_view("outcome"));
  const auto it = outcome == h.end() ? std::end(kOutcomes)
                                     : std::find_if(std::begin(kOutcomes), std::end(kOutcomes),
                                                    [&](const auto& o) { return o.first == outcome->second; });
  if (it == std::end(kOutcomes)) {
    return fail(errc::bad_message, "receipts/" + file + " has no outcome ringdrop writes");
  }
  r.outcome = it->second;
  r.id = std::move(h["id"]);
  r.name = std::move(h["name"]);
  r.reason = std::move(h["reason"]);
  r.at = std::move(h["at"]);
  return r;
}

}  // namespace

std::string receipt_file(std::string_view name, std::string_view id) {
  std::string file = std::string(name.substr(0, 200)) + "." + std::string(id);
  std::replace(file.begin(), file.end(), '/', '_');
  return file;
}

void write_receipt(const DropTree& t, std::string_view id, const DropHeaders& headers,
                   std::string_view outcome, std::string_view reason) noexcept {
  if (t.fd(Dir::receipts) < 0) return;  // a channel made before receipts/
  const auto name = headers.find(drop_header::original_name);
  if (name == headers.end()) return;
  try {
    DropHeaders receipt{{"id", std::string(id)},
                        {"name", name->second},
                        {"outcome", std::string(outcome)},
                        {"at", iso_time(wall_ns())}};
    if (!reason.empty()) receipt.emplace("reason", std::string(reason.substr(0, 1024)));
    (void)write_small_file(t, Dir::receipts, receipt_file(name->second, id), encode_headers(receipt));
  } catch (...) {  // out of memory: no receipt, the message goes on regardless
  }
}

Result<DropReceipt> read_receipt(const DropTree& t, std::string_view name, std::string_view id,
                                 std::optional<Deadline> until) {
  if (t.fd(Dir::receipts) < 0) {
    return fail(errc::not_found, t.root + " has no receipts/ (a channel made before receipts; opening it "
                                          "with create on adds the directory)");
  }
  if (name.empty() || id.empty() || id.find('/') != std::string_view::npos) {
    return fail(errc::invalid_argument, "a receipt needs a name and an id without '/'");
  }
  const std::string file = receipt_file(name, id);
  if (!until) return look(t, file);
  // The watch is opened before the first look: a receipt renamed in between
  // is an event, not a miss. Without inotify (discovery by polling, a
  // network file system, no watches left) it looks once per scan interval.
  std::optional<Watch> watch;
  const Discovery d = t.options.discovery;
  if (d == Discovery::inotify || (d == Discovery::automatic && !t.network_fs)) {
    if (auto w = Watch::open(t, Dir::receipts)) watch.emplace(std::move(*w));
  }
  for (;;) {
    auto r = look(t, file);
    if (r ? r->settled() : r.error() != errc::not_found) return r;
    if (Clock::now() >= *until) {
      return fail(errc::timed_out, r ? "receipts/" + file + " still says taken: not settled in time"
                                     : "no receipts/" + file + " in time");
    }
    const Deadline next = std::min(*until, deadline_after(t.options.scan_interval));
    if (!watch) {
      sleep_until(next);
    } else if (watch->wait(next) && watch->drain().broken) {
      watch.reset();
    }
  }
}

}  // namespace ringdrop::detail

// console_test.cpp — the parts of the web console (tools/console) that need
// no server: the gate's rules on tokens, cookies, CSRF and origins; the scope
// that never opens a label as a path; the action log; the rate history; the
// Prometheus text; and the dead-letter filter and reason shared with the CLI.
// The server itself is tested over HTTP by tests/console/ (and in a browser).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <httplib.h>

#include "action_log.hpp"
#include "dead_letter_query.hpp"
#include "gate.hpp"
#include "metrics.hpp"
#include "rate_history.hpp"
#include "scope.hpp"
#include "ringdrop/ringdrop.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::TempDir;

namespace {

httplib::Request request(const std::string& method, std::initializer_list<std::pair<std::string, std::string>> headers) {
  httplib::Request r;
  r.method = method;
  r.path = "/api/retry";
  for (const auto& [k, v] : headers) r.headers.emplace(k, v);
  return r;
}

const std::string kToken(64, 'a');

}  // namespace

TEST(ConsoleGate, AGetNeedsTheTokenAsABearerOrInTheCookie) {
  const console::Gate gate(kToken);
  using V = console::Gate::Verdict;
  EXPECT_EQ(gate.check(request("GET", {})), V::no_token);
  EXPECT_EQ(gate.check(request("GET", {{"Authorization", "Bearer " + kToken}})), V::pass);
  EXPECT_EQ(gate.check(request("GET", {{"Authorization", "Bearer " + std::string(64, 'b')}})), V::no_token);
  EXPECT_EQ(gate.check(request("GET", {{"Authorization", "Bearer " + kToken.substr(1)}})), V::no_token);
  EXPECT_EQ(gate.check(request("GET", {{"Authorization", "Basic " + kToken}})), V::no_token);
  EXPECT_EQ(gate.check(request("GET", {{"Authorization", "bearer " + kToken}})), V::pass);  // the scheme's case is free
  EXPECT_EQ(gate.check(request("GET", {{"Cookie", "theme=dark; ringdrop_console=" + kToken}})), V::pass);
  EXPECT_EQ(gate.check(request("GET", {{"Cookie", "xringdrop_console=" + kToken}})), V::no_token);
  EXPECT_EQ(gate.check(request("GET", {{"Cookie", "ringdrop_console="}})), V::no_token);
}

TEST(ConsoleGate, APostAlsoNeedsTheCsrfTokenAndItsOwnOrigin) {
  const console::Gate gate(kToken);
  using V = console::Gate::Verdict;
  const std::pair<std::string, std::string> auth{"Cookie", "ringdrop_console=" + kToken};
  EXPECT_EQ(gate.check(request("POST", {auth})), V::bad_csrf);
  EXPECT_EQ(gate.check(request("POST", {auth, {"X-CSRF-Token", kToken}})), V::bad_csrf);  // the token is not the CSRF token
  EXPECT_EQ(gate.check(request("POST", {auth, {"X-CSRF-Token", gate.csrf()}})), V::pass);
  EXPECT_EQ(gate.check(request("POST", {auth, {"X-CSRF-Token", gate.csrf()}, {"Host", "127.0.0.1:8470"},
                                        {"Origin", "http://127.0.0.1:8470"}})),
            V::pass);
  EXPECT_EQ(gate.check(request("POST", {auth, {"X-CSRF-Token", gate.csrf()}, {"Host", "127.0.0.1:8470"},
                                        {"Origin", "http://evil.example"}})),
            V::foreign_origin);
  EXPECT_EQ(gate.check(request("POST", {{"X-CSRF-Token", gate.csrf()}})), V::no_token);
  // Behind a TLS proxy that keeps the Host header.
  EXPECT_EQ(gate.check(request("POST", {auth, {"X-CSRF-Token", gate.csrf()}, {"Host", "ops.example:443"},
                                        {"Origin", "https://ops.example:443"}})),
            V::pass);
  EXPECT_EQ(gate.check(request("POST", {auth, {"X-CSRF-Token", gate.csrf()}, {"Host", "127.0.0.1:8470"},
                                        {"Origin", "http://127.0.0.1:8471"}})),
            V::foreign_origin);
}

TEST(ConsoleGate, TokensAreRandomHexAndTheCookieIsHttpOnlyAndStrict) {
  const console::Gate a(""), b("");
  EXPECT_EQ(a.token().size(), 64u);
  EXPECT_EQ(a.token().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a.token(), b.token());
  EXPECT_NE(a.csrf(), a.token());
  EXPECT_EQ(a.cookie(), "ringdrop_console=" + a.token() + "; HttpOnly; SameSite=Strict; Path=/");
  EXPECT_TRUE(console::same_secret("abc", "abc"));
  EXPECT_FALSE(console::same_secret("abc", "abd"));
  EXPECT_FALSE(console::same_secret("abc", "abcd"));
}

TEST(ConsoleScope, ALabelIsLookedUpNeverOpenedAsAPath) {
  TempDir dir;
  const std::string named = dir.path + "/named", other = dir.path + "/other";
  ASSERT_TRUE(DropChannel::open(named));
  ASSERT_TRUE(DropChannel::open(other));
  ops::InventoryOptions o;
  o.shm_dir = dir.path + "/no-shm";  // no rings
  o.channels = {named};
  o.registry = dir.path + "/no-registry";
  const console::Scope scope(o);
  auto s = scope.store(named);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->label(), named);
  for (const std::string& label : {other, named + "/../other", named + "/", std::string("/tmp"), std::string("shm:nope"),
                                  std::string("file:") + other, std::string("")}) {
    auto refused = scope.store(label);
    ASSERT_FALSE(refused) << label;
    EXPECT_EQ(refused.error(), make_error_code(errc::not_found)) << label;
  }
}

TEST(ConsoleActionLog, EntriesComeBackNewestFirstAndABrokenLineIsSkipped) {
  TempDir dir;
  const std::string path = dir.path + "/state/actions.log";
  {
    auto log = console::ActionLog::open(path);
    ASSERT_TRUE(log) << log.error().message();
    for (int i = 0; i < 3; ++i) ASSERT_FALSE(log->append({{"action", "retry"}, {"n", i}}));
  }
  std::ofstream(path, std::ios::app) << "not json\n";
  auto log = console::ActionLog::open(path);  // reopened: it appends
  ASSERT_TRUE(log);
  ASSERT_FALSE(log->append({{"action", "purge"}, {"n", 3}}));
  const auto recent = log->recent(3);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0]["n"], 3);
  EXPECT_EQ(recent[0]["action"], "purge");
  EXPECT_EQ(recent[2]["n"], 1);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_read, std::filesystem::perms::none);
}

TEST(ConsoleRates, ARingsRateIsItsCommittedDeltaOverTheInterval) {
  console::RateHistory h(2);
  ops::Inventory inv;
  ops::RingView r;
  r.where = Location::shm("rates");
  r.committed = 100;
  inv.rings.push_back(r);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  h.sample(inv, t0);
  EXPECT_TRUE(h.to_json()["shm:rates"].empty());  // one sample: no rate yet
  inv.rings[0].committed = 150;
  h.sample(inv, t0 + 5s);
  inv.rings[0].committed = 160;
  h.sample(inv, t0 + 10s);
  inv.rings[0].committed = 260;
  h.sample(inv, t0 + 20s);
  const auto j = h.to_json();
  ASSERT_EQ(j["shm:rates"].size(), 2u);  // kept: the last two
  EXPECT_DOUBLE_EQ(j["shm:rates"][0].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["shm:rates"][1].get<double>(), 10.0);
  inv.rings[0].committed = 5;  // a new ring of the same name starts again
  h.sample(inv, t0 + 25s);
  EXPECT_TRUE(h.to_json()["shm:rates"].empty());
  inv.rings.clear();  // gone: forgotten
  h.sample(inv, t0 + 30s);
  EXPECT_FALSE(h.to_json().contains("shm:rates"));
}

TEST(ConsoleMetrics, ThePrometheusTextHasAFamilyPerCounterAndEscapesLabels) {
  ops::Inventory inv;
  ops::RingView r;
  r.where = Location::shm("orders");
  r.kind = RingKind::mpmc;
  r.committed = 12;
  r.dead_letters = 1;
  inv.rings.push_back(r);
  ops::ChannelView c;
  c.root = "/srv/drop/a\"b\\c";
  c.counts.ready = 3;
  c.counts.failed = 2;
  inv.channels.push_back(c);
  const std::string text = console::prometheus_text(inv);
  EXPECT_NE(text.find("# TYPE ringdrop_ring_committed_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("ringdrop_ring_committed_total{ring=\"shm:orders\",kind=\"mpmc\"} 12\n"), std::string::npos);
  EXPECT_NE(text.find("ringdrop_ring_dead_letters{ring=\"shm:orders\",kind=\"mpmc\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ringdrop_channel_messages{channel=\"/srv/drop/a\\\"b\\\\c\",state=\"ready\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("ringdrop_channel_dead_letters{channel=\"/srv/drop/a\\\"b\\\\c\"} 2\n"), std::string::npos);
}

TEST(DeadLetterQuery, DurationsReasonsAndFilters) {
  EXPECT_EQ(ops::parse_duration("30s"), 30000ms);
  EXPECT_EQ(ops::parse_duration("250ms"), 250ms);
  EXPECT_EQ(ops::parse_duration("2"), 2000ms);
  EXPECT_EQ(ops::parse_duration("1.5m"), 90000ms);
  for (const char* bad : {"", "-1s", "5x", "s", "nan", "1e300d", "../5"}) EXPECT_FALSE(ops::parse_duration(bad)) << bad;

  EXPECT_EQ(ops::reason_summary("attempts: 3\nreason: price missing\nconsumer: 12\n"), "price missing");
  EXPECT_EQ(ops::reason_summary("first line\nerror: by hand\n"), "by hand");
  EXPECT_EQ(ops::reason_summary("only line"), "only line");

  DeadLetter d;
  d.reason = "reason: price missing\n";
  d.headers["source"] = "legacy-batch";
  const auto now = std::chrono::system_clock::now();
  d.failed_at = now - 10min;
  ops::DeadLetterFilter f;
  EXPECT_TRUE(f.matches(d, now));
  EXPECT_TRUE(f.to_json().is_null());
  f.reason = "price";
  f.older_than = 5min;
  f.source = "batch";
  EXPECT_TRUE(f.matches(d, now));
  f.newer_than = 1min;
  EXPECT_FALSE(f.matches(d, now));
  f.newer_than.reset();
  f.reason = "consumer";  // in the file, not in its reason line
  EXPECT_FALSE(f.matches(d, now));
}

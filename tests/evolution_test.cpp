// Schema evolution across real processes: a producer built with version 2
// of a schema (fields added, a new type) and a consumer built with version 1
// share a ring, and the other way round; both keep working.
#include <gtest/gtest.h>

#include "drop_support.hpp"
#include "test_support.hpp"

using namespace ringdrop;
using namespace ringdrop::test;

namespace {

// Runs `receiver` and `sender` (ringdrop-evolution-v1/-v2) on one ring and
// returns what the receiver printed.
std::vector<std::string> exchange(const char* sender, const char* receiver, int n) {
  ScopedName name;
  ExecPeer rx(receiver, {"receive", name.name(), std::to_string(n)});
  ExecPeer tx(sender, {"send", name.name(), std::to_string(n)});
  EXPECT_EQ(tx.wait_for(), 0);
  std::vector<std::string> lines;
  while (auto line = rx.read_line()) {
    lines.push_back(*line);
    if (*line == "done" || line->starts_with("error")) break;
  }
  EXPECT_EQ(rx.wait_for(), 0);
  return lines;
}

}  // namespace

TEST(SchemaEvolution, ANewProducerAndAnOldConsumerKeepWorking) {
  const auto lines = exchange(RINGDROP_EVOLUTION_V2, RINGDROP_EVOLUTION_V1, 3);
  // v1 reads v2's Readings without the fields it does not know, and reports
  // the Calibration type (new in v2) instead of misreading it.
  ASSERT_EQ(lines.size(), 5u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "reading s0 0.00");
  EXPECT_TRUE(lines[1].starts_with("unknown type 0x")) << lines[1];
  EXPECT_EQ(lines[2], "reading s1 1.50");
  EXPECT_EQ(lines[3], "reading s2 3.00");
  EXPECT_EQ(lines[4], "done");
}

TEST(SchemaEvolution, AnOldProducerAndANewConsumerKeepWorking) {
  const auto lines = exchange(RINGDROP_EVOLUTION_V1, RINGDROP_EVOLUTION_V2, 3);
  // v2 sees v1's Readings with its new fields at their defaults.
  ASSERT_EQ(lines.size(), 4u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "reading s0 0.00 unit= quality=100");
  EXPECT_EQ(lines[1], "reading s1 1.50 unit= quality=100");
  EXPECT_EQ(lines[2], "reading s2 3.00 unit= quality=100");
  EXPECT_EQ(lines[3], "done");
}

TEST(SchemaEvolution, SameVersionsSeeEveryField) {
  const auto lines = exchange(RINGDROP_EVOLUTION_V2, RINGDROP_EVOLUTION_V2, 2);
  ASSERT_EQ(lines.size(), 4u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "reading s0 0.00 unit=kPa quality=50");
  EXPECT_EQ(lines[1], "calibration s0 0.25");
  EXPECT_EQ(lines[2], "reading s1 1.50 unit=kPa quality=51");
  EXPECT_EQ(lines[3], "done");
}

// rpc_support.hpp — what the request/response tests share (rpc_test.cpp,
// reply_queue_test.cpp): the server process, ringdrop-rpc-peer "serve"
// (rpc_peer_main.cpp says what it answers), started and ready.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "drop_support.hpp"  // ExecPeer
#include "ringdrop/rpc_client.hpp"
#include "rpc_test.capnp.h"
#include "test_support.hpp"

namespace ringdrop::test {

// A server process on `name`, announced and ready; `extra` are further
// arguments of "serve" (--dead-letters DIR, ...).
struct ServerPeer : ExecPeer {
  explicit ServerPeer(const ScopedName& name, std::vector<std::string> extra = {})
      : ExecPeer(RINGDROP_RPC_PEER, args(name, std::move(extra))) {
    EXPECT_EQ(read_line(), "ready");
  }
  static std::vector<std::string> args(const ScopedName& name, std::vector<std::string> extra) {
    std::vector<std::string> a{"serve", name.name()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Asks it to stop (a Stop notification) and returns its stats line.
  std::string stop(Client& c) {
    using namespace std::chrono_literals;
    EXPECT_FALSE(c.notify<rdtest::Stop>([](rdtest::Stop::Builder) {}, deadline_after(5s)));
    auto line = read_line();
    EXPECT_EQ(wait_for(), 0);
    return line.value_or("");
  }
};

}  // namespace ringdrop::test

# Benchmark-only messages: the request/response rows of ringdrop-pingpong
# (rpc_bench.cpp) and the typed publish/read micro-benchmarks of
# ringdrop-micro. Not part of the library's contract.
@0x87b0f8bc67c2073f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rdbench");

# A request (and, in ringdrop-micro, a published message): a sequence
# number and a payload of the row's size.
struct Ping {
  seq @0 :UInt64;
  data @1 :Data;
}

# The reply: the request's seq and payload, echoed.
struct Pong {
  seq @0 :UInt64;
  data @1 :Data;
}

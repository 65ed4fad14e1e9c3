# Test-only messages for the typed-message and request/response tests.
@0x9009ffba2effabd6;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rdtest");

struct Echo {
  seq @0 :UInt64;
  text @1 :Text;
  data @2 :Data;
}

struct EchoReply {
  seq @0 :UInt64;
  text @1 :Text;
  data @2 :Data;
  server @3 :UInt32;   # pid of the server that answered
  runs @4 :UInt64;     # how many requests this server's handler has run
}

# Handled by the server with an application error (code = `code`).
struct Fail {
  code @0 :Int32;
  message @1 :Text;
}

# The server's handler blocks until its control pipe says go.
struct Hold {
  seq @0 :UInt64;
}

# A type no test server handles.
struct Stranger {
  x @0 :UInt32;
}

# One-way: ends a test server's loop.
struct Stop {
  unused @0 :Bool;
}

# For nesting-limit tests.
struct Node {
  child @0 :Node;
  value @1 :UInt32;
}

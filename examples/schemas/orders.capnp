# orders.capnp — the example service contract: an application's own
# schema, compiled by CMake exactly as ringdrop's (see examples/CMakeLists.txt):
#
#   capnp_generate_cpp(SRCS HDRS orders.capnp)
#
# Its structs travel as the payload of ringdrop's Envelope.
@0xcf73dd9faf3c660d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("orders");

# A request: the price of `quantity` units of `symbol`.
struct QuoteRequest {
  symbol @0 :Text;
  quantity @1 :UInt32;
}

struct Quote {
  symbol @0 :Text;
  unitPrice @1 :Float64;
  total @2 :Float64;
}

# A one-way notification: an order was filled.
struct Filled {
  orderId @0 :UInt64;
  symbol @1 :Text;
  quantity @2 :UInt32;
}

# A published event: a price moved.
struct Tick {
  symbol @0 :Text;
  price @1 :Float64;
  sequence @2 :UInt64;
}

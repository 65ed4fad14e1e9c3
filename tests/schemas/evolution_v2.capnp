# Version 2 of evolution_v1.capnp: fields added at the end, nothing renamed,
# renumbered or removed; and a new message type v1 never heard of.
@0x8d352e952625fbac;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("evo");

struct Reading {
  sensor @0 :Text;
  value @1 :Float64;
  unit @2 :Text;            # new in v2
  quality @3 :UInt8 = 100;  # new in v2, with a default
}

struct Calibration {        # new in v2
  sensor @0 :Text;
  offset @1 :Float64;
}

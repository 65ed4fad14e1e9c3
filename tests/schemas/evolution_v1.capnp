# Version 1 of a contract (see evolution_v2.capnp): same file id, same type
# ids, compiled into a different program.
@0x8d352e952625fbac;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("evo");

struct Reading {
  sensor @0 :Text;
  value @1 :Float64;
}

# greeter.capnp — a user's own service contract, for the installed-package test.
@0xdbe3a70743023c53;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("greeter");

struct Hello {
  name @0 :Text;
  times @1 :UInt32;
}

struct Greeting {
  text @0 :Text;
}

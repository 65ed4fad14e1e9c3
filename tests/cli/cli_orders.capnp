# The payload type tests/cli/test_cli.py sends with
# `ringdrop send --schema cli_orders.capnp --type Order --json ...`. The struct's
# id is given, so that the test knows the type id the envelope must carry.
@0xd6a1f0c3b2e49a71;

struct Order @0xa8c4e2f0b6d81357 {
  id @0 :UInt64;
  qty @1 :UInt32;
  note @2 :Text;
}

# envelope.capnp — what every typed ringdrop message travels in.
#
# A typed message is one Cap'n Proto message whose root is an Envelope; the
# payload (the application's own struct) hangs off `payload`, so one message
# is built straight into ring memory and read in place, envelope and all.
#
# The fields map one to one onto AMQP 0-9-1 message properties, so a bridge
# can carry messages between hosts through RabbitMQ without losing anything:
#
#   Envelope field   AMQP 0-9-1 property    conversion
#   messageId        message-id             decimal text
#   correlationId    correlation-id         decimal text (absent when 0)
#   replyTo          reply-to               as is ("shm:<ring>" or "file:<path>")
#   typeId           type                   "0x" + 16 hex digits
#   sentAtNs         timestamp              seconds (ns / 1e9, rounded down)
#   deadlineNs       expiration             ms left at the bridge (absent when 0)
#   headers          headers                a table of long strings
#   schemaVersion    headers "x-schema-version"
#   attempt          headers "x-attempt"
#   kind             headers "x-kind"       "notification", "request", ...
#   idempotent       headers "x-idempotent"
#   error            headers "x-error-code", "x-error-message"
#   payload          body                   the payload as its own message
#
# Evolution: fields are only ever added at the end with the next ordinal,
# never renumbered, retyped or removed (Cap'n Proto's rules), so a new
# producer and an old consumer keep understanding each other.
@0xf5d1783477d735fc;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ringdrop::schema");

struct Envelope {
  # Unique per sender process and message (random 64-bit base + counter).
  messageId @0 :UInt64;
  # On a response: the messageId of the request it answers. 0: none.
  correlationId @1 :UInt64;
  # On a request: the ring the response goes to. Empty: no response wanted.
  replyTo @2 :Text;
  # The Cap'n Proto type id of the payload struct (capnp::typeId<T>()).
  typeId @3 :UInt64;
  # The payload schema's version as its sender knew it (informational: a
  # receiver decides by field presence, not by this number).
  schemaVersion @4 :UInt16;
  # Wall-clock send time, ns since the Unix epoch.
  sentAtNs @5 :Int64;
  # When the message stops being useful, ns on this host's CLOCK_MONOTONIC
  # (shared by every process on the host, immune to wall-clock steps). 0: never.
  deadlineNs @6 :Int64;
  # 1 for the first try of a request, 2 for its first retry, ...
  attempt @7 :UInt16;
  headers @8 :List(Header);
  kind @9 :Kind;
  # The request may be sent again (the client's retry policy); the server
  # remembers its reply and answers a repeat without running it twice.
  idempotent @10 :Bool;
  # On a response that failed: why. code 0 (the default) is success.
  error @11 :Error;
  payload @12 :AnyPointer;

  enum Kind {
    notification @0;  # one-way: no response
    request @1;
    response @2;
    event @3;         # published to subscribers
  }

  struct Header {
    key @0 :Text;
    value @1 :Text;
  }

  struct Error {
    # > 0: the application's own code (errc::remote_error at the caller).
    # < 0: a ringdrop errc, negated, raised by the server's library (e.g.
    #      unknown_type, bad_message); reported to the caller as that errc.
    code @0 :Int32;
    message @1 :Text;
  }
}

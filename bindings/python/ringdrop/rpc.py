"""Typed messages and request/response (ringdrop_message_*, ringdrop_client_*
and ringdrop_server_* of the C ABI; the design: docs/messaging.md).

Payloads are bytes: a Cap'n Proto message in standard flat (unpacked)
serialization whose root is the payload struct (``capnp encode``, pycapnp's
``to_bytes()``), with a 64-bit type id both sides agree on (the struct's
Cap'n Proto id, say). Replies come back the same way, for your decoder.

    import ringdrop

    with ringdrop.Server("pricing") as server:          # in the serving process
        server.handle(ASK, QUOTE, lambda payload, request: quote_for(payload))
        while running:
            server.serve(timeout=0.1)

    with ringdrop.Client("pricing") as client:          # in the calling process
        try:
            reply = client.call(ASK, ask_bytes, QUOTE, timeout=0.5)
            use(reply.payload)
        except ringdrop.RemoteError as e:
            print(e.remote_code, e.remote_text)

A handler returns the response payload (bytes, or None for none) or raises
:class:`HandlerError` with an application code > 0; any other exception
reaches the caller as code :data:`HANDLER_FAILED`. Times are in seconds.

Replies that outlive their caller: a client made with ``reply_queue=name``
sends with :meth:`Client.send_request`, and any process of the group takes
the replies from :class:`ReplyQueue` ``(name)`` by correlation id, acking
each once handled (reply_queue.py).

This module gathers the names; they live, by concept, in message.py (typed
messages), rpc_client.py (Client), rpc_server.py (Server, HandlerError),
reply_queue.py (ReplyQueue, SharedReply) and _rpc_shared.py (what the
client and server share).
"""

from .message import Message, MessageKind, build_message, send_message
from .reply_queue import ReplyQueue, SharedReply
from .rpc_client import Client
from .rpc_server import HANDLER_FAILED, HandlerError, Server

__all__ = [
    "MessageKind",
    "Message",
    "build_message",
    "send_message",
    "Client",
    "Server",
    "ReplyQueue",
    "SharedReply",
    "HandlerError",
    "HANDLER_FAILED",
]

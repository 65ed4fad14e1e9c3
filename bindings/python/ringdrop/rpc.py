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
"""

import ctypes
import enum
import os

from . import errors
from ._lib import RingPtr, lib
from .ring import _ns

__all__ = [
    "MessageKind",
    "Message",
    "build_message",
    "send_message",
    "Client",
    "Server",
    "HandlerError",
    "HANDLER_FAILED",
]

c_int = ctypes.c_int
c_uint = ctypes.c_uint
c_ulong = ctypes.c_ulong
c_longlong = ctypes.c_longlong
c_ulonglong = ctypes.c_ulonglong
c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
_P = ctypes.POINTER
_StrArray = _P(c_char_p)

#: The code a caller sees when a handler failed without a code of its own
#: (RINGDROP_HANDLER_FAILED).
HANDLER_FAILED = 0x7FFFFFFF


class MessageKind(enum.IntEnum):
    """Envelope kinds (RINGDROP_MESSAGE_*)."""

    NOTIFICATION = 0
    REQUEST = 1
    RESPONSE = 2
    EVENT = 3


class _MessageOptions(ctypes.Structure):
    """struct ringdrop_message_options; fields in header order."""

    _fields_ = [
        ("size", c_ulong),
        ("kind", c_int),
        ("correlation_id", c_ulonglong),
        ("reply_to", c_char_p),
        ("timeout_ns", c_longlong),
        ("schema_version", c_uint),
        ("attempt", c_uint),
        ("idempotent", c_int),
        ("header_keys", _StrArray),
        ("header_values", _StrArray),
        ("header_count", c_ulong),
    ]


class _ClientOptions(ctypes.Structure):
    """struct ringdrop_client_options."""

    _fields_ = [
        ("size", c_ulong),
        ("retry_attempts", c_uint),
        ("retry_backoff_ns", c_longlong),
        ("retry_max_backoff_ns", c_longlong),
        ("retry_multiplier", c_uint),
        ("breaker_threshold", c_uint),
        ("breaker_cool_down_ns", c_longlong),
        ("reply_cell_size", c_uint),
        ("reply_cells", c_uint),
        ("wait_mode", c_int),
        ("spin_ns", c_longlong),
        ("liveness_ns", c_longlong),
        ("registry_dir", c_char_p),
    ]


class _CallOptions(ctypes.Structure):
    """struct ringdrop_call_options."""

    _fields_ = [
        ("size", c_ulong),
        ("idempotent", c_int),
        ("attempt_timeout_ns", c_longlong),
        ("schema_version", c_uint),
        ("header_keys", _StrArray),
        ("header_values", _StrArray),
        ("header_count", c_ulong),
    ]


class _ServerOptions(ctypes.Structure):
    """struct ringdrop_server_options."""

    _fields_ = [
        ("size", c_ulong),
        ("cell_size", c_uint),
        ("cells", c_uint),
        ("wait_mode", c_int),
        ("spin_ns", c_longlong),
        ("liveness_ns", c_longlong),
        ("registry_dir", c_char_p),
        ("info", c_char_p),
        ("remembered_replies", c_ulonglong),
        ("reply_rings", c_uint),
        ("reply_timeout_ns", c_longlong),
        ("scratch_bytes", c_ulonglong),
    ]


_CLIENT_STATS = [
    "calls", "ok", "timed_out", "peer_gone", "remote_errors", "bad_replies", "retries",
    "late_replies", "rejected", "notifications", "in_flight",
]
_SERVER_STATS = [
    "requests", "replies", "notifications", "handler_errors", "unknown_type", "malformed",
    "expired", "duplicates", "undeliverable",
]


class _ClientStats(ctypes.Structure):
    _fields_ = (
        [("size", c_ulong)]
        + [(n, c_ulonglong) for n in _CLIENT_STATS]
        + [
            ("breaker_state", c_int),
            ("breaker_consecutive_failures", c_uint),
            ("breaker_opened", c_ulonglong),
            ("breaker_trials", c_ulonglong),
        ]
    )


class _ServerStats(ctypes.Structure):
    _fields_ = [("size", c_ulong)] + [(n, c_ulonglong) for n in _SERVER_STATS]


class _Message(ctypes.Structure):
    """The opaque struct ringdrop_message."""


class _Client(ctypes.Structure):
    """The opaque struct ringdrop_client."""


class _Server(ctypes.Structure):
    """The opaque struct ringdrop_server."""


class _Reply(ctypes.Structure):
    """The opaque struct ringdrop_reply."""


_MessagePtr = _P(_Message)
_ClientPtr = _P(_Client)
_ServerPtr = _P(_Server)
_ReplyPtr = _P(_Reply)

_DoneFn = ctypes.CFUNCTYPE(None, c_void_p, c_ulonglong, c_int, _MessagePtr)
_HandlerFn = ctypes.CFUNCTYPE(c_int, c_void_p, _MessagePtr, c_void_p, c_ulonglong, _ReplyPtr)
_NotificationFn = ctypes.CFUNCTYPE(None, c_void_p, _MessagePtr, c_void_p, c_ulonglong)

_U64 = _P(c_ulonglong)
_PROTOTYPES = {
    "ringdrop_message_options_init": (None, [_P(_MessageOptions)]),
    "ringdrop_message_build": (
        c_int,
        [c_ulonglong, c_void_p, c_ulonglong, _P(_MessageOptions), c_void_p, c_ulonglong, _U64],
    ),
    "ringdrop_message_send": (
        c_int,
        [RingPtr, c_ulonglong, c_void_p, c_ulonglong, _P(_MessageOptions), c_longlong],
    ),
    "ringdrop_message_open": (c_int, [c_void_p, c_ulonglong, _P(_MessagePtr)]),
    "ringdrop_message_view": (c_int, [c_void_p, c_ulonglong, _P(_MessagePtr)]),
    "ringdrop_message_close": (None, [_MessagePtr]),
    "ringdrop_message_id": (c_int, [_MessagePtr, _U64]),
    "ringdrop_message_correlation_id": (c_int, [_MessagePtr, _U64]),
    "ringdrop_message_type_id": (c_int, [_MessagePtr, _U64]),
    "ringdrop_message_kind": (c_int, [_MessagePtr, _P(c_int)]),
    "ringdrop_message_schema_version": (c_int, [_MessagePtr, _P(c_uint)]),
    "ringdrop_message_attempt": (c_int, [_MessagePtr, _P(c_uint)]),
    "ringdrop_message_idempotent": (c_int, [_MessagePtr, _P(c_int)]),
    "ringdrop_message_deadline": (c_int, [_MessagePtr, _P(c_longlong)]),
    "ringdrop_message_time_left": (c_int, [_MessagePtr, _P(c_longlong)]),
    "ringdrop_message_sent_at": (c_int, [_MessagePtr, _P(c_longlong)]),
    "ringdrop_message_reply_to": (c_int, [_MessagePtr, _P(c_char_p)]),
    "ringdrop_message_header": (c_int, [_MessagePtr, c_char_p, _P(c_char_p)]),
    "ringdrop_message_header_count": (c_int, [_MessagePtr, _P(c_ulong)]),
    "ringdrop_message_header_at": (c_int, [_MessagePtr, c_ulong, _P(c_char_p), _P(c_char_p)]),
    "ringdrop_message_error": (c_int, [_MessagePtr, _P(c_int), _P(c_char_p)]),
    "ringdrop_message_payload": (c_int, [_MessagePtr, _P(c_void_p), _U64]),
    "ringdrop_message_bytes": (c_int, [_MessagePtr, _P(c_void_p), _U64]),
    "ringdrop_client_options_init": (None, [_P(_ClientOptions)]),
    "ringdrop_call_options_init": (None, [_P(_CallOptions)]),
    "ringdrop_client_connect": (c_int, [c_char_p, _P(_ClientOptions), _P(_ClientPtr)]),
    "ringdrop_client_connect_ring": (c_int, [c_char_p, _P(_ClientOptions), _P(_ClientPtr)]),
    "ringdrop_client_close": (None, [_ClientPtr]),
    "ringdrop_client_call_ex": (
        c_int,
        [_ClientPtr, c_ulonglong, c_void_p, c_ulonglong, c_ulonglong, c_longlong,
         _P(_CallOptions), _P(_MessagePtr)],
    ),
    "ringdrop_client_call_async": (
        c_int,
        [_ClientPtr, c_ulonglong, c_void_p, c_ulonglong, c_ulonglong, c_longlong,
         _P(_CallOptions), _DoneFn, c_void_p, _U64],
    ),
    "ringdrop_client_poll": (c_int, [_ClientPtr, c_longlong]),
    "ringdrop_client_notify": (
        c_int,
        [_ClientPtr, c_ulonglong, c_void_p, c_ulonglong, _P(_MessageOptions), c_longlong],
    ),
    "ringdrop_client_last_remote_error": (c_int, [_ClientPtr, _P(c_int), _P(c_char_p)]),
    "ringdrop_client_get_stats": (c_int, [_ClientPtr, _P(_ClientStats)]),
    "ringdrop_server_options_init": (None, [_P(_ServerOptions)]),
    "ringdrop_server_open": (c_int, [c_char_p, _P(_ServerOptions), _P(_ServerPtr)]),
    "ringdrop_server_open_ring": (c_int, [c_char_p, _P(_ServerOptions), _P(_ServerPtr)]),
    "ringdrop_server_close": (None, [_ServerPtr]),
    "ringdrop_server_request_ring": (c_int, [_ServerPtr, _P(c_char_p)]),
    "ringdrop_reply_set_payload": (c_int, [_ReplyPtr, c_void_p, c_ulonglong]),
    "ringdrop_reply_set_error": (c_int, [_ReplyPtr, c_int, c_char_p]),
    "ringdrop_server_handle": (c_int, [_ServerPtr, c_ulonglong, c_ulonglong, _HandlerFn, c_void_p]),
    "ringdrop_server_on_notification": (c_int, [_ServerPtr, c_ulonglong, _NotificationFn, c_void_p]),
    "ringdrop_server_serve_one": (c_int, [_ServerPtr, c_longlong]),
    "ringdrop_server_serve": (c_int, [_ServerPtr, c_longlong]),
    "ringdrop_server_get_stats": (c_int, [_ServerPtr, _P(_ServerStats)]),
}

for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:
        raise ImportError("ringdrop: %s lacks %s (too old a library?)" % (lib._name, _name))
    _fn.restype = _restype
    _fn.argtypes = _argtypes
del _name, _restype, _argtypes, _fn


def _check(rc):
    if rc < 0:
        raise errors.make_error(rc)
    return rc


def _text(value, what):
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif isinstance(value, os.PathLike):
        value = os.fsencode(value)
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError("%s must be str or bytes, not %r" % (what, type(value).__name__))
    value = bytes(value)
    if b"\0" in value:
        raise ValueError("%s cannot contain NUL bytes" % what)
    return value


def _payload(data):
    """(bytes or None, size) of a payload argument."""
    if data is None:
        return None, 0
    data = bytes(data)
    return (data or None), len(data)


def _headers(headers):
    """(keys, values, count, keep-alive) C arrays for a mapping or pairs."""
    if not headers:
        return None, None, 0
    items = list(headers.items()) if hasattr(headers, "items") else list(headers)
    keys = (c_char_p * len(items))()
    values = (c_char_p * len(items))()
    for i, (k, v) in enumerate(items):
        keys[i] = _text(k, "a header key")
        values[i] = _text(v, "a header value")
    return keys, values, len(items)


def _message_options(kind=MessageKind.NOTIFICATION, correlation_id=0, reply_to=None, timeout=None,
                     schema_version=0, attempt=1, idempotent=False, headers=None):
    o = _MessageOptions()
    lib.ringdrop_message_options_init(ctypes.byref(o))
    o.kind = int(kind)
    o.correlation_id = correlation_id
    o.reply_to = None if reply_to is None else _text(reply_to, "reply_to")
    o.timeout_ns = 0 if timeout is None else _ns(timeout, "the message's timeout")
    o.schema_version = schema_version
    o.attempt = attempt
    o.idempotent = 1 if idempotent else 0
    o.header_keys, o.header_values, o.header_count = _headers(headers)
    o._keep = (o.header_keys, o.header_values)  # the arrays live as long as the struct
    return o


def _call_options(idempotent=False, attempt_timeout=0, schema_version=0, headers=None):
    o = _CallOptions()
    lib.ringdrop_call_options_init(ctypes.byref(o))
    o.idempotent = 1 if idempotent else 0
    o.attempt_timeout_ns = _ns(attempt_timeout, "attempt_timeout")
    o.schema_version = schema_version
    o.header_keys, o.header_values, o.header_count = _headers(headers)
    o._keep = (o.header_keys, o.header_values)
    return o


def build_message(type_id, payload=None, **envelope):
    """The bytes of a typed message around `payload` (flat Cap'n Proto
    bytes, or None for none) of type `type_id`. Envelope fields as keyword
    arguments: kind, correlation_id, reply_to, timeout (the message's
    deadline, seconds from now), schema_version, attempt, idempotent,
    headers (a mapping or pairs of str)."""
    data, size = _payload(payload)
    o = _message_options(**envelope)
    needed = c_ulonglong()
    rc = lib.ringdrop_message_build(type_id, data, size, ctypes.byref(o), None, 0, ctypes.byref(needed))
    if rc != errors.EMSGSIZE:
        _check(rc)
    buffer = ctypes.create_string_buffer(needed.value)
    _check(lib.ringdrop_message_build(type_id, data, size, ctypes.byref(o), buffer, needed.value,
                                      ctypes.byref(needed)))
    return buffer.raw[: needed.value]


def send_message(ring, type_id, payload=None, timeout=0.0, **envelope):
    """Builds a typed message straight into `ring` (a producer
    :class:`ringdrop.Ring`), waiting up to `timeout` seconds for room.
    Envelope fields as for :func:`build_message`."""
    data, size = _payload(payload)
    o = _message_options(**envelope)
    _check(lib.ringdrop_message_send(ring._h(), type_id, data, size, ctypes.byref(o), _ns(timeout)))


class Message:
    """A validated typed message (ringdrop_message). Use
    :meth:`Message.parse` on received bytes; replies of :class:`Client`
    calls and the requests a :class:`Server` handler gets are Messages too
    (a handler's request only during the handler's call)."""

    def __init__(self, _handle=None, _owned=True):
        if _handle is None:
            raise TypeError("use Message.parse(bytes)")
        self._handle = _handle
        self._owned = _owned

    @classmethod
    def parse(cls, data):
        """Validates `data` (bytes-like) and copies it: errors.BadMessage if
        malformed."""
        data = bytes(data)
        handle = _MessagePtr()
        _check(lib.ringdrop_message_open(data or None, len(data), ctypes.byref(handle)))
        return cls(handle)

    def close(self):
        handle, self._handle = self._handle, None
        if handle is not None and self._owned:
            lib.ringdrop_message_close(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _h(self):
        if self._handle is None:
            raise ValueError("the message is closed (or was a handler's request, used after the handler)")
        return self._handle

    def _get(self, fn, ctype):
        out = ctype()
        _check(fn(self._h(), ctypes.byref(out)))
        return out.value

    @property
    def id(self):
        return self._get(lib.ringdrop_message_id, c_ulonglong)

    @property
    def correlation_id(self):
        return self._get(lib.ringdrop_message_correlation_id, c_ulonglong)

    @property
    def type_id(self):
        return self._get(lib.ringdrop_message_type_id, c_ulonglong)

    @property
    def kind(self):
        k = self._get(lib.ringdrop_message_kind, c_int)
        try:
            return MessageKind(k)
        except ValueError:
            return k

    @property
    def schema_version(self):
        return self._get(lib.ringdrop_message_schema_version, c_uint)

    @property
    def attempt(self):
        return self._get(lib.ringdrop_message_attempt, c_uint)

    @property
    def idempotent(self):
        return bool(self._get(lib.ringdrop_message_idempotent, c_int))

    @property
    def deadline_ns(self):
        """The deadline in CLOCK_MONOTONIC ns (time.monotonic_ns()), or None."""
        ns = self._get(lib.ringdrop_message_deadline, c_longlong)
        return ns or None

    @property
    def time_left(self):
        """Seconds until the deadline (negative once passed), or None."""
        ns = self._get(lib.ringdrop_message_time_left, c_longlong)
        return None if ns == (1 << 63) - 1 else ns / 1e9

    @property
    def sent_at_ns(self):
        """Wall-clock send time, ns since the Unix epoch."""
        return self._get(lib.ringdrop_message_sent_at, c_longlong)

    @property
    def reply_to(self):
        return self._get(lib.ringdrop_message_reply_to, c_char_p).decode("utf-8", "replace")

    def header(self, key, default=None):
        value = c_char_p()
        rc = lib.ringdrop_message_header(self._h(), _text(key, "key"), ctypes.byref(value))
        if rc == errors.ENOTFOUND:
            return default
        _check(rc)
        return value.value.decode("utf-8", "replace")

    @property
    def headers(self):
        """Every header, in order, as a dict (the first of a repeated key)."""
        count = self._get(lib.ringdrop_message_header_count, c_ulong)
        out = {}
        key, value = c_char_p(), c_char_p()
        for i in range(count):
            _check(lib.ringdrop_message_header_at(self._h(), i, ctypes.byref(key), ctypes.byref(value)))
            out.setdefault(key.value.decode("utf-8", "replace"), value.value.decode("utf-8", "replace"))
        return out

    @property
    def error(self):
        """(code, text) of a response's error, or None."""
        code, text = c_int(), c_char_p()
        _check(lib.ringdrop_message_error(self._h(), ctypes.byref(code), ctypes.byref(text)))
        return (code.value, text.value.decode("utf-8", "replace")) if code.value else None

    def _span(self, fn):
        data, size = c_void_p(), c_ulonglong()
        _check(fn(self._h(), ctypes.byref(data), ctypes.byref(size)))
        return ctypes.string_at(data.value, size.value) if size.value else b""

    @property
    def payload(self):
        """The payload as its own flat Cap'n Proto message (bytes)."""
        return self._span(lib.ringdrop_message_payload)

    @property
    def bytes(self):
        """The whole message, envelope and payload."""
        return self._span(lib.ringdrop_message_bytes)

    def __repr__(self):
        if self._handle is None:
            return "<ringdrop.Message (closed)>"
        return "<ringdrop.Message %s type=0x%016x id=%d>" % (self.kind, self.type_id, self.id)


def _remote_error(client, rc):
    """The exception of a failed call, with the server's code and text."""
    e = errors.make_error(rc)
    code, text = c_int(), c_char_p()
    if lib.ringdrop_client_last_remote_error(client, ctypes.byref(code), ctypes.byref(text)) == 0:
        if rc == errors.EREMOTE or code.value < 0:
            e.remote_code = code.value
            e.remote_text = text.value.decode("utf-8", "replace")
    return e


class Client:
    """Calls a service: by name (found in the registry) or by the request
    ring's `location` ("shm:<name>"). A context manager; one thread at a
    time; not usable in a child after fork()."""

    def __init__(self, service=None, *, location=None, registry_dir=None, retry_attempts=1,
                 retry_backoff=0.01, retry_max_backoff=1.0, retry_multiplier=2, breaker_threshold=5,
                 breaker_cool_down=1.0, reply_cell_size=4096, reply_cells=64, liveness_interval=None):
        self._handle = None
        if (service is None) == (location is None):
            raise ValueError("give a service name or a location, not both")
        o = _ClientOptions()
        lib.ringdrop_client_options_init(ctypes.byref(o))
        o.retry_attempts = retry_attempts
        o.retry_backoff_ns = _ns(retry_backoff, "retry_backoff")
        o.retry_max_backoff_ns = _ns(retry_max_backoff, "retry_max_backoff")
        o.retry_multiplier = retry_multiplier
        o.breaker_threshold = breaker_threshold
        o.breaker_cool_down_ns = _ns(breaker_cool_down, "breaker_cool_down")
        o.reply_cell_size = reply_cell_size
        o.reply_cells = reply_cells
        if liveness_interval is not None:
            o.liveness_ns = _ns(liveness_interval, "liveness_interval")
        o.registry_dir = None if registry_dir is None else _text(registry_dir, "registry_dir")
        handle = _ClientPtr()
        if service is not None:
            _check(lib.ringdrop_client_connect(_text(service, "service"), ctypes.byref(o), ctypes.byref(handle)))
        else:
            _check(lib.ringdrop_client_connect_ring(_text(location, "location"), ctypes.byref(o),
                                                    ctypes.byref(handle)))
        self._pid = os.getpid()
        self._pending = {}  # call id -> the ctypes callback, alive until it ran
        self._raised = None
        self._handle = handle

    def close(self):
        """Closes the client; async calls in flight are dropped."""
        handle, self._handle = self._handle, None
        if handle is not None and self._pid == os.getpid():
            lib.ringdrop_client_close(handle)
        self._pending.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _h(self):
        if self._handle is None:
            raise ValueError("operation on a closed client")
        if self._pid != os.getpid():
            raise RuntimeError("this client belongs to process %d" % self._pid)
        return self._handle

    def call(self, req_type, payload, resp_type, timeout, **call_options):
        """Sends a request and waits up to `timeout` seconds for its reply
        (a :class:`Message`, whose `.payload` is the response). Raises
        TimedOut, PeerGone, BadMessage, RemoteError (`.remote_code`,
        `.remote_text`), UnknownType, CircuitOpen... Options: idempotent,
        attempt_timeout, schema_version, headers."""
        data, size = _payload(payload)
        o = _call_options(**call_options)
        reply = _MessagePtr()
        h = self._h()
        rc = lib.ringdrop_client_call_ex(h, req_type, data, size, resp_type, _ns(timeout), ctypes.byref(o),
                                         ctypes.byref(reply))
        if rc < 0:
            raise _remote_error(h, rc)
        return Message(reply)

    def call_async(self, req_type, payload, resp_type, timeout, done, **call_options):
        """Sends a request and returns its call id at once. `done(call_id,
        result)` runs from a later :meth:`poll` (or :meth:`call`), with a
        :class:`Message` or the exception the call ended in."""
        data, size = _payload(payload)
        o = _call_options(**call_options)
        h = self._h()

        def trampoline(user, call_id, rc, reply):
            self._pending.pop(call_id, None)
            try:
                result = Message(reply) if rc == 0 else _remote_error(h, rc)
                done(call_id, result)
            except BaseException as e:  # never through ctypes: re-raised by poll()
                self._raised = e

        fn = _DoneFn(trampoline)
        call_id = c_ulonglong()
        rc = lib.ringdrop_client_call_async(h, req_type, data, size, resp_type, _ns(timeout), ctypes.byref(o),
                                            fn, None, ctypes.byref(call_id))
        if rc < 0:
            raise _remote_error(h, rc)
        self._pending[call_id.value] = fn
        return call_id.value

    def poll(self, timeout):
        """Runs the callbacks of async calls that ended; waits up to
        `timeout` seconds. True when none is in flight, False if some still
        are. An exception a callback raised is raised here."""
        self._raised = None
        rc = lib.ringdrop_client_poll(self._h(), _ns(timeout))
        raised, self._raised = self._raised, None
        if raised is not None:
            raise raised
        if rc == errors.ETIMEDOUT:
            return False
        _check(rc)
        return True

    def notify(self, type_id, payload=None, timeout=1.0, **envelope):
        """Sends a one-way notification, waiting up to `timeout` seconds for
        room. Envelope fields as for :func:`build_message` (kind aside)."""
        data, size = _payload(payload)
        o = _message_options(**envelope)
        _check(lib.ringdrop_client_notify(self._h(), type_id, data, size, ctypes.byref(o), _ns(timeout)))

    @property
    def last_remote_error(self):
        """(code, text) of the server's error of the last failed call."""
        code, text = c_int(), c_char_p()
        _check(lib.ringdrop_client_last_remote_error(self._h(), ctypes.byref(code), ctypes.byref(text)))
        return code.value, text.value.decode("utf-8", "replace")

    def stats(self):
        s = _ClientStats()
        s.size = ctypes.sizeof(s)
        _check(lib.ringdrop_client_get_stats(self._h(), ctypes.byref(s)))
        out = {n: getattr(s, n) for n in _CLIENT_STATS}
        out["breaker_state"] = ("closed", "open", "half_open")[s.breaker_state]
        out["breaker_opened"] = s.breaker_opened
        return out


class HandlerError(Exception):
    """Raised by a request handler: the caller gets RemoteError with this
    `code` (> 0) and `text`."""

    def __init__(self, code, text=""):
        if code <= 0:
            raise ValueError("a handler's error code is > 0")
        super().__init__(code, text)
        self.code = code
        self.text = text


class Server:
    """Serves a service: by name (its request ring "ringdrop.svc.<service>",
    registered in the registry while the server lives) or the request ring
    at `location`. A context manager; one thread at a time."""

    def __init__(self, service=None, *, location=None, registry_dir=None, info=None, cell_size=4096,
                 cells=256, liveness_interval=None, remembered_replies=1024, reply_timeout=0.1):
        self._handle = None
        if (service is None) == (location is None):
            raise ValueError("give a service name or a location, not both")
        o = _ServerOptions()
        lib.ringdrop_server_options_init(ctypes.byref(o))
        o.cell_size = cell_size
        o.cells = cells
        if liveness_interval is not None:
            o.liveness_ns = _ns(liveness_interval, "liveness_interval")
        o.registry_dir = None if registry_dir is None else _text(registry_dir, "registry_dir")
        o.info = None if info is None else _text(info, "info")
        o.remembered_replies = remembered_replies
        o.reply_timeout_ns = _ns(reply_timeout, "reply_timeout")
        handle = _ServerPtr()
        if service is not None:
            _check(lib.ringdrop_server_open(_text(service, "service"), ctypes.byref(o), ctypes.byref(handle)))
        else:
            _check(lib.ringdrop_server_open_ring(_text(location, "location"), ctypes.byref(o),
                                                 ctypes.byref(handle)))
        self._pid = os.getpid()
        self._callbacks = {}  # type id -> ctypes callback, alive as long as the server
        self._raised = None
        self._handle = handle

    def close(self):
        handle, self._handle = self._handle, None
        if handle is not None and self._pid == os.getpid():
            lib.ringdrop_server_close(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _h(self):
        if self._handle is None:
            raise ValueError("operation on a closed server")
        if self._pid != os.getpid():
            raise RuntimeError("this server belongs to process %d" % self._pid)
        return self._handle

    @property
    def request_ring(self):
        """The request ring's location, "shm:ringdrop.svc.<service>"."""
        location = c_char_p()
        _check(lib.ringdrop_server_request_ring(self._h(), ctypes.byref(location)))
        return location.value.decode("utf-8", "replace")

    def handle(self, req_type, resp_type, fn):
        """Requests of `req_type` go to `fn(payload, request)`, which returns
        the response payload (bytes, or None) of type `resp_type`, or raises
        :class:`HandlerError`."""

        def trampoline(user, request, payload, size, reply):
            message = Message(request, _owned=False)
            try:
                out = fn(ctypes.string_at(payload, size), message)
                if out is not None:
                    data, n = _payload(out)
                    rc = lib.ringdrop_reply_set_payload(reply, data, n)
                    if rc < 0:
                        raise errors.make_error(rc)
            except HandlerError as e:
                lib.ringdrop_reply_set_error(reply, e.code, _text(str(e.text), "text"))
            except BaseException as e:  # never through ctypes
                text = ("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace").replace(b"\0", b"?")
                lib.ringdrop_reply_set_error(reply, HANDLER_FAILED, text)
                if not isinstance(e, Exception):
                    self._raised = e  # KeyboardInterrupt, SystemExit: raised by serve()
            finally:
                message._handle = None  # the request is the server's: gone after the call
            return 0

        fn_c = _HandlerFn(trampoline)
        _check(lib.ringdrop_server_handle(self._h(), req_type, resp_type, fn_c, None))
        self._callbacks[("request", req_type)] = fn_c

    def on_notification(self, type_id, fn):
        """Notifications of `type_id` go to `fn(payload, message)`."""

        def trampoline(user, message_ptr, payload, size):
            message = Message(message_ptr, _owned=False)
            try:
                fn(ctypes.string_at(payload, size), message)
            except BaseException as e:
                self._raised = e
            finally:
                message._handle = None

        fn_c = _NotificationFn(trampoline)
        _check(lib.ringdrop_server_on_notification(self._h(), type_id, fn_c, None))
        self._callbacks[("notification", type_id)] = fn_c

    def _serving(self, call):
        self._raised = None
        rc = call()
        raised, self._raised = self._raised, None
        if raised is not None and not isinstance(raised, Exception):
            raise raised
        return rc, raised

    def serve_one(self, timeout):
        """Handles one message, waiting up to `timeout` seconds: True when
        one was handled, False when none came. Raises for a message taken
        but not run (BadMessage, UnknownType, DeadlinePassed), and re-raises
        what a notification handler raised."""
        rc, raised = self._serving(lambda: lib.ringdrop_server_serve_one(self._h(), _ns(timeout)))
        if raised is not None:
            raise raised
        if rc == errors.ETIMEDOUT:
            return False
        _check(rc)
        return True

    def serve(self, timeout):
        """Handles messages for `timeout` seconds."""
        rc, _ = self._serving(lambda: lib.ringdrop_server_serve(self._h(), _ns(timeout)))
        _check(rc)

    def stats(self):
        s = _ServerStats()
        s.size = ctypes.sizeof(s)
        _check(lib.ringdrop_server_get_stats(self._h(), ctypes.byref(s)))
        return {n: getattr(s, n) for n in _SERVER_STATS}

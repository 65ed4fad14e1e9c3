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

import contextlib
import ctypes
import enum
import os

from . import errors
from ._lib import Handle as _Handle
from ._lib import RingPtr, c_char_p, c_int, c_longlong, c_uint, c_ulong, c_ulonglong, c_void_p, declare, lib
from ._lib import header_arrays, text_arg
from .errors import check as _check
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

declare(_PROTOTYPES)


def _text(value, what):
    """A str, bytes or path argument as NUL-free bytes."""
    return text_arg(value, what, paths=True)


def _optional_text(value, what):
    """_text(value), or None for None (a char* left NULL)."""
    return None if value is None else _text(value, what)


def _decoded(text):
    """A char* result (c_char_p or its bytes value) as str."""
    if isinstance(text, c_char_p):
        text = text.value
    return text.decode("utf-8", "replace")


def _payload(data):
    """(bytes or None, size) of a payload argument."""
    if data is None:
        return None, 0
    data = bytes(data)
    return (data or None), len(data)


def _set_headers(o, headers):
    """Points the header arrays of options struct `o` at `headers` (a
    mapping or pairs); the arrays live as long as the struct."""
    o.header_keys, o.header_values, o.header_count = header_arrays(headers, paths=True)
    o._keep = (o.header_keys, o.header_values)


def _message_options(kind=MessageKind.NOTIFICATION, correlation_id=0, reply_to=None, timeout=None,
                     schema_version=0, attempt=1, idempotent=False, headers=None):
    o = _MessageOptions()
    lib.ringdrop_message_options_init(ctypes.byref(o))
    o.kind = int(kind)
    o.correlation_id = correlation_id
    o.reply_to = _optional_text(reply_to, "reply_to")
    o.timeout_ns = 0 if timeout is None else _ns(timeout, "the message's timeout")
    o.schema_version = schema_version
    o.attempt = attempt
    o.idempotent = 1 if idempotent else 0
    _set_headers(o, headers)
    return o


def _call_options(idempotent=False, attempt_timeout=0, schema_version=0, headers=None):
    o = _CallOptions()
    lib.ringdrop_call_options_init(ctypes.byref(o))
    o.idempotent = 1 if idempotent else 0
    o.attempt_timeout_ns = _ns(attempt_timeout, "attempt_timeout")
    o.schema_version = schema_version
    _set_headers(o, headers)
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


class Message(_Handle):
    """A validated typed message (ringdrop_message). Use
    :meth:`Message.parse` on received bytes; replies of :class:`Client`
    calls and the requests a :class:`Server` handler gets are Messages too
    (a handler's request only during the handler's call)."""

    _kind = "message"

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

    def _h(self):
        # Not tied to a process: the message is in this process's memory.
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
        return _decoded(self._get(lib.ringdrop_message_reply_to, c_char_p))

    def header(self, key, default=None):
        value = c_char_p()
        rc = lib.ringdrop_message_header(self._h(), _text(key, "key"), ctypes.byref(value))
        if rc == errors.ENOTFOUND:
            return default
        _check(rc)
        return _decoded(value)

    @property
    def headers(self):
        """Every header, in order, as a dict (the first of a repeated key)."""
        count = self._get(lib.ringdrop_message_header_count, c_ulong)
        out = {}
        key, value = c_char_p(), c_char_p()
        for i in range(count):
            _check(lib.ringdrop_message_header_at(self._h(), i, ctypes.byref(key), ctypes.byref(value)))
            out.setdefault(_decoded(key), _decoded(value))
        return out

    @property
    def error(self):
        """(code, text) of a response's error, or None."""
        code, text = _check_code_and_text(lib.ringdrop_message_error, self._h())
        return (code, text) if code else None

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


@contextlib.contextmanager
def _borrowed(pointer):
    """A Message over a message the library owns, for the duration of a
    callback: unusable afterwards (the library frees it then)."""
    message = Message(pointer, _owned=False)
    try:
        yield message
    finally:
        message._handle = None


def _code_and_text(fn, handle):
    """(rc, code, text) of fn(handle, &code, &text); text is None unless
    rc is 0."""
    code, text = c_int(), c_char_p()
    rc = fn(handle, ctypes.byref(code), ctypes.byref(text))
    return rc, code.value, (_decoded(text) if rc == 0 else None)


def _check_code_and_text(fn, handle):
    """(code, text) of fn(handle, &code, &text); raises if it failed."""
    rc, code, text = _code_and_text(fn, handle)
    _check(rc)
    return code, text


def _remote_error(client, rc):
    """The exception of a failed call, with the server's code and text."""
    e = errors.make_error(rc)
    got, code, text = _code_and_text(lib.ringdrop_client_last_remote_error, client)
    if got == 0:
        if rc == errors.EREMOTE or code < 0:
            e.remote_code = code
            e.remote_text = text
    return e


def _completed(rc):
    """True for success, False for RINGDROP_ETIMEDOUT; raises otherwise."""
    if rc == errors.ETIMEDOUT:
        return False
    _check(rc)
    return True


def _running_callbacks(owner, call):
    """(rc, raised) of call(), during which ctypes callbacks park what they
    raise in owner._raised (an exception must never go through ctypes)."""
    owner._raised = None
    rc = call()
    raised, owner._raised = owner._raised, None
    return rc, raised


def _stats(fn, handle, struct):
    """The `struct` (sized) fn(handle, &stats) filled in."""
    s = struct()
    s.size = ctypes.sizeof(s)
    _check(fn(handle, ctypes.byref(s)))
    return s


def _check_endpoint(service, location):
    if (service is None) == (location is None):
        raise ValueError("give a service name or a location, not both")


def _endpoint_options(o, registry_dir, liveness_interval):
    """The options clients and servers share, set on their struct `o`."""
    if liveness_interval is not None:
        o.liveness_ns = _ns(liveness_interval, "liveness_interval")
    o.registry_dir = _optional_text(registry_dir, "registry_dir")


def _open_endpoint(service, location, by_name, by_location, o, pointer_type):
    """A handle (`pointer_type`) opened with options `o` by service name
    (`by_name`) or by request ring location (`by_location`)."""
    handle = pointer_type()
    if service is not None:
        _check(by_name(_text(service, "service"), ctypes.byref(o), ctypes.byref(handle)))
    else:
        _check(by_location(_text(location, "location"), ctypes.byref(o), ctypes.byref(handle)))
    return handle


class Client(_Handle):
    """Calls a service: by name (found in the registry) or by the request
    ring's `location` ("shm:<name>"). A context manager; one thread at a
    time; not usable in a child after fork()."""

    _kind = "client"

    def __init__(self, service=None, *, location=None, registry_dir=None, retry_attempts=1,
                 retry_backoff=0.01, retry_max_backoff=1.0, retry_multiplier=2, breaker_threshold=5,
                 breaker_cool_down=1.0, reply_cell_size=4096, reply_cells=64, liveness_interval=None):
        _check_endpoint(service, location)
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
        _endpoint_options(o, registry_dir, liveness_interval)
        handle = _open_endpoint(service, location, lib.ringdrop_client_connect,
                                lib.ringdrop_client_connect_ring, o, _ClientPtr)
        self._set(handle)
        self._pending = {}  # call id -> the ctypes callback, alive until it ran
        self._raised = None

    def close(self):
        """Closes the client; async calls in flight are dropped."""
        handle, self._handle = self._handle, None
        if handle is not None and self._pid == os.getpid():
            lib.ringdrop_client_close(handle)
        self._pending.clear()

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
        rc, raised = _running_callbacks(self, lambda: lib.ringdrop_client_poll(self._h(), _ns(timeout)))
        if raised is not None:
            raise raised
        return _completed(rc)

    def notify(self, type_id, payload=None, timeout=1.0, **envelope):
        """Sends a one-way notification, waiting up to `timeout` seconds for
        room. Envelope fields as for :func:`build_message` (kind aside)."""
        data, size = _payload(payload)
        o = _message_options(**envelope)
        _check(lib.ringdrop_client_notify(self._h(), type_id, data, size, ctypes.byref(o), _ns(timeout)))

    @property
    def last_remote_error(self):
        """(code, text) of the server's error of the last failed call."""
        return _check_code_and_text(lib.ringdrop_client_last_remote_error, self._h())

    def stats(self):
        s = _stats(lib.ringdrop_client_get_stats, self._h(), _ClientStats)
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


class Server(_Handle):
    """Serves a service: by name (its request ring "ringdrop.svc.<service>",
    registered in the registry while the server lives) or the request ring
    at `location`. A context manager; one thread at a time."""

    _kind = "server"

    def __init__(self, service=None, *, location=None, registry_dir=None, info=None, cell_size=4096,
                 cells=256, liveness_interval=None, remembered_replies=1024, reply_timeout=0.1):
        _check_endpoint(service, location)
        o = _ServerOptions()
        lib.ringdrop_server_options_init(ctypes.byref(o))
        o.cell_size = cell_size
        o.cells = cells
        _endpoint_options(o, registry_dir, liveness_interval)
        o.info = _optional_text(info, "info")
        o.remembered_replies = remembered_replies
        o.reply_timeout_ns = _ns(reply_timeout, "reply_timeout")
        handle = _open_endpoint(service, location, lib.ringdrop_server_open,
                                lib.ringdrop_server_open_ring, o, _ServerPtr)
        self._set(handle)
        self._callbacks = {}  # type id -> ctypes callback, alive as long as the server
        self._raised = None

    def close(self):
        handle, self._handle = self._handle, None
        if handle is not None and self._pid == os.getpid():
            lib.ringdrop_server_close(handle)

    @property
    def request_ring(self):
        """The request ring's location, "shm:ringdrop.svc.<service>"."""
        location = c_char_p()
        _check(lib.ringdrop_server_request_ring(self._h(), ctypes.byref(location)))
        return _decoded(location)

    def handle(self, req_type, resp_type, fn):
        """Requests of `req_type` go to `fn(payload, request)`, which returns
        the response payload (bytes, or None) of type `resp_type`, or raises
        :class:`HandlerError`."""

        def trampoline(user, request, payload, size, reply):
            with _borrowed(request) as message:
                try:
                    out = fn(ctypes.string_at(payload, size), message)
                    if out is not None:
                        data, n = _payload(out)
                        _check(lib.ringdrop_reply_set_payload(reply, data, n))
                except HandlerError as e:
                    lib.ringdrop_reply_set_error(reply, e.code, _text(str(e.text), "text"))
                except BaseException as e:  # never through ctypes
                    text = ("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace").replace(b"\0", b"?")
                    lib.ringdrop_reply_set_error(reply, HANDLER_FAILED, text)
                    if not isinstance(e, Exception):
                        self._raised = e  # KeyboardInterrupt, SystemExit: raised by serve()
            return 0

        fn_c = _HandlerFn(trampoline)
        _check(lib.ringdrop_server_handle(self._h(), req_type, resp_type, fn_c, None))
        self._callbacks[("request", req_type)] = fn_c

    def on_notification(self, type_id, fn):
        """Notifications of `type_id` go to `fn(payload, message)`."""

        def trampoline(user, message_ptr, payload, size):
            with _borrowed(message_ptr) as message:
                try:
                    fn(ctypes.string_at(payload, size), message)
                except BaseException as e:
                    self._raised = e

        fn_c = _NotificationFn(trampoline)
        _check(lib.ringdrop_server_on_notification(self._h(), type_id, fn_c, None))
        self._callbacks[("notification", type_id)] = fn_c

    def _serving(self, call):
        rc, raised = _running_callbacks(self, call)
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
        return _completed(rc)

    def serve(self, timeout):
        """Handles messages for `timeout` seconds."""
        rc, _ = self._serving(lambda: lib.ringdrop_server_serve(self._h(), _ns(timeout)))
        _check(rc)

    def stats(self):
        s = _stats(lib.ringdrop_server_get_stats, self._h(), _ServerStats)
        return {n: getattr(s, n) for n in _SERVER_STATS}

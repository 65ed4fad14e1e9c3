"""Typed messages (ringdrop_message_* of the C ABI; the design:
docs/messaging.md): building one around a payload, sending one straight into
a ring, and reading one in place. Request/response is in rpc_client.py and
rpc_server.py (see rpc.py).
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import enum
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Type, TypeVar, Union

from . import errors
from ._lib import Handle as _Handle
from ._lib import RingPtr, c_char_p, c_int, c_longlong, c_uint, c_ulong, c_ulonglong, c_void_p, declare, lib
from ._lib import Buffer, Headers, Text, header_arrays, text_arg
from .errors import check as _check
from .ring import Ring, _ns, _timeout_ns

__all__ = ["MessageKind", "Message", "build_message", "send_message"]

_P = ctypes.POINTER
_M = TypeVar("_M", bound="Message")
_T = TypeVar("_T")
_StrArray = _P(c_char_p)


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


class _Message(ctypes.Structure):
    """The opaque struct ringdrop_message."""


_MessagePtr = _P(_Message)
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
}

declare(_PROTOTYPES)


def _text(value: object, what: str) -> bytes:
    """A str, bytes or path argument as NUL-free bytes."""
    return text_arg(value, what, paths=True)


def _optional_text(value: object, what: str) -> Optional[bytes]:
    """_text(value), or None for None (a char* left NULL)."""
    return None if value is None else _text(value, what)


def _decoded(text: Union[c_char_p, bytes, None]) -> str:
    """A char* result (c_char_p or its bytes value) as str."""
    if isinstance(text, c_char_p):
        text = text.value
    return text.decode("utf-8", "replace")  # type: ignore[union-attr]  # a char* result is not NULL


def _payload(data: Optional[Buffer]) -> Tuple[Optional[bytes], int]:
    """(bytes or None, size) of a payload argument."""
    if data is None:
        return None, 0
    data = bytes(data)
    return (data or None), len(data)


def _set_headers(o: ctypes.Structure, headers: Optional[Headers]) -> None:
    """Points the header arrays of options struct `o` at `headers` (a
    mapping or pairs); the arrays live as long as the struct."""
    o.header_keys, o.header_values, o.header_count = header_arrays(headers, paths=True)
    o._keep = (o.header_keys, o.header_values)


def _message_options(kind: Union[MessageKind, int] = MessageKind.NOTIFICATION, correlation_id: int = 0,
                     reply_to: Optional[Text] = None, timeout: Optional[float] = None,
                     schema_version: int = 0, attempt: int = 1, idempotent: bool = False,
                     headers: Optional[Headers] = None) -> _MessageOptions:
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


def build_message(type_id: int, payload: Optional[Buffer] = None, **envelope: Any) -> bytes:
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


def send_message(
    ring: Ring, type_id: int, payload: Optional[Buffer] = None, timeout: Optional[float] = 0.0, **envelope: Any
) -> None:
    """Builds a typed message straight into `ring` (a producer
    :class:`ringdrop.Ring`), waiting up to `timeout` seconds for room (0,
    the default, looks once; None waits without limit, in one C call that
    Ctrl-C does not interrupt). Envelope fields as for
    :func:`build_message`."""
    data, size = _payload(payload)
    o = _message_options(**envelope)
    _check(lib.ringdrop_message_send(ring._h(), type_id, data, size, ctypes.byref(o), _timeout_ns(timeout)))


class Message(_Handle):
    """A validated typed message (ringdrop_message). Use
    :meth:`Message.parse` on received bytes; replies of :class:`Client`
    calls and the requests a :class:`Server` handler gets are Messages too
    (a handler's request only during the handler's call)."""

    _kind = "message"

    def __init__(self, _handle: Any = None, _owned: bool = True) -> None:
        if _handle is None:
            raise TypeError("use Message.parse(bytes)")
        self._handle = _handle
        self._owned = _owned

    @classmethod
    def parse(cls: Type[_M], data: Buffer) -> _M:
        """Validates `data` (bytes-like) and copies it: errors.BadMessage if
        malformed."""
        data = bytes(data)
        handle = _MessagePtr()
        _check(lib.ringdrop_message_open(data or None, len(data), ctypes.byref(handle)))
        return cls(handle)

    def close(self) -> None:
        """Frees the message (a handler's request: only forgets it). Closing
        twice is harmless."""
        handle, self._handle = self._handle, None
        if handle is not None and self._owned:
            lib.ringdrop_message_close(handle)

    def _h(self) -> Any:
        # Not tied to a process: the message is in this process's memory.
        if self._handle is None:
            raise ValueError("the message is closed (or was a handler's request, used after the handler)")
        return self._handle

    def _get(self, fn: Callable[..., int], ctype: Type[ctypes._SimpleCData[_T]]) -> _T:
        out = ctype()
        _check(fn(self._h(), ctypes.byref(out)))
        return out.value

    @property
    def id(self) -> int:
        """The message's id, set by the library when it was built."""
        return self._get(lib.ringdrop_message_id, c_ulonglong)

    @property
    def correlation_id(self) -> int:
        """The correlation id the sender set; 0: none."""
        return self._get(lib.ringdrop_message_correlation_id, c_ulonglong)

    @property
    def type_id(self) -> int:
        """The payload's 64-bit type id."""
        return self._get(lib.ringdrop_message_type_id, c_ulonglong)

    @property
    def kind(self) -> Union[MessageKind, int]:
        """The envelope's :class:`MessageKind` (a newer sender's kind: its number)."""
        k = self._get(lib.ringdrop_message_kind, c_int)
        try:
            return MessageKind(k)
        except ValueError:
            return k

    @property
    def schema_version(self) -> int:
        """The payload's schema version (0-65535)."""
        return self._get(lib.ringdrop_message_schema_version, c_uint)

    @property
    def attempt(self) -> int:
        """Which attempt at sending this is (1: the first)."""
        return self._get(lib.ringdrop_message_attempt, c_uint)

    @property
    def idempotent(self) -> bool:
        """True when the sender marked it idempotent (it may be sent again)."""
        return bool(self._get(lib.ringdrop_message_idempotent, c_int))

    @property
    def deadline_ns(self) -> Optional[int]:
        """The deadline in CLOCK_MONOTONIC ns (time.monotonic_ns()), or None."""
        ns = self._get(lib.ringdrop_message_deadline, c_longlong)
        return ns or None

    @property
    def time_left(self) -> Optional[float]:
        """Seconds until the deadline (negative once passed), or None."""
        ns = self._get(lib.ringdrop_message_time_left, c_longlong)
        return None if ns == (1 << 63) - 1 else ns / 1e9

    @property
    def sent_at_ns(self) -> int:
        """Wall-clock send time, ns since the Unix epoch."""
        return self._get(lib.ringdrop_message_sent_at, c_longlong)

    @property
    def reply_to(self) -> str:
        """The ring a response goes to ("shm:<name>"); "" when none."""
        return _decoded(self._get(lib.ringdrop_message_reply_to, c_char_p))

    def header(self, key: Text, default: Optional[str] = None) -> Optional[str]:
        """The value of header `key` (str), or `default` if there is none."""
        value = c_char_p()
        rc = lib.ringdrop_message_header(self._h(), _text(key, "key"), ctypes.byref(value))
        if rc == errors.ENOTFOUND:
            return default
        _check(rc)
        return _decoded(value)

    @property
    def headers(self) -> Dict[str, str]:
        """Every header, in order, as a dict (the first of a repeated key)."""
        count = self._get(lib.ringdrop_message_header_count, c_ulong)
        out: Dict[str, str] = {}
        key, value = c_char_p(), c_char_p()
        for i in range(count):
            _check(lib.ringdrop_message_header_at(self._h(), i, ctypes.byref(key), ctypes.byref(value)))
            out.setdefault(_decoded(key), _decoded(value))
        return out

    @property
    def error(self) -> Optional[Tuple[int, str]]:
        """(code, text) of a response's error, or None."""
        code, text = _check_code_and_text(lib.ringdrop_message_error, self._h())
        return (code, text) if code else None

    def _span(self, fn: Callable[..., int]) -> builtins.bytes:
        data, size = c_void_p(), c_ulonglong()
        _check(fn(self._h(), ctypes.byref(data), ctypes.byref(size)))
        return ctypes.string_at(data.value, size.value) if size.value else b""  # type: ignore[arg-type]

    @property
    def payload(self) -> builtins.bytes:
        """The payload as its own flat Cap'n Proto message (bytes)."""
        return self._span(lib.ringdrop_message_payload)

    @property
    def bytes(self) -> builtins.bytes:
        """The whole message, envelope and payload."""
        return self._span(lib.ringdrop_message_bytes)

    def __repr__(self) -> str:
        if self._handle is None:
            return "<ringdrop.Message (closed)>"
        return "<ringdrop.Message %s type=0x%016x id=%d>" % (self.kind, self.type_id, self.id)


@contextlib.contextmanager
def _borrowed(pointer: Any) -> Iterator[Message]:
    """A Message over a message the library owns, for the duration of a
    callback: unusable afterwards (the library frees it then)."""
    message = Message(pointer, _owned=False)
    try:
        yield message
    finally:
        message._handle = None


def _code_and_text(fn: Callable[..., int], handle: Any) -> Tuple[int, int, Optional[str]]:
    """(rc, code, text) of fn(handle, &code, &text); text is None unless
    rc is 0."""
    code, text = c_int(), c_char_p()
    rc = fn(handle, ctypes.byref(code), ctypes.byref(text))
    return rc, code.value, (_decoded(text) if rc == 0 else None)


def _check_code_and_text(fn: Callable[..., int], handle: Any) -> Tuple[int, str]:
    """(code, text) of fn(handle, &code, &text); raises if it failed."""
    rc, code, text = _code_and_text(fn, handle)
    _check(rc)
    return code, text  # type: ignore[return-value]  # text is set when rc is 0

"""The client of request/response (ringdrop_client_* of the C ABI): calls,
blocking and async, notifications, and requests whose replies go to a
shared reply queue (reply_queue.py). See rpc.py.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Callable, Dict, Optional, Tuple, Union

from . import errors
from ._lib import Buffer, FsPath, Headers, Text
from ._lib import Handle as _Handle
from ._lib import c_char_p, c_int, c_longlong, c_uint, c_ulong, c_ulonglong, c_void_p, declare, lib
from ._rpc_shared import (
    _check_endpoint,
    _completed,
    _endpoint_options,
    _open_endpoint,
    _running_callbacks,
    _stats,
)
from .errors import check as _check
from .message import (
    Message,
    _MessageOptions,
    _MessagePtr,
    _P,
    _StrArray,
    _U64,
    _check_code_and_text,
    _code_and_text,
    _message_options,
    _optional_text,
    _payload,
    _set_headers,
)
from .ring import _ns, _sliced, _timeout_ns

__all__ = ["Client"]


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
        ("reply_queue", c_char_p),
        ("reply_ttl_ns", c_longlong),
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


_CLIENT_STATS = [
    "calls", "ok", "timed_out", "peer_gone", "remote_errors", "bad_replies", "retries",
    "late_replies", "rejected", "notifications", "in_flight",
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
            ("requests_sent", c_ulonglong),
        ]
    )


class _Client(ctypes.Structure):
    """The opaque struct ringdrop_client."""


_ClientPtr = _P(_Client)

_DoneFn = ctypes.CFUNCTYPE(None, c_void_p, c_ulonglong, c_int, _MessagePtr)

_PROTOTYPES = {
    # By symbol: the _size form, with this struct's size (bindings/README.md, ABI policy).
    "ringdrop_client_options_init_size": (None, [_P(_ClientOptions), c_ulong]),
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
    "ringdrop_client_send_request": (
        c_int,
        [_ClientPtr, c_ulonglong, c_void_p, c_ulonglong, c_longlong, c_ulonglong, _P(_CallOptions), _U64],
    ),
}

declare(_PROTOTYPES)


def _call_options(idempotent: bool = False, attempt_timeout: Optional[float] = 0, schema_version: int = 0,
                  headers: Optional[Headers] = None) -> _CallOptions:
    o = _CallOptions()
    lib.ringdrop_call_options_init(ctypes.byref(o))
    o.idempotent = 1 if idempotent else 0
    # 0 (the C ABI's) or None: no limit of a try's own, the whole timeout.
    o.attempt_timeout_ns = 0 if attempt_timeout is None else _ns(attempt_timeout, "attempt_timeout")
    o.schema_version = schema_version
    _set_headers(o, headers)
    return o


def _remote_error(client: Any, rc: int) -> errors.RingdropError:
    """The exception of a failed call, with the server's code and text."""
    e = errors.make_error(rc)
    got, code, text = _code_and_text(lib.ringdrop_client_last_remote_error, client)
    if got == 0:
        if rc == errors.EREMOTE or code < 0:
            e.remote_code = code  # type: ignore[attr-defined]
            e.remote_text = text  # type: ignore[attr-defined]
    return e


class Client(_Handle):
    """Calls a service: by name (found in the registry) or by the request
    ring's `location` ("shm:<name>"). With `reply_queue` (a name), the
    replies of :meth:`send_request` go to that shared reply queue
    (:class:`ringdrop.ReplyQueue`; its ring is created if missing), where
    any process of the group takes them; `reply_ttl` (seconds; None or 0:
    never) is how long such a reply may wait there before it expires. A
    context manager; one thread at a time; not usable in a child after
    fork()."""

    _kind = "client"

    def __init__(self, service: Optional[Text] = None, *, location: Optional[Text] = None,
                 registry_dir: Optional[FsPath] = None, retry_attempts: int = 1, retry_backoff: float = 0.01,
                 retry_max_backoff: float = 1.0, retry_multiplier: int = 2, breaker_threshold: int = 5,
                 breaker_cool_down: float = 1.0, reply_cell_size: int = 4096, reply_cells: int = 64,
                 liveness_interval: Optional[float] = None, reply_queue: Optional[Text] = None,
                 reply_ttl: Optional[float] = None) -> None:
        _check_endpoint(service, location)
        o = _ClientOptions()
        lib.ringdrop_client_options_init_size(ctypes.byref(o), ctypes.sizeof(o))
        o.retry_attempts = retry_attempts
        o.retry_backoff_ns = _ns(retry_backoff, "retry_backoff")
        o.retry_max_backoff_ns = _ns(retry_max_backoff, "retry_max_backoff")
        o.retry_multiplier = retry_multiplier
        o.breaker_threshold = breaker_threshold
        o.breaker_cool_down_ns = _ns(breaker_cool_down, "breaker_cool_down")
        o.reply_cell_size = reply_cell_size
        o.reply_cells = reply_cells
        _endpoint_options(o, registry_dir, liveness_interval)
        o.reply_queue = _optional_text(reply_queue, "reply_queue")  # copied by connect
        o.reply_ttl_ns = 0 if reply_ttl is None else _ns(reply_ttl, "reply_ttl")
        handle = _open_endpoint(service, location, lib.ringdrop_client_connect,
                                lib.ringdrop_client_connect_ring, o, _ClientPtr)
        self._set(handle)
        self.reply_queue = reply_queue
        self._pending: Dict[int, Any] = {}  # call id -> the ctypes callback, alive until it ran
        self._raised: Optional[BaseException] = None

    def close(self) -> None:
        """Closes the client; async calls in flight are dropped."""
        handle, self._handle = self._handle, None
        if handle is not None and self._pid == os.getpid():
            lib.ringdrop_client_close(handle)
        self._pending.clear()

    def call(self, req_type: int, payload: Optional[Buffer], resp_type: int, timeout: Optional[float],
             **call_options: Any) -> Message:
        """Sends a request and waits up to `timeout` seconds for its reply
        (a :class:`Message`, whose `.payload` is the response). None waits
        without limit -- until the reply, or PeerGone when every server is
        gone -- in one C call that Ctrl-C does not interrupt (a call cannot
        be cut into slices: it sent its request). Raises TimedOut,
        PeerGone, BadMessage, RemoteError (`.remote_code`,
        `.remote_text`), UnknownType, CircuitOpen... Options: idempotent,
        attempt_timeout (seconds one try waits before the next; 0 or None:
        the whole timeout), schema_version, headers."""
        data, size = _payload(payload)
        o = _call_options(**call_options)
        reply = _MessagePtr()
        h = self._h()
        rc = lib.ringdrop_client_call_ex(h, req_type, data, size, resp_type, _timeout_ns(timeout),
                                         ctypes.byref(o), ctypes.byref(reply))
        if rc < 0:
            raise _remote_error(h, rc)
        return Message(reply)

    def call_async(self, req_type: int, payload: Optional[Buffer], resp_type: int, timeout: Optional[float],
                   done: Callable[[int, Union[Message, errors.RingdropError]], object],
                   **call_options: Any) -> int:
        """Sends a request and returns its call id at once. `done(call_id,
        result)` runs from a later :meth:`poll` (or :meth:`call`), with a
        :class:`Message` or the exception the call ended in: TimedOut once
        `timeout` seconds have passed (None: no limit)."""
        data, size = _payload(payload)
        o = _call_options(**call_options)
        h = self._h()

        def trampoline(user: Any, call_id: int, rc: int, reply: Any) -> None:
            self._pending.pop(call_id, None)
            try:
                result: Union[Message, errors.RingdropError] = (
                    Message(reply) if rc == 0 else _remote_error(h, rc))
                done(call_id, result)
            except BaseException as e:  # never through ctypes: re-raised by poll()
                self._raised = e

        fn = _DoneFn(trampoline)
        call_id = c_ulonglong()
        rc = lib.ringdrop_client_call_async(h, req_type, data, size, resp_type, _timeout_ns(timeout),
                                            ctypes.byref(o), fn, None, ctypes.byref(call_id))
        if rc < 0:
            raise _remote_error(h, rc)
        self._pending[call_id.value] = fn
        return call_id.value

    def poll(self, timeout: Optional[float]) -> bool:
        """Runs the callbacks of async calls that ended; waits up to
        `timeout` seconds (None: until none is in flight; a long wait lets
        Ctrl-C through). True when none is in flight, False if some still
        are. An exception a callback raised is raised here."""
        h = self._h()

        def once(ns: int) -> int:
            rc, raised = _running_callbacks(self, lambda: lib.ringdrop_client_poll(h, ns))
            if raised is not None:
                raise raised
            return rc

        # A poll that timed out only ran callbacks: cutting the wait is harmless.
        return _completed(_sliced(timeout, once))

    def notify(self, type_id: int, payload: Optional[Buffer] = None, timeout: Optional[float] = 1.0,
               **envelope: Any) -> None:
        """Sends a one-way notification, waiting up to `timeout` seconds for
        room (None: without limit, in one C call that Ctrl-C does not
        interrupt). Envelope fields as for :func:`build_message` (kind
        aside)."""
        data, size = _payload(payload)
        o = _message_options(**envelope)
        _check(lib.ringdrop_client_notify(self._h(), type_id, data, size, ctypes.byref(o),
                                          _timeout_ns(timeout)))

    def send_request(self, req_type: int, payload: Optional[Buffer], timeout: Optional[float],
                     correlation_id: int = 0, *, schema_version: int = 0,
                     headers: Optional[Headers] = None) -> int:
        """Sends a request whose reply goes to the client's reply queue
        (the `reply_queue` it was made with; InvalidArgument without one)
        and returns the request's message id (the reply's `request_id`).
        Nothing waits for the reply: take it from a
        :class:`ringdrop.ReplyQueue`, in this process or any other.

        `timeout` (seconds) bounds the wait for room in the request ring
        and is also the request's deadline: a server that takes it later
        does not run it (None: no limit, in one C call that Ctrl-C does not
        interrupt). The reply itself comes whenever it comes. The reply's
        `correlation_id` is `correlation_id` (an order number, say), or the
        message id when it is 0. Options: schema_version, headers.
        Raises the request ring's errors (TimedOut, PeerGone,
        MessageTooLarge...) and BadMessage for a malformed payload."""
        data, size = _payload(payload)
        o = _call_options(schema_version=schema_version, headers=headers)
        message_id = c_ulonglong()
        _check(lib.ringdrop_client_send_request(self._h(), req_type, data, size, _timeout_ns(timeout),
                                                correlation_id, ctypes.byref(o), ctypes.byref(message_id)))
        return message_id.value

    @property
    def last_remote_error(self) -> Tuple[int, str]:
        """(code, text) of the server's error of the last failed call."""
        return _check_code_and_text(lib.ringdrop_client_last_remote_error, self._h())

    def stats(self) -> Dict[str, Union[int, str]]:
        """This client's counters as a dict: calls, ok, timed_out, peer_gone,
        remote_errors, bad_replies, retries, late_replies, rejected,
        notifications, in_flight, breaker_opened, requests_sent, and
        breaker_state ("closed", "open" or "half_open")."""
        s = _stats(lib.ringdrop_client_get_stats, self._h(), _ClientStats)
        out = {n: getattr(s, n) for n in _CLIENT_STATS}
        out["breaker_state"] = ("closed", "open", "half_open")[s.breaker_state]
        out["breaker_opened"] = s.breaker_opened
        out["requests_sent"] = s.requests_sent
        return out

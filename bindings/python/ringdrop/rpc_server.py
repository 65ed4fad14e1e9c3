"""The server of request/response (ringdrop_server_* and ringdrop_reply_*
of the C ABI): handlers for requests and notifications, serving. See rpc.py.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Callable, Dict, Optional, Tuple

from . import errors
from ._lib import Buffer, FsPath, Text
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
from .message import Message, _MessagePtr, _P, _borrowed, _decoded, _optional_text, _payload, _text
from .ring import _sliced, _timeout_ns

__all__ = ["Server", "HandlerError", "HANDLER_FAILED"]

#: The code a caller sees when a handler failed without a code of its own
#: (RINGDROP_HANDLER_FAILED).
HANDLER_FAILED = 0x7FFFFFFF


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


_SERVER_STATS = [
    "requests", "replies", "notifications", "handler_errors", "unknown_type", "malformed",
    "expired", "duplicates", "undeliverable",
]


class _ServerStats(ctypes.Structure):
    _fields_ = [("size", c_ulong)] + [(n, c_ulonglong) for n in _SERVER_STATS]


class _Server(ctypes.Structure):
    """The opaque struct ringdrop_server."""


class _Reply(ctypes.Structure):
    """The opaque struct ringdrop_reply."""


_ServerPtr = _P(_Server)
_ReplyPtr = _P(_Reply)

_HandlerFn = ctypes.CFUNCTYPE(c_int, c_void_p, _MessagePtr, c_void_p, c_ulonglong, _ReplyPtr)
_NotificationFn = ctypes.CFUNCTYPE(None, c_void_p, _MessagePtr, c_void_p, c_ulonglong)

_PROTOTYPES = {
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


class HandlerError(Exception):
    """Raised by a request handler: the caller gets RemoteError with this
    `code` (> 0) and `text`."""

    def __init__(self, code: int, text: str = "") -> None:
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

    def __init__(self, service: Optional[Text] = None, *, location: Optional[Text] = None,
                 registry_dir: Optional[FsPath] = None, info: Optional[Text] = None, cell_size: int = 4096,
                 cells: int = 256, liveness_interval: Optional[float] = None, remembered_replies: int = 1024,
                 reply_timeout: Optional[float] = 0.1) -> None:
        _check_endpoint(service, location)
        o = _ServerOptions()
        lib.ringdrop_server_options_init(ctypes.byref(o))
        o.cell_size = cell_size
        o.cells = cells
        _endpoint_options(o, registry_dir, liveness_interval)
        o.info = _optional_text(info, "info")
        o.remembered_replies = remembered_replies
        # None: no limit of its own; the request's deadline still bounds it.
        o.reply_timeout_ns = _timeout_ns(reply_timeout, "reply_timeout")
        handle = _open_endpoint(service, location, lib.ringdrop_server_open,
                                lib.ringdrop_server_open_ring, o, _ServerPtr)
        self._set(handle)
        # type id -> ctypes callback, alive as long as the server
        self._callbacks: Dict[Tuple[str, int], Any] = {}
        self._raised: Optional[BaseException] = None

    def close(self) -> None:
        """Closes the server. Closing twice is harmless."""
        handle, self._handle = self._handle, None
        if handle is not None and self._pid == os.getpid():
            lib.ringdrop_server_close(handle)

    @property
    def request_ring(self) -> str:
        """The request ring's location, "shm:ringdrop.svc.<service>"."""
        location = c_char_p()
        _check(lib.ringdrop_server_request_ring(self._h(), ctypes.byref(location)))
        return _decoded(location)

    def handle(self, req_type: int, resp_type: int, fn: Callable[[bytes, Message], Optional[Buffer]]) -> None:
        """Requests of `req_type` go to `fn(payload, request)`, which returns
        the response payload (bytes, or None) of type `resp_type`, or raises
        :class:`HandlerError`."""

        def trampoline(user: Any, request: Any, payload: Any, size: int, reply: Any) -> int:
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

    def on_notification(self, type_id: int, fn: Callable[[bytes, Message], object]) -> None:
        """Notifications of `type_id` go to `fn(payload, message)`."""

        def trampoline(user: Any, message_ptr: Any, payload: Any, size: int) -> None:
            with _borrowed(message_ptr) as message:
                try:
                    fn(ctypes.string_at(payload, size), message)
                except BaseException as e:
                    self._raised = e

        fn_c = _NotificationFn(trampoline)
        _check(lib.ringdrop_server_on_notification(self._h(), type_id, fn_c, None))
        self._callbacks[("notification", type_id)] = fn_c

    def _serving(self, call: Callable[[], int]) -> Tuple[int, Optional[BaseException]]:
        rc, raised = _running_callbacks(self, call)
        if raised is not None and not isinstance(raised, Exception):
            raise raised
        return rc, raised

    def serve_one(self, timeout: Optional[float]) -> bool:
        """Handles one message, waiting up to `timeout` seconds (None:
        without limit; a long wait lets Ctrl-C through): True when one was
        handled, False when none came. Raises for a message taken but not
        run (BadMessage, UnknownType, DeadlinePassed), and re-raises what a
        notification handler raised."""
        h = self._h()

        def once(ns: int) -> int:
            rc, raised = self._serving(lambda: lib.ringdrop_server_serve_one(h, ns))
            if raised is not None:
                raise raised
            return rc

        # A serve_one that timed out took nothing: cutting the wait is harmless.
        return _completed(_sliced(timeout, once))

    def serve(self, timeout: Optional[float]) -> None:
        """Handles messages for `timeout` seconds (None: for ever, until
        Ctrl-C or an error that is not about a single message)."""
        h = self._h()

        def once(ns: int) -> int:
            rc, _ = self._serving(lambda: lib.ringdrop_server_serve(h, ns))
            # serve() returns 0 when its time is up: "go on" for _sliced.
            return errors.ETIMEDOUT if rc == 0 else rc

        rc = _sliced(timeout, once)
        if rc != errors.ETIMEDOUT:
            _check(rc)

    def stats(self) -> Dict[str, int]:
        """This server's counters as a dict: requests, replies,
        notifications, handler_errors, unknown_type, malformed, expired,
        duplicates, undeliverable."""
        s = _stats(lib.ringdrop_server_get_stats, self._h(), _ServerStats)
        return {n: getattr(s, n) for n in _SERVER_STATS}

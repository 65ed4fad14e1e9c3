"""Shared reply queues (ringdrop_reply_queue_* of the C ABI; C++:
ringdrop/reply_queue.hpp; the pattern: docs/messaging.md): replies that
outlive their caller, taken by any process of the calling group.

    import ringdrop

    # every instance of the "orders" program, at start:
    pricing = ringdrop.Client("pricing", reply_queue="orders")
    replies = ringdrop.ReplyQueue("orders")          # shm:ringdrop.replies.orders

    # sending: save the state under a correlation id of your own
    store.save(order.id, state)
    pricing.send_request(ASK, ask_bytes, timeout=30, correlation_id=order.id)

    # any instance, any time later (the sender may have died meanwhile):
    reply = replies.take(timeout=1)
    state = store.load(reply.correlation_id)
    if reply.ok:
        carry_on(state, reply.payload)
    else:
        give_up(state, reply.error)
    replies.ack()                                    # only now is it gone

A reply is held until :meth:`ReplyQueue.ack` or :meth:`ReplyQueue.reject`;
one whose taker dies first goes to another taker (its `delivery_count`
says so), up to `max_deliveries`, then to the ring's dead letters. Times
are in seconds.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Dict, Optional, Union

from ._lib import Handle as _Handle
from ._lib import FsPath, Text, c_char_p, c_int, c_longlong, c_uint, c_ulong, c_ulonglong, declare, lib
from .errors import check as _check
from .message import Message, _MessagePtr, _P, _U64, _text
from .ring import WaitMode, _enum, _fsname, _ns, _sliced

__all__ = ["ReplyQueue", "SharedReply", "REPLY_QUEUE_PREFIX"]

#: The shm name of reply queue `name`'s ring is REPLY_QUEUE_PREFIX + name.
REPLY_QUEUE_PREFIX = "ringdrop.replies."


class _ReplyQueueOptions(ctypes.Structure):
    """struct ringdrop_reply_queue_options; fields in header order."""

    _fields_ = [
        ("size", c_ulong),
        ("cell_size", c_uint),
        ("cells", c_uint),
        ("max_deliveries", c_uint),
        ("dead_letters", c_char_p),
        ("wait_mode", c_int),
        ("spin_ns", c_longlong),
    ]


_REPLY_QUEUE_STATS = ["taken", "acked", "rejected", "redelivered", "expired", "malformed"]


class _ReplyQueueStats(ctypes.Structure):
    _fields_ = [("size", c_ulong)] + [(n, c_ulonglong) for n in _REPLY_QUEUE_STATS]


class _ReplyQueue(ctypes.Structure):
    """The opaque struct ringdrop_reply_queue."""


_ReplyQueuePtr = _P(_ReplyQueue)

_PROTOTYPES = {
    "ringdrop_reply_queue_options_init": (None, [_P(_ReplyQueueOptions)]),
    "ringdrop_reply_queue_open": (c_int, [c_char_p, _P(_ReplyQueueOptions), _P(_ReplyQueuePtr)]),
    "ringdrop_reply_queue_close": (None, [_ReplyQueuePtr]),
    "ringdrop_reply_queue_take": (
        c_int,
        [_ReplyQueuePtr, c_longlong, _P(_MessagePtr), _U64, _P(c_uint)],
    ),
    "ringdrop_reply_queue_ack": (c_int, [_ReplyQueuePtr]),
    "ringdrop_reply_queue_reject": (c_int, [_ReplyQueuePtr, c_char_p]),
    "ringdrop_reply_queue_get_stats": (c_int, [_ReplyQueuePtr, _P(_ReplyQueueStats)]),
}

declare(_PROTOTYPES)


class SharedReply(Message):
    """A reply taken from a :class:`ReplyQueue`: a :class:`Message` (its
    own copy: valid after the ack, until closed) with what the queue knows
    of it. `correlation_id` is the request's own (the `correlation_id` given
    to :meth:`Client.send_request`), else the request's message id;
    `request_id` the request's message id (what send_request returned);
    `delivery_count` how many takers got it (> 1: one died holding it).
    `error` is the server's (code, text), None when it answered; `ok` says
    the same."""

    _kind = "reply"

    def __init__(self, _handle: Any = None, request_id: int = 0, delivery_count: int = 1) -> None:
        super().__init__(_handle)
        self.request_id = request_id
        self.delivery_count = delivery_count

    @property
    def ok(self) -> bool:
        """True when the server answered without an error."""
        return self.error is None

    def __repr__(self) -> str:
        if self._handle is None:
            return "<ringdrop.SharedReply (closed)>"
        return "<ringdrop.SharedReply type=0x%016x correlation_id=%d request_id=%d delivery_count=%d>" % (
            self.type_id, self.correlation_id, self.request_id, self.delivery_count)


class ReplyQueue(_Handle):
    """The shared reply queue `name` (a service name, [A-Za-z0-9._-]): its
    ring is "shm:ringdrop.replies.<name>", created if missing. Clients
    connected with ``reply_queue=name`` send requests whose replies come
    here; every process of the group may open it and take them.

    Options (keyword-only; None keeps the library's default). These four
    count when this call creates the ring (the first client or queue to
    open it chooses):
      cell_size: bytes per cell (4096; the largest reply is 16 less).
      cells: a power of two (1024): the most replies waiting at once.
      max_deliveries: takers that may die holding one reply before it is
        set aside as a dead letter (1..1000; 5).
      wait_mode: how a blocked take waits (:class:`WaitMode` or its name).
    and this one for this handle:
      dead_letters: the directory (it must exist) where rejected, expired
        and malformed replies go; None: the ring's default store,
        :func:`ringdrop.dead_letter_dir` of ``"ringdrop.replies.<name>"``.
      spin_for: seconds a waiter spins before sleeping or yielding.

    A context manager; closing it with a reply held (taken, neither acked
    nor rejected) lets that reply go to another taker. Used by one thread
    at a time, and only in the process that opened it.
    """

    _kind = "reply queue"

    def __init__(self, name: Text, *, cell_size: Optional[int] = None, cells: Optional[int] = None,
                 max_deliveries: Optional[int] = None, dead_letters: Optional[FsPath] = None,
                 wait_mode: Union[WaitMode, int, str, None] = None, spin_for: Optional[float] = None) -> None:
        self.name = name
        o = _ReplyQueueOptions()
        lib.ringdrop_reply_queue_options_init(ctypes.byref(o))
        if cell_size is not None:
            o.cell_size = cell_size
        if cells is not None:
            o.cells = cells
        if max_deliveries is not None:
            o.max_deliveries = max_deliveries
        if dead_letters is not None:
            o.dead_letters = _fsname(dead_letters)  # copied by open
        if wait_mode is not None:
            o.wait_mode = _enum(WaitMode, wait_mode, "wait_mode")
        if spin_for is not None:
            o.spin_ns = _ns(spin_for, "spin_for")
        handle = _ReplyQueuePtr()
        _check(lib.ringdrop_reply_queue_open(_text(name, "name"), ctypes.byref(o), ctypes.byref(handle)))
        self._set(handle)

    @property
    def location(self) -> str:
        """The queue's ring, "shm:ringdrop.replies.<name>"."""
        name = self.name.decode() if isinstance(self.name, bytes) else str(self.name)
        return "shm:" + REPLY_QUEUE_PREFIX + name

    def close(self) -> None:
        """Closes the queue; a reply still held goes to another taker."""
        handle, self._handle = self._handle, None
        if handle is not None and self._pid == os.getpid():
            lib.ringdrop_reply_queue_close(handle)

    def take(self, timeout: Optional[float]) -> SharedReply:
        """The next reply (a :class:`SharedReply`), waiting up to `timeout`
        seconds (0 looks once; None waits without limit, letting Ctrl-C
        through); TimedOut if none came. It stays held until :meth:`ack`
        or :meth:`reject`: taking another first raises InvalidArgument.
        Expired replies (past the client's `reply_ttl`) and malformed ones
        are dead-lettered on the way, counted in :meth:`stats`."""
        h = self._h()
        reply = _MessagePtr()
        request_id = c_ulonglong()
        count = c_uint()

        def once(ns: int) -> int:
            return lib.ringdrop_reply_queue_take(h, ns, ctypes.byref(reply), ctypes.byref(request_id),
                                                 ctypes.byref(count))

        # A take that timed out took nothing (what it dead-lettered on the
        # way is gone either way): cutting the wait is harmless.
        _check(_sliced(timeout, once))
        return SharedReply(reply, request_id.value, count.value)

    def ack(self) -> None:
        """The reply taken last is handled: it leaves the queue.
        InvalidArgument if none is held."""
        _check(lib.ringdrop_reply_queue_ack(self._h()))

    def reject(self, reason: Text) -> None:
        """Sets the reply taken last aside as a dead letter with `reason`
        (str or bytes). InvalidArgument if none is held."""
        _check(lib.ringdrop_reply_queue_reject(self._h(), _text(reason, "reason")))

    def stats(self) -> Dict[str, int]:
        """This handle's counters: taken, acked, rejected, redelivered
        (taken with a delivery count > 1), expired and malformed (both
        dead-lettered on the way)."""
        s = _ReplyQueueStats()
        s.size = ctypes.sizeof(s)
        _check(lib.ringdrop_reply_queue_get_stats(self._h(), ctypes.byref(s)))
        return {n: getattr(s, n) for n in _REPLY_QUEUE_STATS}

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else self.location
        return "<ringdrop.ReplyQueue %s>" % state

"""Rings: SPSC, MPMC and broadcast, through one handle type (ringdrop_ring)."""

from __future__ import annotations

import ctypes
import enum
import math
import os
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple, Type, TypeVar, Union

from . import errors
from ._lib import MAX_TIMEOUT_NS, Buffer, FsPath, Handle, RingOptions, RingPtr, WritableBuffer, lib

__all__ = [
    "Kind",
    "Role",
    "How",
    "WaitMode",
    "Ring",
    "Producer",
    "Consumer",
    "remove",
]


class Kind(enum.IntEnum):
    """Ring kinds (RINGDROP_RING_*)."""

    SPSC = 1  #: one producer, one consumer
    MPMC = 2  #: producers, competing consumers: each message goes to one
    BROADCAST = 3  #: one publisher, every subscriber sees every message


class Role(enum.IntEnum):
    """Roles (RINGDROP_ROLE_*); a broadcast publisher is a producer, a
    subscriber a consumer."""

    PRODUCER = 1
    CONSUMER = 2
    PUBLISHER = 1  # alias of PRODUCER
    SUBSCRIBER = 2  # alias of CONSUMER


class How(enum.IntEnum):
    """How a ring is opened (RINGDROP_OPEN, _CREATE, _OPEN_OR_CREATE)."""

    OPEN = 0  #: it must exist, else NotFound
    CREATE = 1  #: it must not exist, else AlreadyExists
    OPEN_OR_CREATE = 2


class WaitMode(enum.IntEnum):
    """How a blocked call waits (RINGDROP_WAIT_*)."""

    SPIN_BLOCK = 0  #: spin briefly, then sleep on a futex (the default)
    SPIN = 1  #: busy-spin: lowest latency, burns a core
    SPIN_YIELD = 2  #: spin, yielding the CPU between checks


_E = TypeVar("_E", bound=enum.IntEnum)


def _enum(cls: Type[_E], value: Union[_E, int, str], what: str) -> _E:
    """`value` (an enum member, its int, or its name in any case) as `cls`."""
    if isinstance(value, str):
        key = value.strip().upper().replace("-", "_").replace(" ", "_")
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(repr(n.lower()) for n in cls.__members__)
            raise ValueError("%s must be one of %s, not %r" % (what, names, value)) from None
    try:
        return cls(value)
    except ValueError:
        raise ValueError("%s: %r is not a %s" % (what, value, cls.__name__)) from None


def _ns(seconds: float, what: str = "timeout") -> int:
    """Seconds (int or float) as nanoseconds for the C ABI.

    math.inf (or anything beyond ~292 years) saturates; a negative value is
    passed on, and the library refuses it with InvalidArgument."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError("%s must be a number of seconds, not %r" % (what, seconds))
    if isinstance(seconds, float):
        if math.isnan(seconds):
            raise ValueError("%s is NaN" % what)
        if math.isinf(seconds):
            return MAX_TIMEOUT_NS if seconds > 0 else -MAX_TIMEOUT_NS
        ns = int(round(seconds * 1e9))
    else:
        ns = seconds * 1_000_000_000
    return max(-MAX_TIMEOUT_NS, min(ns, MAX_TIMEOUT_NS))


def _timeout_ns(timeout: Optional[float], what: str = "timeout") -> int:
    """A wait's `timeout` in seconds as nanoseconds for the C ABI; None
    waits without limit, as for queue.Queue.get.

    The C ABI has no "forever" (ringdrop.h: a negative timeout is
    RINGDROP_EINVAL, "no call waits forever"): None becomes its longest
    timeout, LLONG_MAX ns (about 292 years; the library saturates the
    deadline), the same as math.inf."""
    if timeout is None:
        return MAX_TIMEOUT_NS
    return _ns(timeout, what)


def _fsname(name: FsPath) -> bytes:
    """A ring name (str, bytes or path) as the bytes the C ABI takes."""
    encoded = os.fsencode(name)
    if b"\0" in encoded:
        raise ValueError("a ring name cannot contain NUL bytes: %r" % (name,))
    return encoded


def _release_view(view: memoryview) -> None:
    """Makes `view` unusable (ValueError on access) if nobody exported it."""
    try:
        view.release()
    except BufferError:
        # Something (numpy, memoryview(view), a ctypes from_buffer) still
        # holds the buffer: it cannot be revoked, and using it after the
        # ring released the memory reads bytes that may be overwritten.
        pass


def _bytes_arg(data: Buffer) -> Tuple[Union[bytes, ctypes.Array[ctypes.c_char], None], int]:
    """(pointer argument, size) for a bytes-like `data`, copying only when
    the buffer is read-only and not `bytes`, or not contiguous."""
    if isinstance(data, bytes):
        return (data if data else None), len(data)
    view = memoryview(data)
    if view.nbytes == 0:
        return None, 0
    if view.readonly or not view.c_contiguous:
        copy = view.tobytes()
        return copy, len(copy)
    view = view.cast("B")
    return (ctypes.c_char * view.nbytes).from_buffer(view), view.nbytes


# A long wait is made of waits of at most this long (or two liveness
# intervals, if longer), so that Python runs signal handlers (Ctrl-C) in
# between: a ctypes call cannot be interrupted. Cutting a wait is harmless:
# a timed-out call has done nothing.
_SLICE_NS = 250_000_000
_DEFAULT_LIVENESS_NS = 50_000_000  # WaitStrategy::liveness_interval


def _sliced(timeout: Optional[float], call: Callable[[int], int], slice_ns: int = _SLICE_NS) -> int:
    """call(timeout_ns) -> rc, in waits of at most `slice_ns`, until it
    returns anything but RINGDROP_ETIMEDOUT or `timeout` (seconds; None: no
    limit) has passed. Only for calls that did nothing when they timed out."""
    ns = _timeout_ns(timeout)
    if ns <= slice_ns:
        return call(ns)
    deadline = time.monotonic_ns() + ns
    while True:
        remaining = deadline - time.monotonic_ns()
        if remaining <= slice_ns:
            return call(max(remaining, 0))
        rc = call(slice_ns)
        if rc != errors.ETIMEDOUT:
            return rc


def _check_result(rc: int) -> None:
    if rc < 0:
        raise errors.make_error(rc)


def remove(name: FsPath, file_backed: bool = False, missing_ok: bool = False) -> None:
    """Removes ring `name` (a shm name, or a file path when `file_backed`).

    Processes that have it open keep using it; a later open does not find
    it. With `missing_ok`, a ring that does not exist is not an error."""
    rc = lib.ringdrop_ring_remove(_fsname(name), 1 if file_backed else 0)
    if rc == errors.ENOTFOUND and missing_ok:
        return
    _check_result(rc)


def dead_letter_dir(name: FsPath, file_backed: bool = False) -> str:
    """The default dead-letter directory of ring `name`: a drop channel
    whose dead letters (:class:`ringdrop.DropChannel`) are the ring's."""
    size = ctypes.c_ulong()
    encoded = _fsname(name)
    rc = lib.ringdrop_ring_dead_letter_dir(encoded, 1 if file_backed else 0, None, 0, ctypes.byref(size))
    if rc != errors.EMSGSIZE:
        _check_result(rc)
    buffer = ctypes.create_string_buffer(size.value)
    _check_result(
        lib.ringdrop_ring_dead_letter_dir(encoded, 1 if file_backed else 0, buffer, size.value, ctypes.byref(size))
    )
    return os.fsdecode(buffer.value)


def requeue_dead_letter(
    name: FsPath,
    message_id: str,
    timeout: Optional[float],
    dead_letters: Optional[FsPath] = None,
    file_backed: bool = False,
) -> None:
    """Sends dead letter `message_id` of ring `name` (store `dead_letters`,
    None for the default) back into the ring, waiting up to `timeout`
    seconds for room (None: without limit, in one C call that Ctrl-C does
    not interrupt), then removes it. At-least-once."""
    store = None if dead_letters is None else _fsname(dead_letters)
    _check_result(
        lib.ringdrop_ring_dead_letter_requeue(
            _fsname(name), 1 if file_backed else 0, store, str(message_id).encode("utf-8"), _timeout_ns(timeout)
        )
    )


class Ring(Handle):
    """One end of a ring: an SPSC, MPMC or broadcast producer or consumer.

    ``Ring(name, kind, role, how="open_or_create", **options)`` opens (or
    creates) ring `name`. `kind` is ``"spsc"``, ``"mpmc"`` or
    ``"broadcast"`` (or a :class:`Kind`), `role` ``"producer"`` /
    ``"consumer"`` (``"publisher"`` / ``"subscriber"`` read better for
    broadcast; or a :class:`Role`), `how` ``"open"``, ``"create"`` or
    ``"open_or_create"`` (or a :class:`How`).

    Options (keyword-only; the defaults are the library's):
      capacity: data bytes when creating (a power of two >= 4096); 0 is
        1 MiB when creating and whatever the ring has when opening.
      cell_size: MPMC/broadcast cell bytes (a power of two >= 64; the
        largest message is 16 less); 0 is 256 when creating.
      file_backed: `name` is a file path, not a shared-memory name.
      wait_mode: how a blocked call waits (:class:`WaitMode` or its name).
      spin_for: seconds a waiter spins before sleeping or yielding.
      liveness_interval: seconds between a waiter's checks that its peer
        still runs (how soon a dead peer is reported as PeerGone).
      overwrite: broadcast, at creation: lap slow subscribers instead of
        waiting for them.
      drop_on_consumer_death: MPMC, at creation: the messages a dead
        consumer held are lost instead of delivered again.
      start_at_oldest: broadcast subscriber: begin at the oldest message
        still kept instead of the next one published.
      mode: permission bits when creating (0: 0o600).
      max_deliveries: MPMC and SPSC, at creation: deliveries of one
        message before it is set aside as a dead letter instead of being
        delivered again (1..1000; 0 is 5). See :meth:`reject`.
      dead_letters: a consumer's dead-letter directory (it must exist);
        None for the default, :func:`dead_letter_dir`.
      buffer_size: the initial size of the buffer :meth:`receive` copies
        into; it grows to fit larger messages.

    Timeouts are in seconds (int or float): 0 looks once and raises
    :class:`TimedOut` if there is nothing; None (as for queue.Queue.get)
    or ``math.inf`` waits without limit. A dead peer ends a wait with
    :class:`PeerGone` once the wait has lasted `liveness_interval` (a
    shorter timeout reports TimedOut). Long waits are cut into slices so
    that Ctrl-C (KeyboardInterrupt) gets through within about a quarter of
    a second.

    A consumer (a subscriber) is iterable: ``for message in rx:`` yields
    each message as ``receive(timeout=None)`` returns it (bytes), and ends
    when the ring reports :class:`PeerGone`; see :meth:`__iter__`.

    A ring is a context manager: ``with Ring(...) as r:`` closes it on exit.
    A handle is used by one thread at a time, and only in the process that
    opened it (not in a child after fork()).
    """

    _kind = "ring"

    def __init__(
        self,
        name: FsPath,
        kind: Union[Kind, int, str],
        role: Union[Role, int, str],
        how: Union[How, int, str] = How.OPEN_OR_CREATE,
        *,
        capacity: int = 0,
        cell_size: int = 0,
        file_backed: bool = False,
        wait_mode: Union[WaitMode, int, str] = WaitMode.SPIN_BLOCK,
        spin_for: Optional[float] = None,
        liveness_interval: Optional[float] = None,
        overwrite: bool = False,
        drop_on_consumer_death: bool = False,
        start_at_oldest: bool = False,
        mode: int = 0,
        max_deliveries: int = 0,
        dead_letters: Optional[FsPath] = None,
        buffer_size: int = 4096,
    ) -> None:
        self._handle = None  # set last: __del__ must cope with a failed open
        self._views: List[memoryview] = []  # read() views not yet released
        self._reservation: Optional[memoryview] = None  # reserve() view not yet committed
        self._reserved = 0  # its size
        self.name = name
        self.kind = _enum(Kind, kind, "kind")
        self.role = _enum(Role, role, "role")
        self.file_backed = bool(file_backed)
        how = _enum(How, how, "how")

        options = RingOptions()
        lib.ringdrop_ring_options_init_size(ctypes.byref(options), ctypes.sizeof(options))
        options.capacity = capacity
        options.cell_size = cell_size
        options.file_backed = 1 if file_backed else 0
        options.wait_mode = _enum(WaitMode, wait_mode, "wait_mode")
        if spin_for is not None:
            options.spin_ns = _ns(spin_for, "spin_for")
        liveness_ns = _DEFAULT_LIVENESS_NS
        if liveness_interval is not None:
            options.liveness_ns = _ns(liveness_interval, "liveness_interval")
            if options.liveness_ns > 0:
                liveness_ns = options.liveness_ns
        # The library checks a peer's liveness only once a wait has lasted
        # a liveness interval: every slice must outlast one.
        self._slice_ns = max(_SLICE_NS, 2 * liveness_ns)
        options.overwrite = 1 if overwrite else 0
        options.drop_on_consumer_death = 1 if drop_on_consumer_death else 0
        options.start_at_oldest = 1 if start_at_oldest else 0
        options.mode = mode
        options.max_deliveries = max_deliveries
        dead_letters_path = None if dead_letters is None else _fsname(dead_letters)
        options.dead_letters = dead_letters_path  # kept alive until the open returns

        handle = RingPtr()
        rc = lib.ringdrop_ring_open(
            _fsname(name), self.kind, self.role, how, ctypes.byref(options), ctypes.byref(handle)
        )
        _check_result(rc)
        self._set(handle)

        size = ctypes.c_ulonglong()
        _check_result(lib.ringdrop_ring_max_message_size(handle, ctypes.byref(size)))
        self._max_message_size = size.value
        self._buffer = ctypes.create_string_buffer(max(1, min(int(buffer_size), size.value)))
        self._size = ctypes.c_ulonglong()
        self._pointer = ctypes.c_void_p()

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Leaves the ring (its peers see PeerGone once they have read what
        this end sent). Views from read() and reserve() become unusable.
        Closing twice is harmless."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        self._drop_views()
        # In a forked child the library's close only frees memory: the
        # parent's role in the ring is left alone.
        lib.ringdrop_ring_close(handle)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return "<ringdrop.Ring %r %s %s, %s>" % (
            self.name,
            self.kind.name.lower(),
            self._role_name(),
            state,
        )

    def _role_name(self) -> str:
        if self.kind == Kind.BROADCAST:
            return "publisher" if self.role == Role.PRODUCER else "subscriber"
        return self.role.name.lower()

    def _wait(self, timeout: Optional[float], call: Callable[[int], int]) -> int:
        """call(timeout_ns) -> rc, in slices (see _SLICE_NS) until it
        returns anything but RINGDROP_ETIMEDOUT or `timeout` has passed
        (None: no limit)."""
        return _sliced(timeout, call, self._slice_ns)

    def _drop_views(self) -> None:
        views, self._views = self._views, []
        for view in views:
            _release_view(view)
        if self._reservation is not None:
            _release_view(self._reservation)
            self._reservation = None

    # -------------------------------------------------------------- facts

    @property
    def max_message_size(self) -> int:
        """The largest message, in bytes, this ring can carry."""
        self._h()
        return self._max_message_size

    @property
    def last_missed(self) -> int:
        """Broadcast subscribers: how many messages were missed at the last
        MessageLost. InvalidArgument on any other handle."""
        missed = ctypes.c_ulonglong()
        _check_result(lib.ringdrop_ring_last_missed(self._h(), ctypes.byref(missed)))
        return missed.value

    remove = staticmethod(remove)

    # ----------------------------------------------------- poison messages

    @property
    def delivery_count(self) -> int:
        """MPMC and SPSC consumers: how many times the message read last has
        been delivered, this time included (1 unless consumers died holding
        it; 2 for an SPSC record a dead consumer had passed: "at least
        twice"). InvalidArgument on any other handle."""
        count = ctypes.c_uint()
        _check_result(lib.ringdrop_ring_delivery_count(self._h(), ctypes.byref(count)))
        return count.value

    def reject(self, reason: str = "") -> None:
        """MPMC and SPSC consumers: sets the message read last aside as a
        dead letter now, with `reason`; its view becomes unusable. If the
        dead-letter store cannot be written the message stays held and the
        error is raised (NotFound, UnsafeFile, NoSpace, ...)."""
        handle = self._h()
        _check_result(lib.ringdrop_ring_reject(handle, str(reason).encode("utf-8")))
        if self._views:
            _release_view(self._views.pop())

    # ------------------------------------------------------------ writing

    def send(self, data: Buffer, timeout: Optional[float]) -> None:
        """Copies `data` (bytes or any bytes-like object) in as one message,
        waiting up to `timeout` seconds for room.

        Raises TimedOut (no room in time), MessageTooLarge (larger than
        max_message_size, at once), PeerGone (no consumer any more, where
        the ring kind reports it), InvalidArgument (a consumer handle). An
        open reservation is abandoned."""
        handle = self._h()
        pointer, size = _bytes_arg(data)
        if self._reservation is not None:
            _release_view(self._reservation)
            self._reservation = None
        _check_result(
            self._wait(timeout, lambda ns: lib.ringdrop_ring_send(handle, pointer, size, ns))
        )

    def reserve(self, size: int, timeout: Optional[float]) -> memoryview:
        """Zero-copy writing: a writable memoryview of `size` bytes inside
        the ring (8-byte aligned), waiting up to `timeout` seconds for room.

        Write the message into it, then :meth:`commit`. The view is valid
        until commit(), the next reserve() or send() (which abandon this
        reservation) or close()."""
        handle = self._h()
        if self._reservation is not None:
            _release_view(self._reservation)
            self._reservation = None
        pointer = self._pointer
        _check_result(
            self._wait(
                timeout,
                lambda ns: lib.ringdrop_ring_reserve(handle, size, ns, ctypes.byref(pointer)),
            )
        )
        if size == 0:
            view = memoryview(bytearray())
        else:
            view = memoryview((ctypes.c_char * size).from_address(pointer.value)).cast("B")  # type: ignore[arg-type]
        self._reservation = view
        self._reserved = size
        return view

    def commit(self, used: Optional[int] = None) -> None:
        """Publishes the reservation with its first `used` bytes (all of it
        when None). The view from reserve() becomes unusable."""
        handle = self._h()
        if used is None:
            used = self._reserved if self._reservation is not None else 0
        _check_result(lib.ringdrop_ring_commit(handle, used))
        if self._reservation is not None:
            _release_view(self._reservation)
            self._reservation = None

    # ------------------------------------------------------------ reading

    def receive(self, timeout: Optional[float]) -> bytes:
        """The next message, copied out as bytes, waiting up to `timeout`
        seconds for one.

        Raises TimedOut (nothing in time; nothing lost), PeerGone (the
        producer died or left and everything it sent has been read),
        MessageLost (a broadcast subscriber was lapped: see last_missed),
        InvalidArgument (a producer handle). The receive buffer grows to fit
        the message. Like release(), it also hands back every message
        read() before, whose views become unusable."""
        handle = self._h()
        buffer, size = self._buffer, self._size
        rc = self._wait(
            timeout,
            lambda ns: lib.ringdrop_ring_receive(handle, buffer, len(buffer), ctypes.byref(size), ns),
        )
        if rc == errors.EMSGSIZE and size.value > len(buffer):
            # The library kept the message and said how large it is: the
            # next call returns it at once, whatever the timeout.
            grown = min(max(size.value, 2 * len(buffer)), max(size.value, self._max_message_size))
            self._buffer = buffer = ctypes.create_string_buffer(grown)
            rc = lib.ringdrop_ring_receive(handle, buffer, len(buffer), ctypes.byref(size), 0)
        _check_result(rc)
        self._drop_views()
        return ctypes.string_at(buffer, size.value)

    def receive_into(self, buffer: WritableBuffer, timeout: Optional[float]) -> int:
        """Copies the next message into the writable bytes-like `buffer`;
        returns its size.

        If the message does not fit, raises MessageTooLarge with
        ``.size_needed``, and the message stays: the next receive, read or
        receive_into returns it. Other errors as receive()."""
        handle = self._h()
        view = memoryview(buffer).cast("B")
        if view.readonly:
            raise TypeError("receive_into needs a writable buffer")
        capacity = view.nbytes
        target = (ctypes.c_char * capacity).from_buffer(view) if capacity else None
        size = self._size
        rc = self._wait(
            timeout,
            lambda ns: lib.ringdrop_ring_receive(handle, target, capacity, ctypes.byref(size), ns),
        )
        del target
        view.release()
        if rc == errors.EMSGSIZE:
            raise errors.make_error(rc, size_needed=size.value)
        _check_result(rc)
        self._drop_views()
        return size.value

    def read(self, timeout: Optional[float]) -> memoryview:
        """Zero-copy reading: a read-only memoryview of the next message in
        the ring's memory, waiting up to `timeout` seconds for one.

        The view is valid until :meth:`release` (or receive(), or close()),
        which hands back every message read so far; after that, using the
        view raises ValueError. Slices of it and objects made from it (e.g.
        numpy arrays) are not revoked: copy (``bytes(view)``) what must
        outlive release(). A consumer holding many unreleased messages can
        leave the producer waiting for room. Errors as receive()."""
        handle = self._h()
        pointer, size = self._pointer, self._size
        _check_result(
            self._wait(
                timeout,
                lambda ns: lib.ringdrop_ring_read(handle, ns, ctypes.byref(pointer), ctypes.byref(size)),
            )
        )
        n = size.value
        if n == 0:
            return memoryview(b"")
        view = memoryview((ctypes.c_char * n).from_address(pointer.value)).cast("B").toreadonly()  # type: ignore[arg-type]
        self._views.append(view)
        return view

    def release(self) -> None:
        """Hands back every message read() so far; their views become
        unusable. A broadcast subscriber of an overwrite ring gets
        MessageLost if one of them was overwritten while held (its view may
        have been torn)."""
        handle = self._h()
        self._drop_views()
        _check_result(lib.ringdrop_ring_release(handle))

    def messages(self, timeout: Optional[float] = None) -> Iterator[bytes]:
        """Yields each message (bytes) as receive(timeout) returns it, and
        stops when the producer is gone (PeerGone) after its last message.
        TimedOut (only with a timeout: None waits without limit) and other
        errors propagate."""
        while True:
            try:
                message = self.receive(timeout)
            except errors.PeerGone:
                return
            yield message

    def __iter__(self) -> Iterator[bytes]:
        """``for message in consumer:`` -- each message (bytes), as
        ``receive(timeout=None)`` returns it: waiting without limit.

        The loop ends, without an exception, when receive raises
        :class:`PeerGone`: the producer (MPMC: every producer; broadcast:
        the publisher) died or left and everything it committed has been
        read. A producer that attaches later is not waited for: iterate
        again to read what it sends. No PeerGone comes before a producer
        has attached at all: the loop waits for the first. Any other error
        propagates and ends the loop (MessageLost for a lapped broadcast
        subscriber: ``last_missed`` says how many; iterate again to go on).
        For a loop that gives up after a while, use :meth:`messages` with a
        timeout. A producer handle is not iterable (TypeError)."""
        if self.role != Role.CONSUMER:
            raise TypeError("a %s %s is not iterable: only consumers receive"
                            % (self.kind.name.lower(), self._role_name()))
        return self.messages(None)


class Producer(Ring):
    """A producing end (a broadcast publisher): ``Producer(name, kind="spsc",
    how="open_or_create", **options)``; see :class:`Ring`."""

    def __init__(
        self,
        name: FsPath,
        kind: Union[Kind, int, str] = Kind.SPSC,
        how: Union[How, int, str] = How.OPEN_OR_CREATE,
        **options: Any,
    ) -> None:
        super().__init__(name, kind, Role.PRODUCER, how, **options)


class Consumer(Ring):
    """A consuming end (a broadcast subscriber): ``Consumer(name, kind="spsc",
    how="open_or_create", **options)``; see :class:`Ring`."""

    def __init__(
        self,
        name: FsPath,
        kind: Union[Kind, int, str] = Kind.SPSC,
        how: Union[How, int, str] = How.OPEN_OR_CREATE,
        **options: Any,
    ) -> None:
        super().__init__(name, kind, Role.CONSUMER, how, **options)

"""The file-drop channel: a watched directory as a message channel
(ringdrop_drop_* of the C ABI; the tree: docs/file-drop.md).

    import ringdrop

    with ringdrop.DropChannel("/var/spool/orders") as ch:
        ch.publish(b"order 42", headers={"content-type": "text/plain"})

        with ch.consumer() as rx, rx.claim(timeout=5) as claim:
            handle(claim.data, claim.headers.get("content-type"))
            claim.ack()

A :class:`DropChannel` publishes and manages dead letters; a
:class:`DropConsumer` claims; a :class:`Claim` reads and settles one
message. They may be closed in any order. Times are in seconds; a
timeout of None waits without limit. A consumer is iterable: ``for claim
in rx:`` waits for claims without end (settle each one).
"""

from __future__ import annotations

import collections
import ctypes
import os
from types import TracebackType
from typing import Dict, Iterator, List, Literal, Optional, Tuple, Type, Union

from . import errors
from ._lib import Buffer, FsPath, Headers, Text
from ._lib import Handle as _Handle
from ._lib import c_char_p, c_int, c_longlong, c_uint, c_ulong, c_ulonglong, c_void_p, declare, lib
from ._lib import header_arrays as _header_arrays
from ._lib import text_arg as _text
from .errors import check as _check
from .ring import _bytes_arg, _fsname, _ns, _release_view, _sliced

__all__ = [
    "DropChannel",
    "DropConsumer",
    "Claim",
    "ClaimHeaders",
    "Completion",
    "Discovery",
    "DROP_ID_MAX",
]

#: RINGDROP_DROP_ID_MAX: room for a message id and its NUL.
DROP_ID_MAX = 129


class Completion:
    """When a file written into incoming/ counts as complete
    (RINGDROP_COMPLETION_*); the option also takes "settle" / "marker"."""

    SETTLE = 0  #: unchanged for settle_time
    MARKER = 1  #: <name><marker_suffix> exists


class Discovery:
    """How consumers notice new files (RINGDROP_DISCOVERY_*); the option
    also takes "automatic" / "inotify" / "polling"."""

    AUTOMATIC = 0
    INOTIFY = 1
    POLLING = 2


class _DropOptions(ctypes.Structure):
    """struct ringdrop_drop_options; fields in header order, never reordered."""

    _fields_ = [
        ("size", c_ulong),
        ("create", c_int),
        ("dir_mode", c_uint),
        ("lease_ms", c_longlong),
        ("max_attempts", c_uint),
        ("retry_backoff_ms", c_longlong),
        ("retry_backoff_max_ms", c_longlong),
        ("archive", c_int),
        ("durable", c_int),
        ("completion", c_int),
        ("settle_ms", c_longlong),
        ("marker_suffix", c_char_p),
        ("discovery", c_int),
        ("scan_interval_ms", c_longlong),
        ("key_retention_hours", c_longlong),
        ("dead_letter_retention_hours", c_longlong),
        ("receipt_retention_hours", c_longlong),
        ("stale_tmp_after_hours", c_longlong),
    ]


class _Drop(ctypes.Structure):
    """The opaque struct ringdrop_drop."""


class _DropConsumer(ctypes.Structure):
    """The opaque struct ringdrop_drop_consumer."""


class _DropClaim(ctypes.Structure):
    """The opaque struct ringdrop_drop_claim."""


_DropPtr = ctypes.POINTER(_Drop)
_ConsumerPtr = ctypes.POINTER(_DropConsumer)
_ClaimPtr = ctypes.POINTER(_DropClaim)
_StrArray = ctypes.POINTER(c_char_p)
_P = ctypes.POINTER

# The drop-channel prototypes of ringdrop.h, declared on the shared library
# object of _lib (which declares the rings' part).
_PROTOTYPES = {
    "ringdrop_drop_options_init_size": (None, [_P(_DropOptions), c_ulong]),
    "ringdrop_drop_open": (c_int, [c_char_p, _P(_DropOptions), _P(_DropPtr)]),
    "ringdrop_drop_close": (None, [_DropPtr]),
    "ringdrop_drop_publish": (
        c_int,
        [_DropPtr, c_void_p, c_ulonglong, _StrArray, _StrArray, c_ulong, c_char_p, c_ulong],
    ),
    "ringdrop_drop_reply": (
        c_int,
        [_ClaimPtr, c_void_p, c_ulonglong, _StrArray, _StrArray, c_ulong, c_char_p, c_ulong],
    ),
    "ringdrop_drop_publish_file": (
        c_int,
        [_DropPtr, c_char_p, _StrArray, _StrArray, c_ulong, c_char_p, c_ulong],
    ),
    "ringdrop_drop_dead_letters": (c_int, [_DropPtr, c_char_p, c_ulong, _P(c_ulong)]),
    "ringdrop_drop_requeue": (c_int, [_DropPtr, c_char_p]),
    "ringdrop_drop_purge": (c_int, [_DropPtr, c_char_p]),
    "ringdrop_drop_receipt": (
        c_int,
        [_DropPtr, c_char_p, c_char_p, c_longlong, _P(c_int), c_char_p, c_ulong],
    ),
    "ringdrop_drop_consumer_open": (c_int, [_DropPtr, _P(_ConsumerPtr)]),
    "ringdrop_drop_consumer_close": (None, [_ConsumerPtr]),
    "ringdrop_drop_consumer_claim": (c_int, [_ConsumerPtr, c_longlong, _P(_ClaimPtr)]),
    "ringdrop_drop_claim_id": (c_int, [_ClaimPtr, _P(c_char_p)]),
    "ringdrop_drop_claim_attempt": (c_int, [_ClaimPtr, _P(c_uint)]),
    "ringdrop_drop_claim_header": (c_int, [_ClaimPtr, c_char_p, _P(c_char_p)]),
    "ringdrop_drop_claim_path": (c_int, [_ClaimPtr, _P(c_char_p)]),
    "ringdrop_drop_claim_data": (c_int, [_ClaimPtr, _P(c_void_p), _P(c_ulonglong)]),
    "ringdrop_drop_claim_extend": (c_int, [_ClaimPtr, c_longlong]),
    "ringdrop_drop_claim_ack": (c_int, [_ClaimPtr]),
    "ringdrop_drop_claim_nack": (c_int, [_ClaimPtr, c_char_p]),
    "ringdrop_drop_claim_reject": (c_int, [_ClaimPtr, c_char_p]),
    "ringdrop_drop_claim_close": (None, [_ClaimPtr]),
}

declare(_PROTOTYPES)


def _ms(seconds: float, what: str) -> int:
    """Seconds as whole milliseconds for the C ABI (negative: passed on, and
    refused by the library with InvalidArgument)."""
    return _ns(seconds, what) // 1_000_000


def _choice(cls: type, value: Union[int, str], what: str) -> int:
    if isinstance(value, str):
        key = value.strip().upper()
        if hasattr(cls, key) and not key.startswith("_"):
            return getattr(cls, key)
        raise ValueError("%s must be one of %s, not %r" % (
            what, ", ".join(repr(k.lower()) for k in vars(cls) if k.isupper()), value))
    return int(value)


class Receipt(collections.namedtuple("Receipt", "outcome reason")):
    """What became of a named message: `outcome` is "taken" (moved from
    incoming/, not settled yet), "processed" or "dead-lettered"; `reason`
    says why it was dead-lettered ("" otherwise)."""

    __slots__ = ()
    outcome: str
    reason: str

    @property
    def settled(self) -> bool:
        """True once the message was processed or dead-lettered."""
        return self.outcome != "taken"


_OUTCOMES = {1: "taken", 2: "processed", 3: "dead-lettered"}


class DropChannel(_Handle):
    """The drop channel rooted at directory `root` (str, bytes or path).

    Options (keyword-only; None keeps the library's default):
      create: create a missing tree (default True; False: NotFound).
      dir_mode: mode of the directories created (default 0o770).
      lease: seconds a claim is held before it counts as abandoned (30).
      max_attempts: deliveries before a failing message is a dead letter (5).
      retry_backoff, retry_backoff_max: seconds a nacked message waits,
        doubling per attempt, at most the second (1, 300).
      archive: keep acked messages in done/ instead of deleting them.
      durable: fsync on publish (default True).
      completion: when a file in incoming/ is complete, "settle" (unchanged
        for settle_time) or "marker" (<name><marker_suffix> exists). The
        channel's creator's rule is kept in state/ingest and every later
        opener follows it: these three options only count at creation.
      settle_time: seconds (2); marker_suffix: default ".done".
      discovery: "automatic" (inotify, polling on network file systems),
        "inotify" or "polling"; scan_interval: seconds between full scans (1).
      key_retention_hours, dead_letter_retention_hours,
        receipt_retention_hours, stale_tmp_after_hours: how long consumers'
        maintenance keeps processed keys (168), dead letters (72), receipts
        (168) and a dead writer's files in tmp/ (1), in whole hours.

    A context manager; a handle is used by one thread at a time, and only
    in the process that opened it.
    """

    _kind = "drop channel"

    def __init__(
        self,
        root: FsPath,
        *,
        create: Optional[bool] = None,
        dir_mode: Optional[int] = None,
        lease: Optional[float] = None,
        max_attempts: Optional[int] = None,
        retry_backoff: Optional[float] = None,
        retry_backoff_max: Optional[float] = None,
        archive: Optional[bool] = None,
        durable: Optional[bool] = None,
        completion: Union[int, str, None] = None,
        settle_time: Optional[float] = None,
        marker_suffix: Optional[Text] = None,
        discovery: Union[int, str, None] = None,
        scan_interval: Optional[float] = None,
        key_retention_hours: Optional[int] = None,
        dead_letter_retention_hours: Optional[int] = None,
        receipt_retention_hours: Optional[int] = None,
        stale_tmp_after_hours: Optional[int] = None,
    ) -> None:
        self.root = root
        options = _DropOptions()
        lib.ringdrop_drop_options_init_size(ctypes.byref(options), ctypes.sizeof(options))
        if create is not None:
            options.create = 1 if create else 0
        if dir_mode is not None:
            options.dir_mode = dir_mode
        if lease is not None:
            options.lease_ms = _ms(lease, "lease")
        if max_attempts is not None:
            options.max_attempts = max_attempts
        if retry_backoff is not None:
            options.retry_backoff_ms = _ms(retry_backoff, "retry_backoff")
        if retry_backoff_max is not None:
            options.retry_backoff_max_ms = _ms(retry_backoff_max, "retry_backoff_max")
        if archive is not None:
            options.archive = 1 if archive else 0
        if durable is not None:
            options.durable = 1 if durable else 0
        if completion is not None:
            options.completion = _choice(Completion, completion, "completion")
        if settle_time is not None:
            options.settle_ms = _ms(settle_time, "settle_time")
        if marker_suffix is not None:
            options.marker_suffix = _text(marker_suffix, "marker_suffix")  # copied by open
        if discovery is not None:
            options.discovery = _choice(Discovery, discovery, "discovery")
        if scan_interval is not None:
            options.scan_interval_ms = _ms(scan_interval, "scan_interval")
        for field in ("key_retention_hours", "dead_letter_retention_hours", "receipt_retention_hours",
                      "stale_tmp_after_hours"):
            hours = locals()[field]
            if hours is not None:
                setattr(options, field, int(hours))
        handle = _DropPtr()
        _check(lib.ringdrop_drop_open(_fsname(root), ctypes.byref(options), ctypes.byref(handle)))
        self._set(handle)
        self._id = ctypes.create_string_buffer(DROP_ID_MAX)

    def close(self) -> None:
        """Closes the handle (consumers and claims made from it go on).
        Closing twice is harmless."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.ringdrop_drop_close(handle)

    def __repr__(self) -> str:
        return "<ringdrop.DropChannel %r, %s>" % (self.root, "closed" if self.closed else "open")

    # ------------------------------------------------------------ publishing

    def publish(self, data: Buffer, headers: Optional[Headers] = None) -> str:
        """Publishes `data` (bytes or any bytes-like object) as one message;
        returns its id (str).

        `headers`: a mapping (or pairs) of keys of [a-z0-9-] to one-line
        values (str or bytes), e.g. {"content-type": "text/csv",
        "idempotency-key": "batch-2024-01-31"}. Raises InvalidArgument (bad
        headers), NoSpace (disk or quota full: nothing was published)."""
        handle = self._h()
        keys, values, count = _header_arrays(headers)
        pointer, size = _bytes_arg(data)
        _check(lib.ringdrop_drop_publish(handle, pointer, size, keys, values, count, self._id, DROP_ID_MAX))
        return self._id.value.decode("ascii")

    def publish_file(self, path: FsPath, headers: Optional[Headers] = None) -> str:
        """Publishes the file at `path` by moving it into the channel (no
        copy); returns the id. It must be a regular file with one link
        (UnsafeFile otherwise) on the channel's file system; on failure it
        stays where it was."""
        handle = self._h()
        keys, values, count = _header_arrays(headers)
        _check(
            lib.ringdrop_drop_publish_file(
                handle, _fsname(path), keys, values, count, self._id, DROP_ID_MAX
            )
        )
        return self._id.value.decode("ascii")

    # ---------------------------------------------------------- dead letters

    def dead_letters(self) -> List[str]:
        """The ids of the dead letters (failed/), oldest first."""
        handle = self._h()
        needed = c_ulong()
        size = 256
        while True:
            buffer = ctypes.create_string_buffer(size)
            rc = lib.ringdrop_drop_dead_letters(handle, buffer, size, ctypes.byref(needed))
            if rc == errors.EMSGSIZE and needed.value > size:
                size = needed.value + 256  # it may grow meanwhile
                continue
            _check(rc)
            return [line for line in buffer.value.decode("ascii").split("\n") if line]

    def requeue(self, message_id: Text) -> None:
        """Puts dead letter `message_id` back into new/ with its attempt
        count reset. NotFound if there is no such dead letter."""
        _check(lib.ringdrop_drop_requeue(self._h(), _text(message_id, "message_id")))

    def purge(self, message_id: Text) -> None:
        """Deletes dead letter `message_id` with its reason and headers."""
        _check(lib.ringdrop_drop_purge(self._h(), _text(message_id, "message_id")))

    # ------------------------------------------------------------- receipts

    def receipt(self, name: Text, message_id: Text, timeout: Optional[float] = 0) -> Receipt:
        """What became of message `message_id` whose original-name is `name`
        (a file dropped into incoming/ as `name`, or a message published
        with that header): a :class:`Receipt`. `timeout` 0 looks once
        (NotFound while there is none); above 0 waits until the message is
        processed or dead-lettered (None: without limit), else TimedOut."""
        handle = self._h()
        name_b, id_b = _text(name, "name"), _text(message_id, "message_id")
        outcome = c_int()
        reason = ctypes.create_string_buffer(1025)  # receipts keep 1024 bytes of reason
        _check(_sliced(timeout, lambda ns: lib.ringdrop_drop_receipt(
            handle, name_b, id_b, ns, ctypes.byref(outcome), reason, len(reason))))
        return Receipt(_OUTCOMES[outcome.value], reason.value.decode("utf-8", "replace"))

    # ------------------------------------------------------------ consuming

    def consumer(self) -> DropConsumer:
        """A new :class:`DropConsumer` of this channel."""
        return DropConsumer(self)


class DropConsumer(_Handle):
    """A consumer of a :class:`DropChannel`: any number of them, in any
    processes, compete for its messages. A context manager.

    Iterable: ``for claim in consumer:`` yields each claim as
    ``claim(timeout=None)`` returns it (see :meth:`__iter__`)."""

    _kind = "drop consumer"

    def __init__(self, channel: DropChannel) -> None:
        handle = _ConsumerPtr()
        _check(lib.ringdrop_drop_consumer_open(channel._h(), ctypes.byref(handle)))
        self._set(handle)
        self.channel_root = channel.root

    def close(self) -> None:
        """Closes the consumer (its open claims go on). Closing twice is
        harmless."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.ringdrop_drop_consumer_close(handle)

    def __repr__(self) -> str:
        return "<ringdrop.DropConsumer of %r, %s>" % (
            self.channel_root, "closed" if self.closed else "open")

    def claim(self, timeout: Optional[float]) -> Claim:
        """The oldest ready message as a :class:`Claim`, waiting up to
        `timeout` seconds (0 looks once; None or math.inf waits without
        limit; a long wait lets Ctrl-C through). Raises TimedOut when
        nothing came."""
        handle = self._h()
        claim = _ClaimPtr()
        # A claim that timed out did nothing: cutting the wait is harmless.
        _check(_sliced(timeout, lambda ns: lib.ringdrop_drop_consumer_claim(handle, ns, ctypes.byref(claim))))
        return Claim(claim)

    def claims(self, timeout: Optional[float] = None) -> Iterator[Claim]:
        """Yields claims until none comes within `timeout` seconds: drains
        what is there (timeout=0) or serves for as long as messages come
        (None: without end). Settle (or close) each one before asking for
        the next."""
        while True:
            try:
                claim = self.claim(timeout)
            except errors.TimedOut:
                return
            yield claim

    def __iter__(self) -> Iterator[Claim]:
        """``for claim in consumer:`` -- each :class:`Claim` as
        ``claim(timeout=None)`` returns it: waiting without limit.

        A drop channel has no "producer gone" (anyone may publish at any
        time), so the loop never ends by itself: leave it with ``break``,
        ``return`` or an exception. Errors of claim() propagate. The caller
        still settles each claim (ack, nack or reject; ``with claim:``
        nacks one left unsettled) before the loop asks for the next one.
        To stop once nothing comes for a while: :meth:`claims` with a
        timeout."""
        return self.claims(None)


class ClaimHeaders:
    """The headers of a claimed message, looked up by key.

    ``headers["content-type"]``, ``headers.get("schema-id")``,
    ``"producer" in headers``. Besides those published, ``published-at``
    (ns since the epoch, from the id) and, for a file taken from incoming/,
    ``original-name``. Values are str (UTF-8, undecodable bytes escaped).

    Lookup only: the C ABI answers one key at a time and cannot list the
    keys a message has, so this is not a dict (no len(), no iteration);
    :meth:`known` collects the well-known keys.
    """

    #: The keys docs/file-drop.md names.
    WELL_KNOWN = (
        "content-type",
        "correlation-id",
        "schema-id",
        "producer",
        "idempotency-key",
        "original-name",
        "published-at",
    )

    def __init__(self, claim: Claim) -> None:
        self._claim = claim

    def get(self, key: Text, default: Optional[str] = None) -> Optional[str]:
        """The value of header `key` (str), or `default` if there is none."""
        value = c_char_p()
        rc = lib.ringdrop_drop_claim_header(
            self._claim._h(), _text(key, "a header key"), ctypes.byref(value)
        )
        if rc == errors.ENOTFOUND:
            return default
        _check(rc)
        return value.value.decode("utf-8", "surrogateescape")  # type: ignore[union-attr]

    def __getitem__(self, key: Text) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: Text) -> bool:
        return self.get(key) is not None

    def known(self, *extra: str) -> Dict[str, str]:
        """A dict of the well-known keys (and the `extra` ones) this message
        has."""
        found: Dict[str, str] = {}
        for key in self.WELL_KNOWN + tuple(extra):
            value = self.get(key)
            if value is not None:
                found[key] = value
        return found

    def __repr__(self) -> str:
        return "<ringdrop.ClaimHeaders %r>" % (self.known(),)


class Claim(_Handle):
    """One claimed message, held under a lease until it is settled.

    Read it: :attr:`id`, :attr:`attempt` (1 on the first delivery),
    :attr:`headers`, :attr:`data` (bytes, a copy), :meth:`view` (a
    read-only memoryview of the file mapped in place), :attr:`path`.
    :meth:`reply` answers a request in the channel its reply-to names.
    Settle it once: :meth:`ack` (done), :meth:`nack` (failed this time:
    retried after a backoff, a dead letter after max_attempts),
    :meth:`reject` (failed for good: a dead letter now). :meth:`extend`
    renews the lease while processing takes long.

    As a context manager: leaving the ``with`` block without settling nacks
    the message — the safe choice, at-least-once: it is delivered again
    after the backoff (and becomes a dead letter after max_attempts), never
    lost and never acked by accident. The reason recorded is the exception
    that left the block, or "abandoned: ...". Then the claim is closed.
    close() (or garbage collection) of an unsettled claim also nacks it
    (the library's "abandoned").
    """

    _kind = "claim"

    def __init__(self, handle: object) -> None:
        self._set(handle)
        self.settled = False
        self._views: List[memoryview] = []
        self._data: Optional[bytes] = None
        text = c_char_p()
        _check(lib.ringdrop_drop_claim_id(handle, ctypes.byref(text)))
        self.id: str = text.value.decode("ascii")  # type: ignore[union-attr]
        attempt = c_uint()
        _check(lib.ringdrop_drop_claim_attempt(handle, ctypes.byref(attempt)))
        self.attempt = attempt.value

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("settled" if self.settled else "held")
        return "<ringdrop.Claim %s attempt %d, %s>" % (self.id, self.attempt, state)

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Frees the claim; one never settled is nacked ("abandoned").
        Views from view() become unusable. Closing twice is harmless."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        views, self._views = self._views, []
        for view in views:
            _release_view(view)
        lib.ringdrop_drop_claim_close(handle)

    def __exit__(  # type: ignore[override]  # Handle's takes any arguments
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> Literal[False]:
        if not self.closed and not self.settled:
            if exc_type is None:
                reason = "abandoned: the with block ended without ack, nack or reject"
            else:
                reason = "%s: %s" % (exc_type.__name__, exc)
            try:
                self.nack(" ".join(reason.split())[:1000])  # one line
            except errors.RingdropError:
                pass  # e.g. LeaseLost: the message is back in the channel anyway
        self.close()
        return False

    # ------------------------------------------------------------- reading

    @property
    def headers(self) -> ClaimHeaders:
        """The message's headers (:class:`ClaimHeaders`, lookup by key)."""
        # Made on each access: a ClaimHeaders stored here would be a
        # reference cycle, and an unclosed claim dropped by its last owner
        # would keep its lease until the cycle collector ran.
        return ClaimHeaders(self)

    def header(self, key: Text, default: Optional[str] = None) -> Optional[str]:
        """The value of header `key`, or `default`."""
        return self.headers.get(key, default)

    @property
    def path(self) -> str:
        """The message file's current path under work/ (it changes when the
        lease is extended)."""
        text = c_char_p()
        _check(lib.ringdrop_drop_claim_path(self._h(), ctypes.byref(text)))
        return os.fsdecode(text.value)  # type: ignore[arg-type]

    def _mapped(self) -> Tuple[Optional[int], int]:
        pointer, size = c_void_p(), c_ulonglong()
        _check(lib.ringdrop_drop_claim_data(self._h(), ctypes.byref(pointer), ctypes.byref(size)))
        return pointer.value, size.value

    def view(self) -> memoryview:
        """The content as a read-only memoryview of the file mapped in
        place (no copy), valid until the claim is closed; after that it
        raises ValueError. Slices and objects built on it are not revoked:
        copy what must outlive the claim.

        Like :attr:`data`, it reads the mapping: a file that another process
        truncates while it is mapped raises SIGBUS when the lost pages are
        read (the C ABI has no copying read). Channels fed by untrusted
        uploaders are better read with ``open(claim.path, "rb")``."""
        pointer, size = self._mapped()
        if size == 0 or not pointer:
            return memoryview(b"")
        view = memoryview((ctypes.c_char * size).from_address(pointer)).cast("B").toreadonly()
        self._views.append(view)
        return view

    @property
    def data(self) -> bytes:
        """The content, copied out as bytes (read once, then cached)."""
        if self._data is None:
            pointer, size = self._mapped()
            self._data = ctypes.string_at(pointer, size) if size and pointer else b""
        return self._data

    @property
    def size(self) -> int:
        """The content's size in bytes."""
        return self._mapped()[1]

    def reply(self, data: Buffer, headers: Optional[Headers] = None) -> str:
        """Publishes `data` as the reply to this request into the channel
        its `reply-to` header names (an existing channel's directory, an
        absolute path); returns the reply's id. The reply carries
        `correlation-id` (this message's, else its id), `request-id` (its
        id), an `idempotency-key` ("reply-<id>", unless `headers` sets one:
        a request answered twice, its consumer having died before the ack,
        is processed once at the other end) and `headers`. Reply first, then
        ack. Raises InvalidArgument (no reply-to, or not absolute), NotFound
        (no channel there: none is made), NoSpace..."""
        keys, values, count = _header_arrays(headers)
        pointer, size = _bytes_arg(data)
        out = ctypes.create_string_buffer(DROP_ID_MAX)
        _check(lib.ringdrop_drop_reply(self._h(), pointer, size, keys, values, count, out, DROP_ID_MAX))
        return out.value.decode("ascii")

    # ------------------------------------------------------------ settling

    def _settle(self, rc: int) -> None:
        if rc == errors.ELEASELOST:
            # Another consumer took the message back: nothing more to do here.
            self.settled = True
        _check(rc)
        self.settled = True

    def ack(self) -> None:
        """Done: the message is deleted (or archived). LeaseLost when the
        lease had expired and the message went back (its key is recorded,
        so the other copy is skipped, not processed again)."""
        self._settle(lib.ringdrop_drop_claim_ack(self._h()))

    def nack(self, reason: Text = "") -> None:
        """Failed this time: delivered again after the backoff, or a dead
        letter (with `reason`) if this was the last attempt."""
        self._settle(lib.ringdrop_drop_claim_nack(self._h(), _text(reason, "reason")))

    def reject(self, reason: Text = "") -> None:
        """Failed for good: a dead letter now, with `reason`."""
        self._settle(lib.ringdrop_drop_claim_reject(self._h(), _text(reason, "reason")))

    def extend(self, lease: Optional[float] = None) -> None:
        """Heartbeat: the lease now ends `lease` seconds from now (None: the
        channel's lease). LeaseLost when another consumer took the message
        back meanwhile."""
        ms = 0 if lease is None else _ms(lease, "lease")
        _check(lib.ringdrop_drop_claim_extend(self._h(), ms))

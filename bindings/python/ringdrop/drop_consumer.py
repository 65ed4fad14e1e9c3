"""The consuming side of the file-drop channel: a :class:`DropConsumer`
claims messages, a :class:`Claim` reads and settles one, and
:class:`ClaimHeaders` looks up its headers (ringdrop_drop_consumer_* and
ringdrop_drop_claim_* of the C ABI). Made by :meth:`DropChannel.consumer`
(drop.py); see there for the whole picture.
"""

from __future__ import annotations

import ctypes
import os
from types import TracebackType
from typing import TYPE_CHECKING, Dict, Iterator, List, Literal, Optional, Tuple, Type

from . import errors
from ._drop_abi import DROP_ID_MAX, ClaimPtr, ConsumerPtr
from ._drop_abi import ms as _ms
from ._lib import Buffer, Headers, Text
from ._lib import Handle as _Handle
from ._lib import c_char_p, c_uint, c_ulonglong, c_void_p, lib
from ._lib import header_arrays as _header_arrays
from ._lib import text_arg as _text
from .errors import check as _check
from .ring import _bytes_arg, _release_view, _sliced

if TYPE_CHECKING:
    from .drop import DropChannel

__all__ = ["DropConsumer", "Claim", "ClaimHeaders"]


class DropConsumer(_Handle):
    """A consumer of a :class:`DropChannel`: any number of them, in any
    processes, compete for its messages. A context manager.

    Iterable: ``for claim in consumer:`` yields each claim as
    ``claim(timeout=None)`` returns it (see :meth:`__iter__`)."""

    _kind = "drop consumer"

    def __init__(self, channel: DropChannel) -> None:
        handle = ConsumerPtr()
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
        claim = ClaimPtr()
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

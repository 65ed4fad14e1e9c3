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
from typing import List, Optional, Union

from . import errors
from ._drop_abi import DROP_ID_MAX, DropOptions, DropPtr
from ._drop_abi import ms as _ms
from ._lib import Buffer, FsPath, Headers, Text
from ._lib import Handle as _Handle
from ._lib import c_int, c_ulong, lib
from ._lib import header_arrays as _header_arrays
from ._lib import text_arg as _text
from .drop_consumer import Claim, ClaimHeaders, DropConsumer
from .errors import check as _check
from .ring import _bytes_arg, _fsname, _sliced

__all__ = [
    "DropChannel",
    "DropConsumer",
    "Claim",
    "ClaimHeaders",
    "Completion",
    "Discovery",
    "Receipt",
    "DROP_ID_MAX",
]


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
        options = DropOptions()
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
        handle = DropPtr()
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

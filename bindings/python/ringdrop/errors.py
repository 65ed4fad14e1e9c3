"""Error codes of the C ABI and the exceptions they become.

Every failing call raises a :class:`RingdropError` subclass chosen by the
RINGDROP_E* code. The exception carries the code (``.code``, negative, as in
ringdrop.h), the library's short description of it (``.description``,
``ringdrop_strerror``) and the detail of this failure (``.detail``,
``ringdrop_last_error_message``: which name, which field, which system call)
and, when a system call failed, its errno (``.errno``,
``ringdrop_last_error_errno``; None otherwise).

Where a built-in exception means the same, the class derives from it too,
so that code written for the standard library catches it:

    =================  ==================
    TimedOut           TimeoutError
    NotFound           FileNotFoundError
    PermissionDenied   PermissionError
    AlreadyExists      FileExistsError
    WouldBlock         BlockingIOError
    InvalidArgument    ValueError
    OutOfMemory        MemoryError
    =================  ==================

``except ringdrop.RingdropError`` still catches every one. The OSError
subclasses among them keep ringdrop's constructor and attributes: ``str(e)``
is the description and detail, ``e.args`` that one string, ``e.errno`` the
errno behind the failure or None (never the negative ringdrop code, which is
``e.code``); OSError's ``strerror`` and ``filename`` stay None.

The codes and classes must match lib/include/ringdrop/error_table.h, the one
table of codes: tests/test_errors.py checks that they do.
"""

from __future__ import annotations

from ctypes import c_int
from typing import Any, Dict, Optional, Tuple, Type

from ._lib import declare, lib

declare({"ringdrop_last_error_errno": (c_int, [])})

# The RINGDROP_E* codes of ringdrop.h (error_table.h, negated).
OK = 0
EWOULDBLOCK = -1
ETIMEDOUT = -2
EDEADLINE = -3
EPEERGONE = -4
EROLETAKEN = -5
EMESSAGELOST = -6
EBADMESSAGE = -7
EMSGSIZE = -8
ECORRUPTED = -9
EFOREIGN = -10
EINCOMPATIBLE = -11
EWRONGKIND = -12
ECAPACITY = -13
EPERM = -14
ENOTFOUND = -15
EEXISTS = -16
EINVAL = -17
ENOSPACE = -18
ELEASELOST = -19
EUNSAFEFILE = -20
EREMOTE = -21
ECIRCUITOPEN = -22
EUNKNOWNTYPE = -23
EDEADLETTERED = -24
ESYSTEM = -100
ENOMEM = -101
EINTERNAL = -102


def strerror(code: int) -> str:
    """The library's short description of `code` (0 or a RINGDROP_E* code)."""
    return lib.ringdrop_strerror(code).decode("utf-8", "replace")


def last_error_message() -> str:
    """The detail of the last failure of a ringdrop call on this thread ("" if none)."""
    return lib.ringdrop_last_error_message().decode("utf-8", "replace")


def last_error_errno() -> int:
    """The errno behind the last failure of a ringdrop call on this thread, or
    0 if that failure came from no system call."""
    return lib.ringdrop_last_error_errno()


class RingdropError(Exception):
    """A ringdrop call failed (the base class of every ringdrop error).

    Attributes:
        code: the negative RINGDROP_E* code.
        description: ``ringdrop_strerror(code)``.
        detail: ``ringdrop_last_error_message()`` right after the failure.
        errno: ``ringdrop_last_error_errno()`` right after the failure, or
            None when no system call failed (as for OSError).
    """

    # Optional, like OSError's in current typeshed; the OSError subclasses
    # below silence the base-class conflict older stubs (errno: int) report.
    errno: Optional[int] = None

    def __init__(self, code: int, detail: str = "", description: Optional[str] = None) -> None:
        self.code = code
        self.detail = detail
        self.description = strerror(code) if description is None else description
        message = self.description
        if detail:
            message = "%s: %s" % (message, detail)
        # One argument, also for the OSError subclasses: OSError reads two
        # to five arguments as (errno, strerror, filename, ...) and would
        # then print "[Errno ...]" with ringdrop's negative code as errno.
        # (The `errno` class attribute above shadows OSError's own.)
        super().__init__(message)

    def __reduce__(self) -> Tuple[Any, ...]:  # picklable (e.g. through multiprocessing); state: errno
        return (self.__class__, (self.code, self.detail, self.description), self.__dict__)


class WouldBlock(RingdropError, BlockingIOError):  # type: ignore[misc]  # errno: see RingdropError
    """Nothing to read or no room now (RINGDROP_EWOULDBLOCK); also a
    BlockingIOError."""


class TimedOut(RingdropError, TimeoutError):  # type: ignore[misc]  # errno: see RingdropError
    """The wait's timeout passed; nothing was lost (RINGDROP_ETIMEDOUT);
    also a TimeoutError."""


class DeadlinePassed(RingdropError):
    """A message's own deadline passed (RINGDROP_EDEADLINE)."""


class PeerGone(RingdropError):
    """The peer process died or left, and everything it sent has been read
    (RINGDROP_EPEERGONE)."""


class RoleTaken(RingdropError):
    """Another live process holds the role (RINGDROP_EROLETAKEN)."""


class MessageLost(RingdropError):
    """A message is known to be lost (RINGDROP_EMESSAGELOST); for a broadcast
    subscriber, :attr:`Ring.last_missed` says how many."""


class BadMessage(RingdropError):
    """Malformed, truncated or of the wrong type (RINGDROP_EBADMESSAGE)."""


class MessageTooLarge(RingdropError):
    """Larger than the ring can ever hold, or than the buffer given
    (RINGDROP_EMSGSIZE). ``.size_needed`` is the message's size when the
    failure was a too-small receive buffer, else None."""

    def __init__(
        self, code: int, detail: str = "", description: Optional[str] = None, size_needed: Optional[int] = None
    ) -> None:
        super().__init__(code, detail, description)
        self.size_needed = size_needed

    def __reduce__(self) -> Tuple[Any, ...]:
        return (self.__class__, (self.code, self.detail, self.description, self.size_needed),
                self.__dict__)


class Corrupted(RingdropError):
    """The segment is damaged (RINGDROP_ECORRUPTED)."""


class ForeignSegment(RingdropError):
    """Not a ringdrop segment (RINGDROP_EFOREIGN)."""


class IncompatibleLayout(RingdropError):
    """Another layout version (RINGDROP_EINCOMPATIBLE)."""


class WrongKind(RingdropError):
    """The ring exists but is of another kind (RINGDROP_EWRONGKIND)."""


class CapacityMismatch(RingdropError):
    """The ring exists with another capacity than asked for (RINGDROP_ECAPACITY)."""


class PermissionDenied(RingdropError, PermissionError):  # type: ignore[misc]  # errno: see RingdropError
    """Permission denied (RINGDROP_EPERM); also a PermissionError."""


class NotFound(RingdropError, FileNotFoundError):  # type: ignore[misc]  # errno: see RingdropError
    """No such ring, channel, service or message (RINGDROP_ENOTFOUND); also
    a FileNotFoundError."""


class AlreadyExists(RingdropError, FileExistsError):  # type: ignore[misc]  # errno: see RingdropError
    """It already exists (RINGDROP_EEXISTS); also a FileExistsError."""


class InvalidArgument(RingdropError, ValueError):
    """A bad argument, name or option (RINGDROP_EINVAL); also a ValueError."""


class NoSpace(RingdropError):
    """The disk or a quota is full (RINGDROP_ENOSPACE)."""


class LeaseLost(RingdropError):
    """A drop-channel claim's lease expired (RINGDROP_ELEASELOST)."""


class UnsafeFile(RingdropError):
    """A symlink, FIFO, hard link... refused (RINGDROP_EUNSAFEFILE)."""


class RemoteError(RingdropError):
    """The server answered with an error of its own (RINGDROP_EREMOTE):
    ``.remote_code`` and ``.remote_text`` are the server's."""

    remote_code: int
    remote_text: str


class CircuitOpen(RingdropError):
    """The service failed recently; the call was not sent (RINGDROP_ECIRCUITOPEN)."""


class UnknownType(RingdropError):
    """A message type nobody handles (RINGDROP_EUNKNOWNTYPE)."""


class DeadLettered(RingdropError):
    """Set aside as a dead letter: it crashed max_deliveries consumers (a
    request: servers), or was rejected (RINGDROP_EDEADLETTERED)."""


class SystemFailure(RingdropError):
    """An operating-system error no other code names (RINGDROP_ESYSTEM)."""


class OutOfMemory(RingdropError, MemoryError):
    """Out of memory (RINGDROP_ENOMEM); also a MemoryError."""


class InternalError(RingdropError):
    """A bug in ringdrop: please report it (RINGDROP_EINTERNAL)."""


_CLASSES: Dict[int, Type[RingdropError]] = {
    EWOULDBLOCK: WouldBlock,
    ETIMEDOUT: TimedOut,
    EDEADLINE: DeadlinePassed,
    EPEERGONE: PeerGone,
    EROLETAKEN: RoleTaken,
    EMESSAGELOST: MessageLost,
    EBADMESSAGE: BadMessage,
    EMSGSIZE: MessageTooLarge,
    ECORRUPTED: Corrupted,
    EFOREIGN: ForeignSegment,
    EINCOMPATIBLE: IncompatibleLayout,
    EWRONGKIND: WrongKind,
    ECAPACITY: CapacityMismatch,
    EPERM: PermissionDenied,
    ENOTFOUND: NotFound,
    EEXISTS: AlreadyExists,
    EINVAL: InvalidArgument,
    ENOSPACE: NoSpace,
    ELEASELOST: LeaseLost,
    EUNSAFEFILE: UnsafeFile,
    EREMOTE: RemoteError,
    ECIRCUITOPEN: CircuitOpen,
    EUNKNOWNTYPE: UnknownType,
    EDEADLETTERED: DeadLettered,
    ESYSTEM: SystemFailure,
    ENOMEM: OutOfMemory,
    EINTERNAL: InternalError,
}


def error_class(code: int) -> Type[RingdropError]:
    """The exception class for RINGDROP_E* `code` (RingdropError if unknown)."""
    return _CLASSES.get(code, RingdropError)


def make_error(code: int, **extra: Any) -> RingdropError:
    """The exception for a failed call's `code`, with this thread's detail
    and errno.

    Must be called right after the failing call, on the same thread."""
    e = error_class(code)(code, last_error_message(), **extra)
    err = last_error_errno()
    if err:
        e.errno = err
    return e


def check(code: int) -> int:
    """Raises the matching exception if `code` is negative; returns it otherwise."""
    if code < 0:
        raise make_error(code)
    return code

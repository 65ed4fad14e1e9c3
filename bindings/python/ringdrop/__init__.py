"""ringdrop for Python: a pure-Python (ctypes) binding of libringdrop's C ABI.

    import ringdrop

    with ringdrop.Ring("orders", "spsc", "producer", capacity=1 << 20) as tx:
        tx.send(b"hello", timeout=1.0)

    with ringdrop.Ring("orders", "spsc", "consumer", "open") as rx:
        try:
            print(rx.receive(timeout=0.5))
        except ringdrop.TimedOut:
            pass

The C library is loaded from $RINGDROP_LIBRARY if set, else from the path
an install of the package recorded, else found as "ringdrop" by
ctypes.util.find_library, else as libringdrop.so.0. See
bindings/python/README.md and bindings/c/include/ringdrop.h.
"""

from __future__ import annotations

from . import _config, errors
from ._lib import lib as _clib
from .errors import (
    AlreadyExists,
    BadMessage,
    CapacityMismatch,
    CircuitOpen,
    Corrupted,
    DeadlinePassed,
    ForeignSegment,
    IncompatibleLayout,
    InternalError,
    InvalidArgument,
    LeaseLost,
    MessageLost,
    MessageTooLarge,
    NoSpace,
    NotFound,
    OutOfMemory,
    PeerGone,
    PermissionDenied,
    RemoteError,
    RingdropError,
    RoleTaken,
    SystemFailure,
    TimedOut,
    UnknownType,
    DeadLettered,
    UnsafeFile,
    WouldBlock,
    WrongKind,
    error_class,
    last_error_message,
    strerror,
)
from .ring import (
    Consumer,
    How,
    Kind,
    Producer,
    Ring,
    Role,
    WaitMode,
    dead_letter_dir,
    remove,
    requeue_dead_letter,
)
from .drop import Completion, Discovery, DropChannel, Receipt
from .drop_consumer import Claim, ClaimHeaders, DropConsumer
from .rpc import (
    HANDLER_FAILED,
    Client,
    HandlerError,
    Message,
    MessageKind,
    ReplyQueue,
    Server,
    SharedReply,
    build_message,
    send_message,
)


def version() -> int:
    """The version of the loaded library as one number, major * 10000 +
    minor * 100 + patch (RINGDROP_VERSION of the library)."""
    return _clib.ringdrop_version()


def version_string() -> str:
    """The version of the loaded library as text, e.g. "0.1.0"."""
    return _clib.ringdrop_version_string().decode("ascii")


def library_path() -> str:
    """The path or name the C library was loaded from."""
    return _clib._name


# The package's version: what its install recorded, else (a source tree) the
# loaded library's. version_string() is always the library's.
__version__ = _config.VERSION or version_string()

__all__ = [
    "version",
    "version_string",
    "library_path",
    "errors",
    "strerror",
    "last_error_message",
    "error_class",
    "Ring",
    "Producer",
    "Consumer",
    "Kind",
    "Role",
    "How",
    "WaitMode",
    "remove",
    "dead_letter_dir",
    "requeue_dead_letter",
    "DropChannel",
    "DropConsumer",
    "Claim",
    "ClaimHeaders",
    "Completion",
    "Discovery",
    "Receipt",
    "Message",
    "MessageKind",
    "build_message",
    "send_message",
    "Client",
    "Server",
    "ReplyQueue",
    "SharedReply",
    "HandlerError",
    "HANDLER_FAILED",
    "RingdropError",
    "WouldBlock",
    "TimedOut",
    "DeadlinePassed",
    "PeerGone",
    "RoleTaken",
    "MessageLost",
    "BadMessage",
    "MessageTooLarge",
    "Corrupted",
    "ForeignSegment",
    "IncompatibleLayout",
    "WrongKind",
    "CapacityMismatch",
    "PermissionDenied",
    "NotFound",
    "AlreadyExists",
    "InvalidArgument",
    "NoSpace",
    "LeaseLost",
    "UnsafeFile",
    "RemoteError",
    "CircuitOpen",
    "UnknownType",
    "DeadLettered",
    "SystemFailure",
    "OutOfMemory",
    "InternalError",
]

"""Loading libringdrop.so and declaring the C prototypes (ringdrop.h), and
the ctypes plumbing the modules share: declaring a module's own prototypes
(:func:`declare`), str/bytes arguments (:func:`text_arg`), header arrays
(:func:`header_arrays`) and the owner of a C handle (:class:`Handle`).

Nothing here is public: use the names exported by the ``ringdrop`` package.

The library is looked up, in order, at ``$RINGDROP_LIBRARY`` (a path), then
at the path an install recorded (``_config.LIBRARY``), then through
:func:`ctypes.util.find_library` ("ringdrop"), then as ``libringdrop.so.0``
on the dynamic loader's search path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import TYPE_CHECKING, Any, Iterable, List, Literal, Mapping, Optional, Tuple, TypeVar, Union

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

# The types of the public API's arguments, for annotations.
#: A name: str, or bytes as the C ABI takes it.
Text = Union[str, bytes]
#: A file-system name: str, bytes or a path object (os.fsencode).
FsPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
#: Headers: a mapping, or (key, value) pairs.
Headers = Union[Mapping[str, Text], Mapping[bytes, Text], Iterable[Tuple[Text, Text]]]
if TYPE_CHECKING:
    #: bytes or any bytes-like object; a writable one.
    Buffer = ReadableBuffer
    WritableBuffer = WriteableBuffer
else:  # the checker's exact types exist only in typeshed (_typeshed)
    Buffer = Union[bytes, bytearray, memoryview]
    WritableBuffer = Union[bytearray, memoryview]

from . import _config

# The major version this binding speaks: the SONAME is libringdrop.so.<major>.
ABI_MAJOR = 0

c_int = ctypes.c_int
c_uint = ctypes.c_uint
c_ulong = ctypes.c_ulong
c_longlong = ctypes.c_longlong
c_ulonglong = ctypes.c_ulonglong
c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p

# The largest timeout a long long can hold: about 292 years.
MAX_TIMEOUT_NS = (1 << 63) - 1


class RingOptions(ctypes.Structure):
    """struct ringdrop_ring_options; fields in header order, never reordered."""

    _fields_ = [
        ("size", c_ulong),
        ("capacity", c_ulonglong),
        ("cell_size", c_uint),
        ("file_backed", c_int),
        ("wait_mode", c_int),
        ("spin_ns", c_longlong),
        ("liveness_ns", c_longlong),
        ("overwrite", c_int),
        ("drop_on_consumer_death", c_int),
        ("start_at_oldest", c_int),
        ("mode", c_uint),
        ("max_deliveries", c_uint),
        ("dead_letters", c_char_p),
    ]


class _RingHandle(ctypes.Structure):
    """The opaque struct ringdrop_ring (only ever used through a pointer)."""


RingPtr = ctypes.POINTER(_RingHandle)

# name: (restype, argtypes), one entry per function of ringdrop.h.
_PROTOTYPES = {
    # versions
    "ringdrop_version": (c_int, []),
    "ringdrop_version_string": (c_char_p, []),
    # errors
    "ringdrop_strerror": (c_char_p, [c_int]),
    "ringdrop_last_error_message": (c_char_p, []),
    # rings
    "ringdrop_ring_options_init": (None, [ctypes.POINTER(RingOptions)]),
    "ringdrop_ring_options_init_size": (None, [ctypes.POINTER(RingOptions), c_ulong]),
    "ringdrop_ring_open": (
        c_int,
        [c_char_p, c_int, c_int, c_int, ctypes.POINTER(RingOptions), ctypes.POINTER(RingPtr)],
    ),
    "ringdrop_ring_close": (None, [RingPtr]),
    "ringdrop_ring_remove": (c_int, [c_char_p, c_int]),
    "ringdrop_ring_max_message_size": (c_int, [RingPtr, ctypes.POINTER(c_ulonglong)]),
    "ringdrop_ring_send": (c_int, [RingPtr, c_void_p, c_ulonglong, c_longlong]),
    "ringdrop_ring_receive": (
        c_int,
        [RingPtr, c_void_p, c_ulonglong, ctypes.POINTER(c_ulonglong), c_longlong],
    ),
    "ringdrop_ring_reserve": (c_int, [RingPtr, c_ulonglong, c_longlong, ctypes.POINTER(c_void_p)]),
    "ringdrop_ring_commit": (c_int, [RingPtr, c_ulonglong]),
    "ringdrop_ring_read": (
        c_int,
        [RingPtr, c_longlong, ctypes.POINTER(c_void_p), ctypes.POINTER(c_ulonglong)],
    ),
    "ringdrop_ring_release": (c_int, [RingPtr]),
    "ringdrop_ring_last_missed": (c_int, [RingPtr, ctypes.POINTER(c_ulonglong)]),
    "ringdrop_ring_delivery_count": (c_int, [RingPtr, ctypes.POINTER(c_uint)]),
    "ringdrop_ring_reject": (c_int, [RingPtr, c_char_p]),
    "ringdrop_ring_dead_letter_dir": (
        c_int,
        [c_char_p, c_int, ctypes.c_char_p, c_ulong, ctypes.POINTER(c_ulong)],
    ),
    "ringdrop_ring_dead_letter_requeue": (c_int, [c_char_p, c_int, c_char_p, c_char_p, c_longlong]),
}


def _candidates() -> List[str]:
    explicit = os.environ.get("RINGDROP_LIBRARY")
    if explicit:
        # An explicit choice is the only one tried: a wrong path should fail
        # loudly, not fall back to some other copy of the library.
        return [explicit]
    names = []
    if _config.LIBRARY and os.path.exists(_config.LIBRARY):
        # The copy installed with this package (cmake --install, the
        # python3-ringdrop Debian package): found with no environment.
        names.append(_config.LIBRARY)
    found = ctypes.util.find_library("ringdrop")
    if found:
        names.append(found)
    names.append("libringdrop.so.%d" % ABI_MAJOR)
    return names


def _load() -> ctypes.CDLL:
    """The first candidate that loads and speaks ABI_MAJOR: a library of
    another major version (find_library's pick, say) is passed over for
    the next candidate, not taken."""
    errors: List[str] = []
    for name in _candidates():
        try:
            found = ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
            continue
        version = getattr(found, "ringdrop_version", None)
        if version is None:
            errors.append("%s has no ringdrop_version" % name)
            continue
        version.restype = c_int
        version.argtypes = []
        major = version() // 10000
        if major != ABI_MAJOR:
            errors.append("%s is major version %d, this binding speaks %d" % (name, major, ABI_MAJOR))
            continue
        return found
    raise ImportError(
        "ringdrop: cannot load the C library (set RINGDROP_LIBRARY to the path "
        "of libringdrop.so.%d): %s" % (ABI_MAJOR, "; ".join(errors))
    )


def _declare(lib: ctypes.CDLL, prototypes: Mapping[str, Tuple[Any, Any]]) -> ctypes.CDLL:
    """Sets restype and argtypes of each `prototypes` entry, name: (restype,
    argtypes), on `lib`; ImportError if the library lacks one."""
    for name, (restype, argtypes) in prototypes.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError("ringdrop: %s lacks %s (too old a library?)" % (lib._name, name))
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


lib = _declare(_load(), _PROTOTYPES)


def declare(prototypes: Mapping[str, Tuple[Any, Any]]) -> None:
    """Declares a module's part of ringdrop.h (name: (restype, argtypes)) on
    the shared library object."""
    _declare(lib, prototypes)


def text_arg(value: object, what: str, paths: bool = False) -> bytes:
    """A str or bytes argument (with `paths`, also an os.PathLike) as the
    NUL-free bytes the C ABI takes; `what` names it in the errors."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif paths and isinstance(value, os.PathLike):
        value = os.fsencode(value)
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError("%s must be str or bytes, not %r" % (what, type(value).__name__))
    value = bytes(value)
    if b"\0" in value:
        raise ValueError("%s cannot contain NUL bytes: %r" % (what, value))
    return value


def header_arrays(
    headers: Optional[Headers], paths: bool = False
) -> Tuple[Optional[ctypes.Array[ctypes.c_char_p]], Optional[ctypes.Array[ctypes.c_char_p]], int]:
    """(keys, values, count) C arrays for a mapping (or pairs) of headers,
    each converted by :func:`text_arg`. The arrays hold the bytes objects
    alive as long as they live."""
    if not headers:
        return None, None, 0
    items = list(headers.items()) if hasattr(headers, "items") else list(headers)
    keys = (c_char_p * len(items))()
    values = (c_char_p * len(items))()
    for i, (key, value) in enumerate(items):
        keys[i] = text_arg(key, "a header key", paths)
        values[i] = text_arg(value, "a header value", paths)
    return keys, values, len(items)


_H = TypeVar("_H", bound="Handle")


class Handle:
    """Owns one C handle: closed once, usable only in the opening process.

    A subclass sets ``_kind`` (its name in errors), calls :meth:`_set` once
    the handle is open, gets it back through :meth:`_h`, and defines
    ``close()``, which the context manager and garbage collection call."""

    _handle: Any = None
    _kind = "handle"
    _pid: int

    if TYPE_CHECKING:
        def close(self) -> None: ...

    def _set(self, handle: Any) -> None:
        self._pid = os.getpid()
        self._handle = handle

    def _h(self) -> Any:
        handle = self._handle
        if handle is None:
            raise ValueError("operation on a closed %s" % self._kind)
        if self._pid != os.getpid():
            raise RuntimeError(
                "this %s belongs to process %d; after fork() open it again" % (self._kind, self._pid)
            )
        return handle

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._handle is None

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.close()
        return False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may be half gone
            pass

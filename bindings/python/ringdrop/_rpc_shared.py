"""What the client and the server of request/response share: opening an
endpoint by service name or ring location, callbacks run during a C call,
statistics structs.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Optional, Tuple, Type, TypeVar

from . import errors
from ._lib import FsPath
from .errors import check as _check
from .message import _text, _optional_text
from .ring import _ns


_S = TypeVar("_S", bound=ctypes.Structure)


def _completed(rc: int) -> bool:
    """True for success, False for RINGDROP_ETIMEDOUT; raises otherwise."""
    if rc == errors.ETIMEDOUT:
        return False
    _check(rc)
    return True


def _running_callbacks(owner: Any, call: Callable[[], int]) -> Tuple[int, Optional[BaseException]]:
    """(rc, raised) of call(), during which ctypes callbacks park what they
    raise in owner._raised (an exception must never go through ctypes)."""
    owner._raised = None
    rc = call()
    raised, owner._raised = owner._raised, None
    return rc, raised


def _stats(fn: Callable[..., int], handle: Any, struct: Type[_S]) -> _S:
    """The `struct` (sized) fn(handle, &stats) filled in."""
    s = struct()
    s.size = ctypes.sizeof(s)
    _check(fn(handle, ctypes.byref(s)))
    return s


def _check_endpoint(service: object, location: object) -> None:
    if (service is None) == (location is None):
        raise ValueError("give a service name or a location, not both")


def _endpoint_options(
    o: ctypes.Structure, registry_dir: Optional[FsPath], liveness_interval: Optional[float]
) -> None:
    """The options clients and servers share, set on their struct `o`."""
    if liveness_interval is not None:
        o.liveness_ns = _ns(liveness_interval, "liveness_interval")
    o.registry_dir = _optional_text(registry_dir, "registry_dir")


def _open_endpoint(service: object, location: object, by_name: Callable[..., int], by_location: Callable[..., int],
                   o: ctypes.Structure, pointer_type: Callable[[], Any]) -> Any:
    """A handle (`pointer_type`) opened with options `o` by service name
    (`by_name`) or by request ring location (`by_location`)."""
    handle = pointer_type()
    if service is not None:
        _check(by_name(_text(service, "service"), ctypes.byref(o), ctypes.byref(handle)))
    else:
        _check(by_location(_text(location, "location"), ctypes.byref(o), ctypes.byref(handle)))
    return handle

"""What the client and the server of request/response share: opening an
endpoint by service name or ring location, callbacks run during a C call,
statistics structs.
"""

import ctypes

from . import errors
from .errors import check as _check
from .message import _text, _optional_text
from .ring import _ns


def _completed(rc):
    """True for success, False for RINGDROP_ETIMEDOUT; raises otherwise."""
    if rc == errors.ETIMEDOUT:
        return False
    _check(rc)
    return True


def _running_callbacks(owner, call):
    """(rc, raised) of call(), during which ctypes callbacks park what they
    raise in owner._raised (an exception must never go through ctypes)."""
    owner._raised = None
    rc = call()
    raised, owner._raised = owner._raised, None
    return rc, raised


def _stats(fn, handle, struct):
    """The `struct` (sized) fn(handle, &stats) filled in."""
    s = struct()
    s.size = ctypes.sizeof(s)
    _check(fn(handle, ctypes.byref(s)))
    return s


def _check_endpoint(service, location):
    if (service is None) == (location is None):
        raise ValueError("give a service name or a location, not both")


def _endpoint_options(o, registry_dir, liveness_interval):
    """The options clients and servers share, set on their struct `o`."""
    if liveness_interval is not None:
        o.liveness_ns = _ns(liveness_interval, "liveness_interval")
    o.registry_dir = _optional_text(registry_dir, "registry_dir")


def _open_endpoint(service, location, by_name, by_location, o, pointer_type):
    """A handle (`pointer_type`) opened with options `o` by service name
    (`by_name`) or by request ring location (`by_location`)."""
    handle = pointer_type()
    if service is not None:
        _check(by_name(_text(service, "service"), ctypes.byref(o), ctypes.byref(handle)))
    else:
        _check(by_location(_text(location, "location"), ctypes.byref(o), ctypes.byref(handle)))
    return handle

"""The file-drop channel's part of ringdrop.h (ringdrop_drop_*): the options
struct, the opaque handle types and the prototypes, declared on the shared
library object of _lib. drop.py (the channel) and drop_consumer.py (the
consumer and its claims) use them. Nothing here is public.
"""

from __future__ import annotations

import ctypes

from ._lib import c_char_p, c_int, c_longlong, c_uint, c_ulong, c_ulonglong, c_void_p, declare
from .ring import _ns

#: RINGDROP_DROP_ID_MAX: room for a message id and its NUL.
DROP_ID_MAX = 129


def ms(seconds: float, what: str) -> int:
    """Seconds as whole milliseconds for the C ABI (negative: passed on, and
    refused by the library with InvalidArgument)."""
    return _ns(seconds, what) // 1_000_000


class DropOptions(ctypes.Structure):
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


class DropStruct(ctypes.Structure):
    """The opaque struct ringdrop_drop."""


class DropConsumerStruct(ctypes.Structure):
    """The opaque struct ringdrop_drop_consumer."""


class DropClaimStruct(ctypes.Structure):
    """The opaque struct ringdrop_drop_claim."""


DropPtr = ctypes.POINTER(DropStruct)
ConsumerPtr = ctypes.POINTER(DropConsumerStruct)
ClaimPtr = ctypes.POINTER(DropClaimStruct)
StrArray = ctypes.POINTER(c_char_p)
_P = ctypes.POINTER

# The drop-channel prototypes of ringdrop.h.
_PROTOTYPES = {
    "ringdrop_drop_options_init_size": (None, [_P(DropOptions), c_ulong]),
    "ringdrop_drop_open": (c_int, [c_char_p, _P(DropOptions), _P(DropPtr)]),
    "ringdrop_drop_close": (None, [DropPtr]),
    "ringdrop_drop_publish": (
        c_int,
        [DropPtr, c_void_p, c_ulonglong, StrArray, StrArray, c_ulong, c_char_p, c_ulong],
    ),
    "ringdrop_drop_reply": (
        c_int,
        [ClaimPtr, c_void_p, c_ulonglong, StrArray, StrArray, c_ulong, c_char_p, c_ulong],
    ),
    "ringdrop_drop_publish_file": (
        c_int,
        [DropPtr, c_char_p, StrArray, StrArray, c_ulong, c_char_p, c_ulong],
    ),
    "ringdrop_drop_dead_letters": (c_int, [DropPtr, c_char_p, c_ulong, _P(c_ulong)]),
    "ringdrop_drop_requeue": (c_int, [DropPtr, c_char_p]),
    "ringdrop_drop_purge": (c_int, [DropPtr, c_char_p]),
    "ringdrop_drop_receipt": (
        c_int,
        [DropPtr, c_char_p, c_char_p, c_longlong, _P(c_int), c_char_p, c_ulong],
    ),
    "ringdrop_drop_consumer_open": (c_int, [DropPtr, _P(ConsumerPtr)]),
    "ringdrop_drop_consumer_close": (None, [ConsumerPtr]),
    "ringdrop_drop_consumer_claim": (c_int, [ConsumerPtr, c_longlong, _P(ClaimPtr)]),
    "ringdrop_drop_claim_id": (c_int, [ClaimPtr, _P(c_char_p)]),
    "ringdrop_drop_claim_attempt": (c_int, [ClaimPtr, _P(c_uint)]),
    "ringdrop_drop_claim_header": (c_int, [ClaimPtr, c_char_p, _P(c_char_p)]),
    "ringdrop_drop_claim_path": (c_int, [ClaimPtr, _P(c_char_p)]),
    "ringdrop_drop_claim_data": (c_int, [ClaimPtr, _P(c_void_p), _P(c_ulonglong)]),
    "ringdrop_drop_claim_extend": (c_int, [ClaimPtr, c_longlong]),
    "ringdrop_drop_claim_ack": (c_int, [ClaimPtr]),
    "ringdrop_drop_claim_nack": (c_int, [ClaimPtr, c_char_p]),
    "ringdrop_drop_claim_reject": (c_int, [ClaimPtr, c_char_p]),
    "ringdrop_drop_claim_close": (None, [ClaimPtr]),
}

declare(_PROTOTYPES)

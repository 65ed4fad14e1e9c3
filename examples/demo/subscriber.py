#!/usr/bin/env python3
"""The Python subscriber of the demo (README.md): a script that follows the
order service's events, with the ringdrop package (bindings/python, ctypes
over libringdrop.so) and the standard library only.

    PYTHONPATH=bindings/python RINGDROP_LIBRARY=build/release/lib/libringdrop.so.0 \\
        python3 examples/demo/subscriber.py <ring-name> [--status-fd FD]

Subscribes to the broadcast ring <ring-name> (creating it if missing), prints the
orders, counts the ticks, and stops at the END event, which says how many
events came before it and their CRC-32: the script checks it got exactly
those, in order. Status lines for ringdrop-demo go to --status-fd ("ready"
once subscribed, then "result key=value ..."), else to stdout. Exit status 0
when everything checked out.
"""

import argparse
import os
import struct
import sys
import time
import zlib

import ringdrop

# The event of demo_event.h: 80 bytes, little-endian, no padding. Fixed
# bytes rather than Cap'n Proto because this side has no Cap'n Proto decoder
# (see demo_event.h).
EVENT = struct.Struct("<HHIQQqqqcB30s")
assert EVENT.size == 80
VERSION = 1
ACCEPTED, REJECTED, TICK, END = 1, 2, 3, 4
REASONS = {
    0: "",
    1: "malformed record",
    2: "quantity is zero",
    3: "amount sign does not match status",
    4: "not a calendar date",
    5: "unknown status",
}


def say(line, stream=None):
    """One line in one write(2): print() writes the text and its newline
    separately, and another process's line can land between the two."""
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


def percentile(values, p):
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ring")
    parser.add_argument("--status-fd", type=int, default=-1)
    args = parser.parse_args()
    status_out = os.fdopen(args.status_fd, "w", buffering=1) if args.status_fd >= 0 else None

    def status(line):
        if status_out is None:
            say("[python] status: " + line)
        else:
            status_out.write(line + "\n")

    events = orders = accepted = rejected = ticks = nbytes = tick_gaps = 0
    crc = 0
    first_order = last_order = first_tick = last_tick = 0
    latency, e2e = [], []
    ok = False

    # Start at the newest message, i.e. everything published from now on.
    # The ring exists when ringdrop-demo runs this (its cell size and policy
    # are kept); by hand, the first subscriber creates it with the defaults.
    with ringdrop.Ring(args.ring, "broadcast", "subscriber", "open_or_create") as ring:
        say("[python] pid %d: subscribed to shm:%s" % (os.getpid(), args.ring))
        status("ready")
        while True:
            try:
                message = ring.receive(timeout=60)  # a bound for a broken service
            except ringdrop.RingdropError as e:  # PeerGone: the service left before END
                say("[python] FAIL: %s" % e, sys.stderr)
                break
            mono, wall = time.clock_gettime_ns(time.CLOCK_MONOTONIC), time.time_ns()
            if len(message) != EVENT.size:
                say("[python] FAIL: a %d-byte message is not an event" % len(message), sys.stderr)
                break
            (version, kind, quantity, seq, order_id, cents, dropped_wall, published_mono,
             status_letter, reason, customer) = EVENT.unpack(message)
            nbytes += len(message)
            if version != VERSION or seq != events:
                say("[python] FAIL: event %d (version %d) arrived as number %d"
                    % (seq, version, events), sys.stderr)
                break
            if kind == TICK:  # the hot path: no printing
                if order_id != ticks:
                    tick_gaps += 1
                if ticks == 0:
                    first_tick = mono
                last_tick = mono
                ticks += 1
            elif kind in (ACCEPTED, REJECTED):
                orders += 1
                if kind == ACCEPTED:
                    accepted += 1
                else:
                    rejected += 1
                if not first_order:
                    first_order = mono
                last_order = mono
                latency.append(mono - published_mono)
                if dropped_wall:
                    e2e.append(wall - dropped_wall)
                say("[python] event %3d: order %08d %s %s %9.2f x%-3d %s (%.1f us after publish)"
                    % (seq, order_id, customer.decode("ascii", "replace"),
                       status_letter.decode("ascii", "replace"), cents / 100.0, quantity,
                       "accepted" if kind == ACCEPTED else "rejected: " + REASONS.get(reason, "?"),
                       (mono - published_mono) / 1e3))
            elif kind == END:
                ok = (seq == events and cents == crc and quantity == orders
                      and order_id == ticks and tick_gaps == 0)
                say("[python] END: %d events (%d orders, %d ticks), CRC-32 %08x: %s"
                    % (events, orders, ticks, crc, "all received, in order" if ok else "MISMATCH"))
                break
            else:
                say("[python] FAIL: unknown event kind %d" % kind, sys.stderr)
                break
            crc = zlib.crc32(message, crc)
            events += 1

    status("result ok=%d events=%d orders=%d accepted=%d rejected=%d ticks=%d bytes=%d crc=%d"
           " first_order_mono=%d last_order_mono=%d first_tick_mono=%d last_tick_mono=%d"
           " lat_p50=%d lat_max=%d e2e_p50=%d e2e_max=%d"
           % (ok, events, orders, accepted, rejected, ticks, nbytes, crc, first_order, last_order,
              first_tick, last_tick, percentile(latency, 0.5), percentile(latency, 1.0),
              percentile(e2e, 0.5), percentile(e2e, 1.0)))
    if status_out is not None:
        status_out.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

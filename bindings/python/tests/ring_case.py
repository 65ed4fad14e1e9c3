"""What the ring tests share (test_ring.py, test_ring_processes.py): the
package on the path, unique ring names, and RingCase, whose rings are
closed and removed after each test. Not a test file itself.
"""

import os
import sys
import uuid
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)  # bindings/python: holds ringdrop/
PROJECT_CMAKELISTS = os.path.join(PACKAGE_ROOT, "..", "..", "CMakeLists.txt")
if PACKAGE_ROOT not in sys.path:
    sys.path.append(PACKAGE_ROOT)  # after PYTHONPATH: an installed package (ctest's) comes first

import ringdrop  # noqa: E402


def child_env():
    """The environment for a child Python process: the parent's package
    first (the installed one, under ctest), the source tree after it."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = (path + os.pathsep if path else "") + PACKAGE_ROOT
    return env


KINDS = ("spsc", "mpmc", "broadcast")
# Bounds a wait that ends as soon as the awaited thing happens; never
# reached by a correct library, so its size is no timing threshold.
LONG = 60.0


def unique_name(tag):
    return "rdpy-%s-%d-%s" % (tag, os.getpid(), uuid.uuid4().hex[:8])


class RingCase(unittest.TestCase):
    """Helpers: rings with unique names, removed and closed after the test."""

    def name(self, tag="t"):
        name = unique_name(tag)
        self.addCleanup(ringdrop.remove, name, missing_ok=True)
        return name

    def ring(self, *args, **kwargs):
        ring = ringdrop.Ring(*args, **kwargs)
        self.addCleanup(ring.close)
        return ring

    def pair(self, kind, **options):
        """A producer and a consumer on a new ring of `kind` (the consumer
        opened first, so that a broadcast subscriber sees everything)."""
        name = self.name(kind)
        rx = self.ring(name, kind, "consumer", "create", **options)
        tx = self.ring(name, kind, "producer", "open", **options)
        return tx, rx

"""Tests of the pure-Python binding's rings across processes: a producer
killed with SIGKILL (its consumer gets every committed message, then
PeerGone), waits in a child process, iteration ending when the producer
goes, and fork. In one process: test_ring.py.

Run by ctest (bindings/python/CMakeLists.txt), or by hand:

    RINGDROP_LIBRARY=build/release/lib/libringdrop.so.0 \\
        python3 -m unittest discover -s bindings/python/tests -p test_ring_processes.py -v

Standard library only. No sleeps and no timing thresholds: a child process
says it is ready on a line of its stdout, and timeouts only bound a wait
that a correct library ends early.
"""

import os
import signal
import subprocess
import sys
import textwrap
import unittest

from ring_case import KINDS, LONG, RingCase, child_env, ringdrop


CHILD = textwrap.dedent(
    """
    import sys
    import ringdrop

    name, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tx = ringdrop.Producer(name, kind, "open")
    for i in range(count):
        tx.send(b"message %d" % i, timeout=60)
    # Killed between reserve and commit: this one must not arrive.
    view = tx.reserve(16, 60)
    view[:] = b"never committed!"
    print("ready", flush=True)
    sys.stdin.read()  # until killed
    """
)


class CrossProcessTest(RingCase):
    def test_killed_producer_consumer_gets_everything_then_peer_gone(self):
        count = 100
        for kind in KINDS:
            with self.subTest(kind=kind):
                name = self.name(kind)
                rx = self.ring(name, kind, "consumer", "create", liveness_interval=0.001)
                child = subprocess.Popen(
                    [sys.executable, "-c", CHILD, name, kind, str(count)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=child_env(),
                )
                try:
                    line = child.stdout.readline()
                    if line != b"ready\n":
                        child.wait()
                        self.fail("child: %r %s" % (line, child.stderr.read().decode()))
                    os.kill(child.pid, signal.SIGKILL)
                    self.assertEqual(child.wait(), -signal.SIGKILL)
                finally:
                    if child.poll() is None:
                        child.kill()
                        child.wait()
                    for stream in (child.stdin, child.stdout, child.stderr):
                        stream.close()
                received = [rx.receive(LONG) for _ in range(count)]
                self.assertEqual(received, [b"message %d" % i for i in range(count)])
                with self.assertRaises(ringdrop.PeerGone) as caught:
                    rx.receive(LONG)
                self.assertEqual(caught.exception.code, ringdrop.errors.EPEERGONE)

    @unittest.skipUnless(os.path.exists("/proc/self/stat"), "needs /proc")
    def test_a_long_wait_lets_ctrl_c_through(self):
        name = self.name("sigint")
        tx = self.ring(name, "spsc", "producer", "create")  # alive: no PeerGone
        script = textwrap.dedent(
            """
            import math, signal, sys
            import ringdrop

            signal.signal(signal.SIGINT, signal.default_int_handler)
            rx = ringdrop.Consumer(sys.argv[1], "spsc", "open")
            try:
                print("waiting", flush=True)
                rx.receive(math.inf)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
            """
        )
        child = subprocess.Popen(
            [sys.executable, "-c", script, name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
        )
        try:
            self.assertEqual(child.stdout.readline(), b"waiting\n")
            # Wait until the child sleeps (in the ring's futex: it does
            # nothing else), so that the signal comes during the C call.
            while self.process_state(child.pid) not in ("S", "Z"):
                os.sched_yield()
            os.kill(child.pid, signal.SIGINT)
            out, err = child.communicate(timeout=LONG)  # a bound, not a measure
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        self.assertEqual(out, b"interrupted\n", err)
        self.assertEqual(child.returncode, 0)

    def test_timeout_none_waits_until_a_message_comes(self):
        name = self.name("none")
        tx = self.ring(name, "spsc", "producer", "create")
        script = textwrap.dedent(
            """
            import sys
            import ringdrop

            rx = ringdrop.Consumer(sys.argv[1], "spsc", "open")
            print("waiting", flush=True)
            print(rx.receive(timeout=None).decode(), flush=True)
            """
        )
        child = subprocess.Popen(
            [sys.executable, "-c", script, name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
        )
        try:
            self.assertEqual(child.stdout.readline(), b"waiting\n")
            # Send only once the child sleeps in its wait: a timeout of None
            # that raised or looked once would have ended it already (state
            # Z, and no message printed).
            while self.process_state(child.pid) not in ("S", "Z"):
                os.sched_yield()
            tx.send(b"worth the wait", timeout=None)
            out, err = child.communicate(timeout=LONG)  # a bound, not a measure
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        self.assertEqual(out, b"worth the wait\n", err)
        self.assertEqual(child.returncode, 0)

    def test_iteration_follows_a_producer_process_to_its_end(self):
        count = 100
        script = textwrap.dedent(
            """
            import sys
            import ringdrop

            name, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
            with ringdrop.Producer(name, kind, "open") as tx:
                for i in range(count):
                    tx.send(b"message %d" % i, timeout=None)
            """
        )
        for kind in KINDS:
            with self.subTest(kind=kind):
                name = self.name(kind)
                rx = self.ring(name, kind, "consumer", "create", liveness_interval=0.001)
                child = subprocess.Popen(
                    [sys.executable, "-c", script, name, kind, str(count)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=child_env(),
                )
                try:
                    # Read while the child sends; the loop ends (PeerGone)
                    # once it has closed and everything was read.
                    received = [message for message in rx]
                    out, err = child.communicate(timeout=LONG)
                finally:
                    if child.poll() is None:
                        child.kill()
                        child.communicate()
                self.assertEqual(child.returncode, 0, err)
                self.assertEqual(received, [b"message %d" % i for i in range(count)])

    def test_iteration_ends_after_a_killed_producers_last_message(self):
        count = 10
        for kind in KINDS:
            with self.subTest(kind=kind):
                name = self.name(kind)
                rx = self.ring(name, kind, "consumer", "create", liveness_interval=0.001)
                child = subprocess.Popen(
                    [sys.executable, "-c", CHILD, name, kind, str(count)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=child_env(),
                )
                try:
                    line = child.stdout.readline()
                    if line != b"ready\n":
                        child.wait()
                        self.fail("child: %r %s" % (line, child.stderr.read().decode()))
                    os.kill(child.pid, signal.SIGKILL)
                    self.assertEqual(child.wait(), -signal.SIGKILL)
                finally:
                    if child.poll() is None:
                        child.kill()
                        child.wait()
                    for stream in (child.stdin, child.stdout, child.stderr):
                        stream.close()
                # Every committed message, not the reservation it died in.
                self.assertEqual(list(rx), [b"message %d" % i for i in range(count)])

    @staticmethod
    def process_state(pid):
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]


class ForkTest(RingCase):
    @unittest.skipUnless(hasattr(os, "fork"), "needs fork()")
    def test_a_forked_child_cannot_use_the_parents_handle(self):
        tx, rx = self.pair("spsc")
        pid = os.fork()
        if pid == 0:  # the child: report through the exit status only
            code = 1
            try:
                tx.send(b"from the child", timeout=0)
            except RuntimeError:
                code = 0
            except BaseException:
                code = 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        with self.assertRaises(ringdrop.TimedOut):
            rx.receive(0)  # nothing was sent
        tx.send(b"from the parent", timeout=LONG)  # the parent's handle still works
        self.assertEqual(rx.receive(LONG), b"from the parent")


if __name__ == "__main__":
    unittest.main()

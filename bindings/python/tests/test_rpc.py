"""Tests of typed messages and request/response in the Python binding
(ringdrop.rpc over ringdrop_message_*, ringdrop_client_*, ringdrop_server_*).

Run by ctest (bindings/python/CMakeLists.txt), or by hand:

    RINGDROP_LIBRARY=build/release/lib/libringdrop.so.0 \\
        python3 -m unittest discover -s bindings/python/tests -p test_rpc.py -v

Standard library only; no Cap'n Proto for Python is needed: payloads are
hand-encoded (see encode_value). The server runs in a forked child
(multiprocessing); it announces on a pipe. No sleeps and no timing
thresholds: a timeout only ever meets a handler that is held until told.
"""

import multiprocessing
import os
import shutil
import struct
import sys
import tempfile
import threading
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

import ringdrop  # noqa: E402

LONG = 60.0  # bounds waits a correct library ends early

ECHO, ECHO_REPLY, FAIL, CRASH, HOLD, STRANGER, STOP = (0x2000000000000000 + i for i in range(1, 8))


def encode_value(v):
    """`struct Value { v @0 :UInt64; }` as a flat Cap'n Proto message:
    segment table (count - 1 = 0, segment size = 2 words), the root struct
    pointer (offset 0, 1 data word, 0 pointers), then the data word."""
    return struct.pack("<IIQQ", 0, 2, 0x0000000100000000, v)


def decode_value(data):
    """v from a flat single-segment message whose root is a struct (0 for a
    null root or no data section)."""
    count, words = struct.unpack_from("<II", data, 0)
    assert count == 0 and (words + 1) * 8 == len(data), data
    (ptr,) = struct.unpack_from("<Q", data, 8)
    if ptr == 0 or (ptr >> 32) & 0xFFFF == 0:
        return 0
    assert ptr & 3 == 0
    offset = struct.unpack("<i", struct.pack("<I", ptr & 0xFFFFFFFF))[0] // 4
    return struct.unpack_from("<Q", data, 8 * (2 + offset))[0]


def serve(service, registry, up, down):
    """The forked server: 'R' when ready, 'H' when a HOLD is in its handler."""
    stop = []

    def echo(payload, request):
        add = int(request.header("add", "0"))
        return encode_value(decode_value(payload) + 1 + add)

    def fail(payload, request):
        raise ringdrop.HandlerError(42, "refused: no such order")

    def crash(payload, request):
        raise KeyError("boom")

    def hold(payload, request):
        os.write(up, b"H")
        os.read(down, 1)
        return encode_value(7)

    with ringdrop.Server(service, registry_dir=registry) as server:
        server.handle(ECHO, ECHO_REPLY, echo)
        server.handle(FAIL, ECHO_REPLY, fail)
        server.handle(CRASH, ECHO_REPLY, crash)
        server.handle(HOLD, ECHO_REPLY, hold)
        server.on_notification(STOP, lambda payload, message: stop.append(True))
        os.write(up, b"R")
        while not stop:
            server.serve_one(LONG)


class MessageTest(unittest.TestCase):
    def test_build_and_parse_every_field(self):
        data = ringdrop.build_message(
            ECHO,
            encode_value(99),
            kind=ringdrop.MessageKind.REQUEST,
            correlation_id=5,
            reply_to="shm:somewhere",
            timeout=LONG,
            schema_version=2,
            attempt=3,
            idempotent=True,
            headers={"trace": "abc", "empty": ""},
        )
        with ringdrop.Message.parse(data) as m:
            self.assertNotEqual(m.id, 0)
            self.assertEqual(m.type_id, ECHO)
            self.assertEqual(m.kind, ringdrop.MessageKind.REQUEST)
            self.assertEqual(m.correlation_id, 5)
            self.assertEqual(m.reply_to, "shm:somewhere")
            self.assertEqual((m.schema_version, m.attempt, m.idempotent), (2, 3, True))
            self.assertIsNotNone(m.deadline_ns)
            self.assertTrue(0 < m.time_left <= LONG)
            self.assertGreater(m.sent_at_ns, 0)
            self.assertEqual(m.headers, {"trace": "abc", "empty": ""})
            self.assertEqual(m.header("trace"), "abc")
            self.assertIsNone(m.header("absent"))
            self.assertIsNone(m.error)
            self.assertEqual(decode_value(m.payload), 99)
            self.assertEqual(m.bytes, data)
        with self.assertRaises(ValueError):
            m.type_id  # closed

    def test_defaults(self):
        with ringdrop.Message.parse(ringdrop.build_message(1)) as m:
            self.assertEqual(m.kind, ringdrop.MessageKind.NOTIFICATION)
            self.assertIsNone(m.deadline_ns)
            self.assertIsNone(m.time_left)
            self.assertEqual(m.reply_to, "")
            self.assertEqual(decode_value(m.payload), 0)

    def test_malformed_is_bad_message(self):
        with self.assertRaises(ringdrop.BadMessage):
            ringdrop.build_message(ECHO, encode_value(1)[:20])
        with self.assertRaises(ringdrop.BadMessage):
            ringdrop.build_message(ECHO, encode_value(1) + b"\0" * 8)
        data = ringdrop.build_message(ECHO, encode_value(1))
        for bad in (data[:-8], b"", os.urandom(64)[:63], b"\xff" * 64):
            with self.assertRaises(ringdrop.BadMessage):
                ringdrop.Message.parse(bad)
        with self.assertRaises(ringdrop.InvalidArgument):
            ringdrop.build_message(ECHO, encode_value(1), kind=7)

    def test_send_on_a_ring(self):
        name = "rdpy-msg-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.addCleanup(ringdrop.remove, name, missing_ok=True)
        with ringdrop.Ring(name, "mpmc", "consumer", "create", cell_size=512) as rx, \
                ringdrop.Ring(name, "mpmc", "producer", "open", cell_size=512) as tx:
            ringdrop.send_message(tx, ECHO, encode_value(3), timeout=0, kind=ringdrop.MessageKind.EVENT)
            with ringdrop.Message.parse(rx.receive(timeout=0)) as m:
                self.assertEqual(m.kind, ringdrop.MessageKind.EVENT)
                self.assertEqual(decode_value(m.payload), 3)
            with self.assertRaises(ringdrop.MessageTooLarge):
                big = struct.pack("<IIQ", 0, 1 + 128, 0x0000008000000000) + b"\0" * 1024
                ringdrop.send_message(tx, ECHO, big, timeout=0)


class RpcTest(unittest.TestCase):
    def setUp(self):
        self.registry = tempfile.mkdtemp(prefix="ringdrop-py-rpc-")
        self.addCleanup(shutil.rmtree, self.registry, True)
        self.service = "rdpy-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.addCleanup(ringdrop.remove, "ringdrop.svc." + self.service, missing_ok=True)
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        ctx = multiprocessing.get_context("fork")
        self.child = ctx.Process(target=serve, args=(self.service, self.registry, up_w, down_r))
        self.child.start()
        os.close(up_w)
        os.close(down_r)
        self.up, self.down = up_r, down_w
        self.addCleanup(os.close, up_r)
        self.addCleanup(os.close, down_w)
        self.addCleanup(self.stop_child)
        self.assertEqual(os.read(self.up, 1), b"R")

    def stop_child(self):
        if self.child.is_alive():
            self.child.kill()
        self.child.join(LONG)

    def client(self, **options):
        c = ringdrop.Client(self.service, registry_dir=self.registry, **options)
        self.addCleanup(c.close)
        return c

    def test_calls_remote_errors_and_stop(self):
        c = self.client()
        with c.call(ECHO, encode_value(41), ECHO_REPLY, LONG) as reply:
            self.assertEqual(decode_value(reply.payload), 42)
            self.assertEqual(reply.kind, ringdrop.MessageKind.RESPONSE)
        reply = c.call(ECHO, encode_value(1), ECHO_REPLY, LONG, headers={"add": "100"}, idempotent=True)
        self.assertEqual(decode_value(reply.payload), 102)
        with self.assertRaises(ringdrop.RemoteError) as e:
            c.call(FAIL, encode_value(0), ECHO_REPLY, LONG)
        self.assertEqual((e.exception.remote_code, e.exception.remote_text), (42, "refused: no such order"))
        self.assertEqual(c.last_remote_error, (42, "refused: no such order"))
        with self.assertRaises(ringdrop.RemoteError) as e:
            c.call(CRASH, encode_value(0), ECHO_REPLY, LONG)
        self.assertEqual(e.exception.remote_code, ringdrop.HANDLER_FAILED)
        self.assertIn("KeyError", e.exception.remote_text)
        with self.assertRaises(ringdrop.UnknownType):
            c.call(STRANGER, encode_value(0), ECHO_REPLY, LONG)
        with self.assertRaises(ringdrop.BadMessage):
            c.call(ECHO, encode_value(0), STRANGER, LONG)
        with self.assertRaises(ringdrop.BadMessage):
            c.call(ECHO, b"not capnp", ECHO_REPLY, LONG)
        # Async.
        results = []
        call_id = c.call_async(ECHO, encode_value(9), ECHO_REPLY, LONG, lambda i, r: results.append((i, r)))
        self.assertTrue(c.poll(LONG))
        self.assertEqual(len(results), 1)
        self.assertEqual(results[0][0], call_id)
        self.assertEqual(decode_value(results[0][1].payload), 10)
        self.assertEqual(results[0][1].correlation_id, call_id)
        stats = c.stats()
        self.assertEqual((stats["ok"], stats["remote_errors"], stats["bad_replies"]), (3, 3, 1))
        c.notify(STOP, None, timeout=LONG)
        self.child.join(LONG)
        self.assertEqual(self.child.exitcode, 0)

    def test_timeout_then_late_reply(self):
        c = self.client(breaker_threshold=1, breaker_cool_down=LONG * 10)
        with self.assertRaises(TimeoutError) as caught:  # ringdrop.TimedOut is one
            c.call(HOLD, encode_value(0), ECHO_REPLY, 0.01)  # held until told
        self.assertIsInstance(caught.exception, ringdrop.TimedOut)
        self.assertEqual(os.read(self.up, 1), b"H")
        with self.assertRaises(ringdrop.CircuitOpen):
            c.call(ECHO, encode_value(0), ECHO_REPLY, LONG)
        os.write(self.down, b"G")
        stats = c.stats()
        self.assertEqual((stats["timed_out"], stats["rejected"], stats["breaker_state"]), (1, 1, "open"))

    def test_timeout_none_waits_for_the_reply(self):
        c = self.client()
        reply = c.call(ECHO, encode_value(1), ECHO_REPLY, None)
        self.assertEqual(decode_value(reply.payload), 2)
        reply = c.call(ECHO, encode_value(2), ECHO_REPLY, timeout=None, idempotent=True, attempt_timeout=None)
        self.assertEqual(decode_value(reply.payload), 3)
        # A reply that cannot come before the handler is let go, which a
        # second thread does only once the handler runs: a timeout of None
        # that looked once, or raised, fails here.
        def release():
            if os.read(self.up, 1) == b"H":
                os.write(self.down, b"G")

        releaser = threading.Thread(target=release)
        releaser.start()
        try:
            reply = c.call(HOLD, encode_value(0), ECHO_REPLY, timeout=None)
        except BaseException:
            self.stop_child()  # the releaser's read then ends (end of file)
            raise
        finally:
            releaser.join(LONG)
        self.assertEqual(decode_value(reply.payload), 7)
        results = []
        c.call_async(ECHO, encode_value(9), ECHO_REPLY, None, lambda i, r: results.append(r))
        self.assertTrue(c.poll(None))
        self.assertEqual(decode_value(results[0].payload), 10)
        self.assertTrue(c.poll(None))  # nothing in flight: at once
        c.notify(STOP, None, timeout=None)
        self.child.join(LONG)
        self.assertEqual(self.child.exitcode, 0)

    def test_server_killed_mid_call_is_peer_gone(self):
        c = self.client(liveness_interval=0.002)
        results = []
        c.call_async(HOLD, encode_value(0), ECHO_REPLY, LONG, lambda i, r: results.append(r))
        self.assertEqual(os.read(self.up, 1), b"H")
        self.child.kill()  # SIGKILL
        self.child.join(LONG)
        self.assertTrue(c.poll(LONG))
        self.assertEqual(len(results), 1)
        self.assertIsInstance(results[0], ringdrop.PeerGone)


class InProcessTest(unittest.TestCase):
    def test_server_by_location_and_stats(self):
        name = "rdpy-rq-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.addCleanup(ringdrop.remove, name, missing_ok=True)
        with ringdrop.Server(location="shm:" + name) as server, \
                ringdrop.Client(location="shm:" + name) as client:
            self.assertEqual(server.request_ring, "shm:" + name)
            server.handle(ECHO, ECHO_REPLY, lambda payload, request: encode_value(decode_value(payload) * 2))
            seen = []
            server.on_notification(STOP, lambda payload, message: seen.append(message.kind))
            results = []
            client.call_async(ECHO, encode_value(21), ECHO_REPLY, LONG, lambda i, r: results.append(r))
            self.assertTrue(server.serve_one(LONG))
            self.assertTrue(client.poll(LONG))
            self.assertEqual(decode_value(results[0].payload), 42)
            client.notify(STOP, encode_value(0), timeout=LONG)
            self.assertTrue(server.serve_one(LONG))
            self.assertEqual(seen, [ringdrop.MessageKind.NOTIFICATION])
            self.assertFalse(server.serve_one(0))
            self.assertEqual(server.stats()["replies"], 1)
        with self.assertRaises(ringdrop.NotFound):
            ringdrop.Client(location="shm:rdpy-no-such-ring")
        with self.assertRaises(FileNotFoundError):
            ringdrop.Client(location="shm:rdpy-no-such-ring")
        with self.assertRaises(ringdrop.InvalidArgument):
            ringdrop.Client(location="nowhere")

    def test_serving_without_a_timeout_and_for_a_while(self):
        name = "rdpy-rq-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.addCleanup(ringdrop.remove, name, missing_ok=True)
        with ringdrop.Server(location="shm:" + name, reply_timeout=None) as server, \
                ringdrop.Client(location="shm:" + name) as client:
            server.handle(ECHO, ECHO_REPLY, lambda payload, request: encode_value(decode_value(payload) + 1))
            results = []
            client.call_async(ECHO, encode_value(1), ECHO_REPLY, LONG, lambda i, r: results.append(r))
            self.assertTrue(server.serve_one(None))  # the request is there: at once
            self.assertTrue(client.poll(None))
            self.assertEqual(decode_value(results.pop().payload), 2)
            # serve(t) handles what comes for t seconds, then returns; 0.6 s
            # is more than one of the waits a long serve is cut into.
            for i in range(3):
                client.call_async(ECHO, encode_value(10 + i), ECHO_REPLY, LONG, lambda i, r: results.append(r))
            server.serve(0.6)
            self.assertTrue(client.poll(None))
            self.assertEqual(sorted(decode_value(r.payload) for r in results), [11, 12, 13])
            self.assertEqual(server.stats()["replies"], 4)


if __name__ == "__main__":
    unittest.main()

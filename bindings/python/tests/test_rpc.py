"""Tests of typed messages and request/response in the Python binding
(ringdrop.rpc over ringdrop_message_*, ringdrop_client_*, ringdrop_server_*).

Run by ctest (bindings/python/CMakeLists.txt), or by hand:

    RINGDROP_LIBRARY=build/release/lib/libringdrop.so.0 \\
        python3 -m unittest discover -s bindings/python/tests -p test_rpc.py -v

Standard library only; no Cap'n Proto for Python is needed: payloads are
hand-encoded (see encode_value). The server runs in a forked child
(multiprocessing); it announces on a pipe. No sleeps and no timing
thresholds: a timeout only ever meets a handler that is held until told
(the one wait on the clock lets a reply's time to live run out).

Shared reply queues (ReplyQueue, Client.send_request): replies taken by
correlation id from the forked server, acked and rejected, taken after
their sender exited or again after their taker was killed; the queue's
ring under the C++ naming convention ("ringdrop.replies.<name>"), fed by a
plain MPMC producer and by a server in this process; expiry and errors.
"""

import multiprocessing
import os
import shutil
import struct
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
if PACKAGE_ROOT not in sys.path:
    sys.path.append(PACKAGE_ROOT)  # after PYTHONPATH: an installed package (ctest's) comes first

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


def send_and_exit(service, registry, queue, w):
    """The forked sender: one request to the reply queue, its id on `w`, gone."""
    with ringdrop.Client(service, registry_dir=registry, reply_queue=queue) as client:
        message_id = client.send_request(ECHO, encode_value(99), LONG, correlation_id=4242)
    os.write(w, struct.pack("<Q", message_id))


def take_and_hold(queue, store, w):
    """The forked taker: takes a reply, says 'T' and its correlation id, and
    holds it until killed."""
    with ringdrop.ReplyQueue(queue, dead_letters=store) as replies:
        reply = replies.take(LONG)
        os.write(w, b"T" + struct.pack("<Q", reply.correlation_id))
        threading.Event().wait()


def new_reply_queue(test, **options):
    """A reply queue of the test's own, its dead letters in a directory of
    its own: (queue, name, store); removed with the test."""
    name = "rdpy-rq-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    store = tempfile.mkdtemp(prefix="ringdrop-py-rq-dlq-")
    test.addCleanup(shutil.rmtree, store, True)
    test.addCleanup(ringdrop.remove, "ringdrop.replies." + name, missing_ok=True)
    queue = ringdrop.ReplyQueue(name, dead_letters=store, **options)
    test.addCleanup(queue.close)
    return queue, name, store


def dead_letters(store):
    with ringdrop.DropChannel(store) as channel:
        return channel.dead_letters()


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


    def test_send_request_and_take_from_a_reply_queue(self):
        queue, name, store = new_reply_queue(self)
        c = self.client(reply_queue=name)
        self.assertEqual(c.reply_queue, name)
        # A correlation id of the caller's own (an order number) comes back.
        first = c.send_request(ECHO, encode_value(41), LONG, correlation_id=0xC0FFEE, headers={"add": "100"})
        self.assertNotEqual(first, 0)
        with queue.take(LONG) as reply:
            self.assertIsInstance(reply, ringdrop.Message)
            self.assertEqual(reply.correlation_id, 0xC0FFEE)
            self.assertEqual(reply.request_id, first)
            self.assertEqual(reply.delivery_count, 1)
            self.assertEqual(reply.header("request-id"), str(first))
            self.assertEqual((reply.type_id, reply.kind), (ECHO_REPLY, ringdrop.MessageKind.RESPONSE))
            self.assertTrue(reply.ok)
            self.assertIsNone(reply.error)
            self.assertEqual(decode_value(reply.payload), 142)
            # Held until acked: another take is refused.
            with self.assertRaises(ringdrop.InvalidArgument):
                queue.take(0)
            queue.ack()
            self.assertEqual(decode_value(reply.payload), 142)  # a copy: it outlives the ack
        with self.assertRaises(ringdrop.InvalidArgument):
            queue.ack()
        with self.assertRaises(ringdrop.InvalidArgument):
            queue.reject("nothing held")
        # No correlation id: the message id. Rejected: a dead letter.
        second = c.send_request(ECHO, encode_value(1), LONG)
        with queue.take(LONG) as reply:
            self.assertEqual((reply.correlation_id, reply.request_id), (second, second))
            self.assertEqual(decode_value(reply.payload), 2)
        queue.reject("cannot use it")
        self.assertEqual(len(dead_letters(store)), 1)
        # The handler's error is the reply's.
        third = c.send_request(FAIL, encode_value(0), LONG, correlation_id=7)
        with queue.take(LONG) as reply:
            self.assertEqual((reply.correlation_id, reply.request_id), (7, third))
            self.assertFalse(reply.ok)
            self.assertEqual(reply.error, (42, "refused: no such order"))
        queue.ack()
        with self.assertRaises(ringdrop.TimedOut):
            queue.take(0)
        self.assertEqual(queue.stats(), {"taken": 3, "acked": 2, "rejected": 1, "redelivered": 0,
                                         "expired": 0, "malformed": 0})
        stats = c.stats()
        self.assertEqual((stats["requests_sent"], stats["calls"], stats["in_flight"]), (3, 0, 0))
        # A client without a reply queue cannot send_request.
        with self.assertRaises(ringdrop.InvalidArgument):
            self.client().send_request(ECHO, encode_value(1), LONG)

    def test_a_reply_outlives_its_sender(self):
        queue, name, store = new_reply_queue(self)
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        sender = multiprocessing.get_context("fork").Process(
            target=send_and_exit, args=(self.service, self.registry, name, w))
        sender.start()
        os.close(w)
        (message_id,) = struct.unpack("<Q", os.read(r, 8))
        sender.join(LONG)
        self.assertEqual(sender.exitcode, 0)
        with queue.take(LONG) as reply:
            self.assertEqual((reply.correlation_id, reply.request_id), (4242, message_id))
            self.assertEqual(decode_value(reply.payload), 100)
        queue.ack()

    def test_a_reply_whose_taker_is_killed_goes_to_another(self):
        queue, name, store = new_reply_queue(self)
        c = self.client(reply_queue=name)
        message_id = c.send_request(ECHO, encode_value(10), LONG, correlation_id=77)
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        taker = multiprocessing.get_context("fork").Process(target=take_and_hold, args=(name, store, w))
        taker.start()
        os.close(w)
        self.assertEqual(os.read(r, 9), b"T" + struct.pack("<Q", 77))
        taker.kill()  # SIGKILL, holding the reply
        taker.join(LONG)
        with queue.take(LONG) as reply:
            self.assertEqual((reply.correlation_id, reply.request_id), (77, message_id))
            self.assertEqual(reply.delivery_count, 2)
            self.assertEqual(decode_value(reply.payload), 11)
        queue.ack()
        stats = queue.stats()
        self.assertEqual((stats["taken"], stats["redelivered"], stats["acked"]), (1, 1, 1))


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



class ReplyQueueTest(unittest.TestCase):
    """Reply queues with the server in this process (or none)."""

    def service_ring(self):
        name = "rdpy-rqs-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.addCleanup(ringdrop.remove, name, missing_ok=True)
        return "shm:" + name

    def test_the_ring_is_named_as_cpp_names_it(self):
        queue, name, store = new_reply_queue(self)
        ring = "ringdrop.replies." + name
        self.assertEqual(queue.location, "shm:" + ring)
        self.assertTrue(os.path.exists("/dev/shm/" + ring))
        # What a server does: a response into that ring, with the request's
        # id in its header; then something that is not a response.
        with ringdrop.Ring(ring, "mpmc", "producer", "open") as tx:
            ringdrop.send_message(tx, ECHO_REPLY, encode_value(5), timeout=LONG,
                                  kind=ringdrop.MessageKind.RESPONSE, correlation_id=77,
                                  headers={"request-id": "123"})
            ringdrop.send_message(tx, ECHO_REPLY, encode_value(6), timeout=LONG)
        with queue.take(LONG) as reply:
            self.assertEqual((reply.correlation_id, reply.request_id, reply.delivery_count), (77, 123, 1))
            self.assertEqual(decode_value(reply.payload), 5)
        queue.ack()
        with self.assertRaises(ringdrop.TimedOut):
            queue.take(0)  # the notification was set aside on the way
        stats = queue.stats()
        self.assertEqual((stats["taken"], stats["acked"], stats["malformed"]), (1, 1, 1))
        self.assertEqual(len(dead_letters(store)), 1)
        # A server of this process answers a request of a client of this
        # process into the queue Python made.
        location = self.service_ring()
        seen = {}

        def echo(payload, request):
            seen.update(reply_to=request.reply_to, ttl=request.header("reply-ttl-ms"),
                        kind=request.kind, correlation_id=request.correlation_id)
            return encode_value(decode_value(payload) + 1)

        with ringdrop.Server(location=location) as server, \
                ringdrop.Client(location=location, reply_queue=name, reply_ttl=1.5) as client:
            server.handle(ECHO, ECHO_REPLY, echo)
            message_id = client.send_request(ECHO, encode_value(1), LONG, correlation_id=9)
            self.assertTrue(server.serve_one(LONG))
            self.assertEqual(seen, {"reply_to": "shm:" + ring, "ttl": "1500",
                                    "kind": ringdrop.MessageKind.REQUEST, "correlation_id": 9})
            with queue.take(LONG) as reply:
                self.assertEqual((reply.correlation_id, reply.request_id), (9, message_id))
                self.assertEqual(reply.header("request-id"), str(message_id))
                self.assertEqual(decode_value(reply.payload), 2)
            queue.ack()
            self.assertEqual(client.stats()["requests_sent"], 1)

    def test_an_expired_reply_is_dead_lettered(self):
        queue, name, store = new_reply_queue(self)
        location = self.service_ring()
        with ringdrop.Server(location=location) as server, \
                ringdrop.Client(location=location, reply_queue=name, reply_ttl=0.001) as client:
            server.handle(ECHO, ECHO_REPLY, lambda payload, request: encode_value(1))
            client.send_request(ECHO, encode_value(1), LONG)
            self.assertTrue(server.serve_one(LONG))  # the reply is sent: it expires 1 ms after
            answered = time.monotonic()
            while time.monotonic() < answered + 0.002:  # only lets the time to live run out
                time.sleep(0.001)
            with self.assertRaises(ringdrop.TimedOut):
                queue.take(0)
        stats = queue.stats()
        self.assertEqual((stats["expired"], stats["taken"]), (1, 0))
        self.assertEqual(len(dead_letters(store)), 1)

    def test_errors(self):
        with self.assertRaises(ringdrop.InvalidArgument):
            ringdrop.ReplyQueue("bad/name")
        with self.assertRaises(ringdrop.InvalidArgument):
            ringdrop.ReplyQueue("rdpy-rq-never", max_deliveries=1001)
        with self.assertRaises(ValueError):  # InvalidArgument is one
            ringdrop.ReplyQueue("rdpy-rq-never", wait_mode="sometimes")
        with self.assertRaises(TypeError):
            ringdrop.ReplyQueue(None)
        self.assertFalse(os.path.exists("/dev/shm/ringdrop.replies.rdpy-rq-never"))
        queue, name, store = new_reply_queue(self)
        self.assertEqual(queue.stats(), dict.fromkeys(
            ["taken", "acked", "rejected", "redelivered", "expired", "malformed"], 0))
        with self.assertRaises(ringdrop.InvalidArgument):
            queue.ack()
        with self.assertRaises(ringdrop.InvalidArgument):
            queue.reject("nothing held")
        with self.assertRaises(TimeoutError):
            queue.take(0)
        with self.assertRaises(ringdrop.InvalidArgument):
            queue.take(-1)
        location = self.service_ring()
        with ringdrop.Server(location=location):
            with ringdrop.Client(location=location) as client:
                with self.assertRaises(ringdrop.InvalidArgument):
                    client.send_request(ECHO, encode_value(1), LONG)
                self.assertEqual(client.stats()["requests_sent"], 0)
            with self.assertRaises(ringdrop.InvalidArgument):
                ringdrop.Client(location=location, reply_queue="bad/name")
            with self.assertRaises(ringdrop.InvalidArgument):
                ringdrop.Client(location=location, reply_queue=name, reply_ttl=-1)
            with ringdrop.Client(location=location, reply_queue=name) as client:
                with self.assertRaises(ringdrop.BadMessage):
                    client.send_request(ECHO, b"not capnp", LONG)
                with self.assertRaises(ringdrop.InvalidArgument):
                    client.send_request(ECHO, encode_value(1), -1)
                self.assertEqual(client.stats()["requests_sent"], 0)
        queue.close()
        with self.assertRaises(ValueError):
            queue.take(0)
        queue.close()  # twice: harmless


if __name__ == "__main__":
    unittest.main()

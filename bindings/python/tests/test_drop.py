"""Tests of the Python drop channel (ringdrop/drop.py over ringdrop_drop_*).

Run by ctest as python_drop (bindings/python/CMakeLists.txt), or by hand:

    RINGDROP_LIBRARY=build/release/lib/libringdrop.so.0 \\
        python3 -m unittest discover -s bindings/python/tests -p test_drop.py -v

Standard library only. No sleeps and no timing thresholds: claims wait with
timeouts that a correct library ends early, and a child process says what
it did on a line of its stdout.
"""

import gc
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)  # bindings/python: holds ringdrop/
if PACKAGE_ROOT not in sys.path:
    sys.path.append(PACKAGE_ROOT)  # after PYTHONPATH: an installed package (ctest's) comes first

import ringdrop  # noqa: E402

# Bounds a wait that ends as soon as the awaited thing happens.
LONG = 60.0
# No fsync, fast scans, 1 ms backoff: the tests wait for nothing.
FAST = {"durable": False, "scan_interval": 0.02, "retry_backoff": 0.001}
ID = re.compile(r"^\d{19}-[0-9a-z]+-\d+-\d+-[0-9a-f]{8}$")


class DropCase(unittest.TestCase):
    """Helpers: a fresh channel root per test, removed afterwards."""

    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="rdpy-drop-")
        self.addCleanup(shutil.rmtree, self.base, ignore_errors=True)

    def channel(self, name="ch", **options):
        merged = dict(FAST)
        merged.update(options)
        ch = ringdrop.DropChannel(os.path.join(self.base, name), **merged)
        self.addCleanup(ch.close)
        return ch

    def open_both(self, **options):
        ch = self.channel(**options)
        rx = ch.consumer()
        self.addCleanup(rx.close)
        return ch, rx

    def entries(self, ch, sub):
        return sorted(os.listdir(os.path.join(ch.root, sub)))

    def assertEmpty(self, ch):
        for sub in ("incoming", "new", "work", "retry"):
            self.assertEqual(self.entries(ch, sub), [], sub)


class PublishClaimTest(DropCase):
    def test_round_trip_with_headers(self):
        ch, rx = self.open_both()
        headers = {"content-type": "text/plain", "schema-id": "orders-v1", "x-custom": "ünïcode"}
        message_id = ch.publish(b"order 42", headers=headers)
        self.assertRegex(message_id, ID)
        with rx.claim(LONG) as claim:
            self.assertIsInstance(claim, ringdrop.Claim)
            self.assertEqual(claim.id, message_id)
            self.assertEqual(claim.attempt, 1)
            self.assertEqual(claim.data, b"order 42")
            self.assertEqual(claim.size, 8)
            view = claim.view()
            self.assertIsInstance(view, memoryview)
            self.assertTrue(view.readonly)
            self.assertEqual(bytes(view), b"order 42")
            with self.assertRaises(TypeError):
                view[0] = 0
            self.assertEqual(claim.headers["content-type"], "text/plain")
            self.assertEqual(claim.header("schema-id"), "orders-v1")
            self.assertEqual(claim.headers.get("x-custom"), "ünïcode")
            self.assertIn("published-at", claim.headers)  # from the id
            self.assertEqual(claim.headers["published-at"], message_id[:19].lstrip("0"))
            self.assertNotIn("producer", claim.headers)
            self.assertIsNone(claim.headers.get("producer"))
            self.assertEqual(claim.header("producer", "none"), "none")
            with self.assertRaises(KeyError):
                claim.headers["producer"]
            known = claim.headers.known("x-custom")
            self.assertEqual(
                known,
                {
                    "content-type": "text/plain",
                    "schema-id": "orders-v1",
                    "published-at": known["published-at"],
                    "x-custom": "ünïcode",
                },
            )
            self.assertTrue(claim.path.startswith(os.path.join(ch.root, "work") + os.sep))
            self.assertTrue(os.path.exists(claim.path))
            claim.ack()
            self.assertTrue(claim.settled)
        self.assertTrue(claim.closed)
        with self.assertRaises(ValueError):
            view.tobytes()  # revoked when the claim closed
        with self.assertRaises(ringdrop.TimedOut) as caught:
            rx.claim(0)
        self.assertEqual(caught.exception.code, ringdrop.errors.ETIMEDOUT)
        self.assertEmpty(ch)

    def test_bytes_like_and_empty_payloads(self):
        ch, rx = self.open_both()
        payloads = [bytearray(b"from a bytearray"), memoryview(b"read-only view"),
                    memoryview(b"-strided-")[::2], b"", bytes(range(256)) * 64]
        for p in payloads:
            ch.publish(p)
        got = []
        for claim in rx.claims(LONG):
            with claim:
                got.append(claim.data)
                if not claim.data:
                    self.assertEqual(bytes(claim.view()), b"")
                claim.ack()
            if len(got) == len(payloads):
                break
        self.assertEqual(got, [bytes(p) for p in payloads])  # one publisher: in order
        self.assertEqual(list(rx.claims(0)), [])
        self.assertEmpty(ch)

    def test_headers_as_pairs_and_bytes(self):
        ch, rx = self.open_both()
        ch.publish(b"x", headers=[("producer", b"batch-7"), ("correlation-id", "c-1")])
        with rx.claim(LONG) as claim:
            self.assertEqual(claim.headers.known(), {
                "producer": "batch-7", "correlation-id": "c-1",
                "published-at": claim.headers["published-at"]})
            claim.ack()

    def test_publish_file_moves_it_in(self):
        ch, rx = self.open_both()
        source = os.path.join(self.base, "report.csv")
        with open(source, "wb") as f:
            f.write(b"id,qty\n1,2\n")
        message_id = ch.publish_file(source, headers={"content-type": "text/csv"})
        self.assertFalse(os.path.exists(source))
        with rx.claim(LONG) as claim:
            self.assertEqual(claim.id, message_id)
            self.assertEqual(claim.data, b"id,qty\n1,2\n")
            self.assertEqual(claim.headers["content-type"], "text/csv")
            claim.ack()
        # A symlink is refused and left where it was.
        target = os.path.join(self.base, "target")
        link = os.path.join(self.base, "link")
        with open(target, "wb") as f:
            f.write(b"t")
        os.symlink(target, link)
        with self.assertRaises(ringdrop.UnsafeFile) as caught:
            ch.publish_file(link)
        self.assertEqual(caught.exception.code, ringdrop.errors.EUNSAFEFILE)
        self.assertTrue(os.path.islink(link))
        with self.assertRaises(ringdrop.NotFound):
            ch.publish_file(source)
        self.assertEmpty(ch)

    def test_incoming_file_with_a_marker(self):
        ch, rx = self.open_both(completion="marker", settle_time=3600)
        data = os.path.join(ch.root, "incoming", "legacy.dat")
        with open(data, "wb") as f:
            f.write(b"written by a program that only writes files")
        with self.assertRaises(ringdrop.TimedOut):
            rx.claim(0.1)  # no marker yet: several scans leave it alone
        open(data + ".done", "wb").close()
        with rx.claim(LONG) as claim:
            self.assertEqual(claim.headers["original-name"], "legacy.dat")
            self.assertEqual(claim.data, b"written by a program that only writes files")
            claim.ack()
        self.assertEmpty(ch)


class SettlingTest(DropCase):
    def test_nack_retries_then_dead_letter_requeue_reject_purge(self):
        ch, rx = self.open_both(max_attempts=2)
        self.assertEqual(ch.dead_letters(), [])
        message_id = ch.publish(b"poison")
        with rx.claim(LONG) as claim:
            claim.nack("first failure")
            with self.assertRaises(ringdrop.InvalidArgument):
                claim.nack("again")  # already settled
        with rx.claim(LONG) as claim:  # after the backoff
            self.assertEqual((claim.id, claim.attempt), (message_id, 2))
            claim.nack("second failure")
        with self.assertRaises(ringdrop.TimedOut):
            rx.claim(0)  # the last attempt: a dead letter
        self.assertEqual(ch.dead_letters(), [message_id])
        with open(os.path.join(ch.root, "failed", message_id + ".reason")) as f:
            self.assertIn("second failure", f.read())

        ch.requeue(message_id)
        self.assertEqual(ch.dead_letters(), [])
        with rx.claim(LONG) as claim:
            self.assertEqual((claim.id, claim.attempt), (message_id, 1))
            claim.reject("poison for good")
        self.assertEqual(ch.dead_letters(), [message_id])

        # Many dead letters: the list grows past the first buffer.
        ids = [message_id]
        for i in range(20):
            ids.append(ch.publish(b"%d" % i))
            with rx.claim(LONG) as claim:
                claim.reject("bulk")
        self.assertEqual(ch.dead_letters(), ids)

        for i in ids:
            ch.purge(i)
        self.assertEqual(ch.dead_letters(), [])
        with self.assertRaises(ringdrop.NotFound) as caught:
            ch.requeue(message_id)
        self.assertEqual(caught.exception.code, ringdrop.errors.ENOTFOUND)
        with self.assertRaises(ringdrop.NotFound):
            ch.purge(message_id)
        with self.assertRaises(ringdrop.InvalidArgument):
            ch.requeue("../escape")
        self.assertEmpty(ch)

    def test_receipts_of_named_messages(self):
        ch, rx = self.open_both()
        good = ch.publish(b"ok", headers={"original-name": "ORDER-1"})
        bad = ch.publish(b"bad", headers={"original-name": "ORDER-2"})
        with self.assertRaises(ringdrop.NotFound):
            ch.receipt("ORDER-1", good)
        with self.assertRaises(TimeoutError):
            ch.receipt("ORDER-1", good, timeout=0.001)
        rx.claim(LONG).ack()
        rx.claim(LONG).reject("quantity is zero")
        self.assertEqual(ch.receipt("ORDER-1", good, timeout=LONG), ("processed", ""))
        receipt = ch.receipt("ORDER-2", bad, timeout=None)
        self.assertIsInstance(receipt, ringdrop.Receipt)
        self.assertTrue(receipt.settled)
        self.assertEqual(receipt.outcome, "dead-lettered")
        self.assertEqual(receipt.reason, "quantity is zero")
        # Receipts kept 0 hours: the next consumer's first scan removes them.
        swept = ringdrop.DropChannel(ch.root, receipt_retention_hours=0, **FAST)
        self.addCleanup(swept.close)
        with swept.consumer() as sweeper, self.assertRaises(TimeoutError):
            sweeper.claim(0)
        self.assertEqual(self.entries(ch, "receipts"), [])
        with self.assertRaises(ringdrop.NotFound):
            ch.receipt("ORDER-1", good)

    def test_with_block_without_settling_nacks(self):
        ch, rx = self.open_both()
        message_id = ch.publish(b"again")
        with rx.claim(LONG) as claim:
            self.assertEqual(claim.data, b"again")
        self.assertTrue(claim.settled)
        self.assertTrue(claim.closed)
        self.assertEqual(self.entries(ch, "work"), [])
        with rx.claim(LONG) as claim:
            self.assertEqual((claim.id, claim.attempt), (message_id, 2))
            claim.ack()
        self.assertEmpty(ch)

    def test_exception_in_with_block_nacks_with_its_reason(self):
        ch, rx = self.open_both(max_attempts=1)
        message_id = ch.publish(b"bad input")
        with self.assertRaises(ZeroDivisionError):
            with rx.claim(LONG) as claim:
                1 / 0
        self.assertTrue(claim.closed)
        # max_attempts=1: that nack made it a dead letter, with the reason.
        self.assertEqual(ch.dead_letters(), [message_id])
        with open(os.path.join(ch.root, "failed", message_id + ".reason")) as f:
            self.assertIn("ZeroDivisionError: division by zero", f.read())

    def test_close_without_settling_nacks(self):
        ch, rx = self.open_both()
        message_id = ch.publish(b"dropped on the floor")
        claim = rx.claim(LONG)
        claim.close()
        claim.close()  # twice: harmless
        with self.assertRaises(ValueError):
            claim.ack()  # closed
        with rx.claim(LONG) as again:
            self.assertEqual((again.id, again.attempt), (message_id, 2))
            again.ack()

    def test_a_dropped_claim_is_nacked_at_once(self):
        ch, rx = self.open_both()
        ch.publish(b"forgotten")
        enabled = gc.isenabled()
        gc.disable()  # no reference cycle may keep an unreachable claim's lease
        try:
            claim = rx.claim(LONG)
            claim.headers.get("content-type")
            self.assertEqual(claim.data, b"forgotten")
            del claim
            self.assertEqual(self.entries(ch, "work"), [])
        finally:
            if enabled:
                gc.enable()
        with rx.claim(LONG) as again:
            self.assertEqual(again.attempt, 2)
            again.ack()

    def test_extend_then_ack_after_the_channel_closed(self):
        ch, rx = self.open_both()
        ch.publish(b"long job")
        claim = rx.claim(LONG)
        before = claim.path
        claim.extend()
        claim.extend(60)
        self.assertNotEqual(claim.path, before)  # the deadline is in the name
        self.assertTrue(os.path.exists(claim.path))
        with self.assertRaises(ringdrop.InvalidArgument):
            claim.extend(-1)
        rx.close()
        ch.close()  # any closing order
        claim.ack()
        with self.assertRaises(ringdrop.InvalidArgument):
            claim.extend()  # settled
        claim.close()
        self.assertEqual(self.entries(ch, "work"), [])


class ReplyTest(DropCase):
    def test_a_reply_goes_to_the_requests_reply_channel_with_its_ids(self):
        requests, service = self.open_both()
        replies = self.channel("replies")
        caller = replies.consumer()
        self.addCleanup(caller.close)
        request_id = requests.publish(b"quote 100 EURUSD", {"reply-to": replies.root, "correlation-id": "A-1001"})
        with service.claim(LONG) as claim:
            reply_id = claim.reply(b"110.00", {"status": "0"})
            claim.ack()
        with caller.claim(LONG) as reply:
            self.assertEqual(reply.id, reply_id)
            self.assertEqual(reply.data, b"110.00")
            self.assertEqual((reply.header("correlation-id"), reply.header("request-id"), reply.header("status")),
                             ("A-1001", request_id, "0"))
            reply.ack()

    def test_a_request_without_a_usable_reply_to_is_refused(self):
        requests, service = self.open_both()
        missing = os.path.join(self.base, "no-such-channel")
        requests.publish(b"a")
        requests.publish(b"b", {"reply-to": "relative"})
        requests.publish(b"c", {"reply-to": missing})
        for error in (ringdrop.InvalidArgument, ringdrop.InvalidArgument, ringdrop.NotFound):
            with service.claim(LONG) as claim:
                with self.assertRaises(error):
                    claim.reply(b"x")
                claim.ack()
        self.assertFalse(os.path.exists(missing), "a request never makes a directory appear")


class NoTimeoutAndIterationTest(DropCase):
    def test_claim_with_no_timeout(self):
        ch, rx = self.open_both()
        message_id = ch.publish(b"there already")
        with rx.claim(None) as claim:
            self.assertEqual((claim.id, claim.data), (message_id, b"there already"))
            claim.ack()
        ch.publish(b"again")
        with rx.claim(timeout=None) as claim:
            self.assertEqual(claim.data, b"again")
            claim.ack()
        self.assertEmpty(ch)

    def test_for_loop_yields_claims_the_caller_settles(self):
        ch, rx = self.open_both()
        sent = [b"a", b"b", b"c"]
        ids = [ch.publish(data) for data in sent]
        got = []
        for claim in rx:  # never ends by itself: a drop channel has no "producer gone"
            with claim:
                self.assertIsInstance(claim, ringdrop.Claim)
                got.append((claim.id, claim.data))
                claim.ack()
            if len(got) == len(sent):
                break
        self.assertEqual(got, list(zip(ids, sent)))
        self.assertEmpty(ch)

    def test_an_unsettled_claim_of_the_loop_comes_back(self):
        ch, rx = self.open_both()
        message_id = ch.publish(b"not acked")
        for claim in rx:
            with claim:  # left without settling: nacked, delivered again
                self.assertEqual(claim.attempt, 1)
            break
        for claim in rx:
            with claim:
                self.assertEqual((claim.id, claim.attempt), (message_id, 2))
                claim.ack()
            break
        self.assertEmpty(ch)


class ErrorTest(DropCase):
    def test_missing_root_without_create(self):
        with self.assertRaises(FileNotFoundError) as caught:
            ringdrop.DropChannel(os.path.join(self.base, "missing"), create=False)
        self.assertEqual(caught.exception.code, ringdrop.errors.ENOTFOUND)
        self.assertIn("missing", str(caught.exception))
        self.assertIsInstance(caught.exception, ringdrop.NotFound)

    def test_bad_headers_and_options(self):
        ch = self.channel()
        for bad in ({"Upper": "x"}, {"sp ace": "x"}, {"ok": "two\nlines"}):
            with self.subTest(headers=bad):
                with self.assertRaises(ringdrop.InvalidArgument) as caught:
                    ch.publish(b"x", headers=bad)
                self.assertEqual(caught.exception.code, ringdrop.errors.EINVAL)
                self.assertIsInstance(caught.exception, ValueError)
        with self.assertRaises(ValueError):
            ch.publish(b"x", headers={"nul": "a\0b"})
        with self.assertRaises(TypeError):
            ch.publish(b"x", headers={"n": 1})
        with self.assertRaises(ValueError):
            self.channel("other", completion="eventually")
        with self.assertRaises(ringdrop.InvalidArgument):
            self.channel("negative", lease=-1)
        self.assertEmpty(ch)

    def test_closed_handles(self):
        ch, rx = self.open_both()
        rx.close()
        with self.assertRaises(ValueError):
            rx.claim(0)
        ch.close()
        ch.close()
        with self.assertRaises(ValueError):
            ch.publish(b"x")
        with self.assertRaises(ValueError):
            ch.consumer()
        self.assertIn("closed", repr(ch))

    def test_bad_timeouts(self):
        _, rx = self.open_both()
        with self.assertRaises(ringdrop.InvalidArgument):
            rx.claim(-1)
        with self.assertRaises(ValueError):
            rx.claim(math.nan)
        with self.assertRaises(TypeError):
            rx.claim("1s")


CHILD = textwrap.dedent(
    """
    import sys
    import ringdrop

    root, what = sys.argv[1], sys.argv[2]
    ch = ringdrop.DropChannel(root, durable=False, scan_interval=0.02, lease=0.1)
    if what == "publish":
        for i in range(10):
            ch.publish(b"from the child %d" % i, headers={"producer": "child"})
        print("published", flush=True)
    else:
        claim = ch.consumer().claim(60)
        print("claimed", claim.id, flush=True)
        sys.stdin.read()  # until killed
    """
)


class CrossProcessTest(DropCase):
    def child(self, root, what):
        env = dict(os.environ)
        path = env.get("PYTHONPATH")
        # The parent's package first (the installed one, under ctest), the source
        # tree after it.
        env["PYTHONPATH"] = (path + os.pathsep if path else "") + PACKAGE_ROOT
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, root, what],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )

        def reap():
            if child.poll() is None:
                child.kill()
            child.communicate()

        self.addCleanup(reap)
        return child

    def test_for_loop_over_claims_from_another_process(self):
        ch, rx = self.open_both()
        child = self.child(ch.root, "publish")
        got = []
        for claim in rx:  # waits without limit while the child publishes
            with claim:
                got.append(claim.data)
                claim.ack()
            if len(got) == 10:
                break
        self.assertEqual(child.stdout.readline(), b"published\n")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(got, [b"from the child %d" % i for i in range(10)])
        self.assertEmpty(ch)

    def test_messages_from_another_process(self):
        ch, rx = self.open_both()
        child = self.child(ch.root, "publish")
        got = []
        while len(got) < 10:  # claimed as they come, while the child publishes
            with rx.claim(LONG) as claim:
                self.assertEqual(claim.headers["producer"], "child")
                got.append(claim.data)
                claim.ack()
        self.assertEqual(child.stdout.readline(), b"published\n")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(got, [b"from the child %d" % i for i in range(10)])
        self.assertEmpty(ch)

    def test_killed_consumer_message_is_delivered_again(self):
        ch, rx = self.open_both(lease=0.1)
        message_id = ch.publish(b"survivor")
        child = self.child(ch.root, "claim")
        line = child.stdout.readline()
        self.assertEqual(line, b"claimed %s\n" % message_id.encode(), child.stderr.read() if not line else "")
        os.kill(child.pid, signal.SIGKILL)
        self.assertEqual(child.wait(), -signal.SIGKILL)
        with rx.claim(LONG) as claim:  # once its lease ran out
            self.assertEqual((claim.id, claim.attempt), (message_id, 2))
            claim.extend(30)  # no lease runs out here
            self.assertEqual(claim.data, b"survivor")
            claim.ack()
        self.assertEmpty(ch)


if __name__ == "__main__":
    unittest.main()

"""Tests of the pure-Python binding's rings (ringdrop/ring.py), in one
process: round trips, zero-copy views, errors, lifetimes, poison messages,
waits without limit, iteration. Other processes: test_ring_processes.py.

Run by ctest (bindings/python/CMakeLists.txt), or by hand:

    RINGDROP_LIBRARY=build/release/lib/libringdrop.so.0 \\
        python3 -m unittest discover -s bindings/python/tests -p test_ring.py -v

Standard library only. No sleeps and no timing thresholds: timeouts only
bound a wait that a correct library ends early.
"""

import math
import os
import re
import tempfile
import unittest

from ring_case import KINDS, LONG, PROJECT_CMAKELISTS, RingCase, ringdrop, unique_name


class VersionTest(unittest.TestCase):
    def project_version(self):
        """The version's one home: project(ringdrop VERSION x.y.z)."""
        with open(PROJECT_CMAKELISTS) as f:
            text = f.read()
        found = re.search(r"project\(\s*ringdrop\s+VERSION\s+(\d+)\.(\d+)\.(\d+)", text)
        return [int(part) for part in found.groups()]

    def test_version_is_the_project_version(self):
        major, minor, patch = self.project_version()
        self.assertEqual(ringdrop.version(), major * 10000 + minor * 100 + patch)
        self.assertEqual(ringdrop.version_string(), "%d.%d.%d" % (major, minor, patch))
        self.assertEqual(ringdrop.__version__, ringdrop.version_string())

    def test_strerror_and_error_classes(self):
        self.assertEqual(ringdrop.strerror(0), "success")
        self.assertTrue(ringdrop.strerror(ringdrop.errors.ETIMEDOUT))
        self.assertEqual(ringdrop.strerror(-12345), "unknown ringdrop error code")
        self.assertIs(ringdrop.error_class(ringdrop.errors.EPEERGONE), ringdrop.PeerGone)
        self.assertIs(ringdrop.error_class(-12345), ringdrop.RingdropError)
        self.assertTrue(issubclass(ringdrop.InvalidArgument, ValueError))
        # That every code has its class: test_errors.py, against error_table.h.


class RoundTripTest(RingCase):
    def test_round_trip_per_kind(self):
        messages = [b"hello", b"", b"x" * 200, bytes(range(7)), b"last"]
        for kind in KINDS:
            with self.subTest(kind=kind):
                tx, rx = self.pair(kind)
                for m in messages:
                    tx.send(m, timeout=LONG)
                self.assertEqual([rx.receive(LONG) for _ in messages], messages)
                with self.assertRaises(ringdrop.TimedOut):
                    rx.receive(0)

    def test_bytes_like_arguments(self):
        tx, rx = self.pair("spsc")
        tx.send(bytearray(b"from a bytearray"), timeout=LONG)
        tx.send(memoryview(b"from a read-only view"), timeout=LONG)
        tx.send(memoryview(b"-a strided view-")[::2], timeout=LONG)
        self.assertEqual(rx.receive(LONG), b"from a bytearray")
        self.assertEqual(rx.receive(LONG), b"from a read-only view")
        self.assertEqual(rx.receive(LONG), b"-a strided view-"[::2])

    def test_message_larger_than_the_receive_buffer(self):
        for kind, options in (("spsc", {}), ("mpmc", {"cell_size": 4096}), ("broadcast", {"cell_size": 4096})):
            with self.subTest(kind=kind):
                tx, rx = self.pair(kind, buffer_size=16, **options)
                big = bytes(i % 251 for i in range(3000))
                tx.send(b"small", timeout=LONG)
                tx.send(big, timeout=LONG)
                tx.send(b"after", timeout=LONG)
                self.assertEqual(rx.receive(LONG), b"small")
                self.assertEqual(rx.receive(LONG), big)
                self.assertEqual(rx.receive(LONG), b"after")

    def test_receive_into_reports_the_size_needed_and_keeps_the_message(self):
        tx, rx = self.pair("spsc")
        tx.send(b"0123456789", timeout=LONG)
        small = bytearray(4)
        with self.assertRaises(ringdrop.MessageTooLarge) as caught:
            rx.receive_into(small, LONG)
        self.assertEqual(caught.exception.code, ringdrop.errors.EMSGSIZE)
        self.assertEqual(caught.exception.size_needed, 10)
        buffer = bytearray(32)
        self.assertEqual(rx.receive_into(buffer, 0), 10)
        self.assertEqual(bytes(buffer[:10]), b"0123456789")

    def test_file_backed_ring(self):
        directory = tempfile.mkdtemp(prefix="rdpy-")
        self.addCleanup(os.rmdir, directory)
        path = os.path.join(directory, "ring")
        self.addCleanup(ringdrop.remove, path, file_backed=True, missing_ok=True)
        with ringdrop.Producer(path, "spsc", "create", file_backed=True, capacity=4096) as tx:
            with ringdrop.Consumer(path, "spsc", "open", file_backed=True) as rx:
                self.assertEqual(rx.max_message_size, 4096 // 2 - 8)
                tx.send(b"on disk", timeout=LONG)
                self.assertEqual(rx.receive(LONG), b"on disk")
        self.assertTrue(os.path.exists(path))
        ringdrop.remove(path, file_backed=True)
        self.assertFalse(os.path.exists(path))

    def test_messages_iterates_until_the_producer_leaves(self):
        tx, rx = self.pair("spsc", liveness_interval=0.001)
        for i in range(5):
            tx.send(b"m%d" % i, timeout=LONG)
        tx.close()
        self.assertEqual(list(rx.messages(LONG)), [b"m%d" % i for i in range(5)])


class ZeroCopyTest(RingCase):
    def test_read_gives_views_of_the_ring_until_release(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                tx, rx = self.pair(kind)
                tx.send(b"first", timeout=LONG)
                tx.send(b"second", timeout=LONG)
                a = rx.read(LONG)
                b = rx.read(LONG)  # several reads, one release
                self.assertIsInstance(a, memoryview)
                self.assertTrue(a.readonly)
                self.assertEqual((a.tobytes(), bytes(b)), (b"first", b"second"))
                self.assertEqual(a[1], ord("i"))
                with self.assertRaises(TypeError):
                    a[0] = 0
                rx.release()
                with self.assertRaises(ValueError):
                    a.tobytes()  # revoked: the ring owns those bytes again
                with self.assertRaises(ringdrop.TimedOut):
                    rx.read(0)

    def test_reserve_commit(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                tx, rx = self.pair(kind)
                view = tx.reserve(64, LONG)
                self.assertFalse(view.readonly)
                self.assertEqual(len(view), 64)
                view[:11] = b"in the ring"
                tx.commit(11)
                with self.assertRaises(ValueError):
                    view[0] = 1  # revoked by commit
                whole = tx.reserve(3, LONG)
                whole[:] = b"abc"
                tx.commit()  # all of it
                self.assertEqual(rx.receive(LONG), b"in the ring")
                self.assertEqual(rx.receive(LONG), b"abc")

    def test_commit_more_than_reserved_is_refused_and_the_reservation_stays(self):
        tx, rx = self.pair("spsc")
        view = tx.reserve(8, LONG)
        view[:] = b"12345678"
        with self.assertRaises(ringdrop.InvalidArgument) as caught:
            tx.commit(9)
        self.assertEqual(caught.exception.code, ringdrop.errors.EINVAL)
        tx.commit(8)
        self.assertEqual(rx.receive(LONG), b"12345678")

    def test_commit_without_reserve_is_refused(self):
        tx, _ = self.pair("spsc")
        with self.assertRaises(ringdrop.InvalidArgument):
            tx.commit(1)


class ErrorTest(RingCase):
    def test_open_missing_ring_is_not_found(self):
        name = unique_name("missing")
        with self.assertRaises(ringdrop.NotFound) as caught:
            ringdrop.Ring(name, "spsc", "consumer", "open")
        error = caught.exception
        self.assertIsInstance(error, ringdrop.RingdropError)
        self.assertEqual(error.code, ringdrop.errors.ENOTFOUND)
        self.assertIn(name, error.detail)
        self.assertEqual(error.description, ringdrop.strerror(error.code))
        self.assertIn(name, str(error))

    def test_create_existing_ring_already_exists(self):
        name = self.name()
        self.ring(name, "mpmc", "producer", "create")
        with self.assertRaises(ringdrop.AlreadyExists) as caught:
            ringdrop.Ring(name, "mpmc", "consumer", ringdrop.How.CREATE)
        self.assertEqual(caught.exception.code, ringdrop.errors.EEXISTS)

    def test_receive_on_empty_with_zero_timeout_times_out(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                _, rx = self.pair(kind)
                with self.assertRaises(ringdrop.TimedOut) as caught:
                    rx.receive(0)
                self.assertEqual(caught.exception.code, ringdrop.errors.ETIMEDOUT)

    def test_wrong_kind(self):
        name = self.name()
        self.ring(name, "spsc", "producer", "create")
        for kind in ("mpmc", "broadcast"):
            with self.subTest(kind=kind):
                with self.assertRaises(ringdrop.WrongKind) as caught:
                    ringdrop.Ring(name, kind, "consumer", "open")
                self.assertEqual(caught.exception.code, ringdrop.errors.EWRONGKIND)

    def test_role_taken(self):
        name = self.name()
        self.ring(name, "spsc", "consumer", "create")
        with self.assertRaises(ringdrop.RoleTaken) as caught:
            ringdrop.Ring(name, "spsc", "consumer", "open")
        self.assertEqual(caught.exception.code, ringdrop.errors.EROLETAKEN)

    def test_wrong_direction_and_bad_arguments(self):
        tx, rx = self.pair("spsc")
        with self.assertRaises(ringdrop.InvalidArgument):
            rx.send(b"x", timeout=0)
        with self.assertRaises(ringdrop.InvalidArgument):
            tx.receive(0)
        with self.assertRaises(ringdrop.InvalidArgument):
            tx.read(0)
        with self.assertRaises(ringdrop.InvalidArgument):
            rx.reserve(8, 0)
        with self.assertRaises(ringdrop.InvalidArgument):
            rx.last_missed  # only broadcast subscribers
        with self.assertRaises(ringdrop.InvalidArgument) as caught:
            rx.receive(-1)  # no call waits forever, and none backwards
        self.assertEqual(caught.exception.code, ringdrop.errors.EINVAL)
        with self.assertRaises(ValueError):
            rx.receive(math.nan)
        with self.assertRaises(TypeError):
            rx.receive("1s")
        with self.assertRaises(ValueError):
            ringdrop.Ring(self.name(), "ring-of-fire", "producer")
        with self.assertRaises(ValueError):
            ringdrop.Ring(self.name(), "spsc", "reader")

    def test_message_too_large_for_the_ring(self):
        tx, _ = self.pair("mpmc", cell_size=64)
        self.assertEqual(tx.max_message_size, 48)
        tx.send(b"x" * 48, timeout=LONG)
        with self.assertRaises(ringdrop.MessageTooLarge) as caught:
            tx.send(b"x" * 49, timeout=LONG)  # at once, never waited for
        self.assertEqual(caught.exception.code, ringdrop.errors.EMSGSIZE)

    def test_remove(self):
        name = unique_name("rm")
        ringdrop.Ring(name, "spsc", "producer", "create").close()
        ringdrop.remove(name)
        with self.assertRaises(ringdrop.NotFound):
            ringdrop.remove(name)
        ringdrop.remove(name, missing_ok=True)
        ringdrop.Ring.remove(name, missing_ok=True)

    def test_detail_belongs_to_this_failure(self):
        _, rx = self.pair("spsc")
        with self.assertRaises(ringdrop.NotFound):
            ringdrop.Ring(unique_name("missing"), "spsc", "consumer", "open")
        with self.assertRaises(ringdrop.TimedOut) as caught:
            rx.receive(0)
        self.assertNotIn("missing", caught.exception.detail)


class LifetimeTest(RingCase):
    def test_context_manager_closes(self):
        name = self.name()
        with ringdrop.Consumer(name, "spsc", "create", liveness_interval=0.001) as rx:
            with ringdrop.Producer(name, "spsc", "open") as tx:
                self.assertFalse(tx.closed)
                tx.send(b"bye", timeout=LONG)
            self.assertTrue(tx.closed)
            with self.assertRaises(ValueError):
                tx.send(b"x", timeout=0)
            tx.close()  # twice: harmless
            # The producer left: its message, then PeerGone.
            self.assertEqual(rx.receive(LONG), b"bye")
            with self.assertRaises(ringdrop.PeerGone):
                rx.receive(LONG)
            # Its role is free again.
            with ringdrop.Producer(name, "spsc", "open") as again:
                again.send(b"again", timeout=LONG)
                self.assertEqual(rx.receive(LONG), b"again")
        self.assertTrue(rx.closed)

    def test_views_are_revoked_by_close(self):
        tx, rx = self.pair("spsc")
        tx.send(b"held", timeout=LONG)
        view = rx.read(LONG)
        reservation = tx.reserve(8, LONG)
        rx.close()
        tx.close()
        with self.assertRaises(ValueError):
            view.tobytes()
        with self.assertRaises(ValueError):
            reservation[0] = 1

    def test_receive_releases_earlier_reads(self):
        tx, rx = self.pair("spsc")
        tx.send(b"read", timeout=LONG)
        tx.send(b"received", timeout=LONG)
        view = rx.read(LONG)
        self.assertEqual(rx.receive(LONG), b"received")
        with self.assertRaises(ValueError):
            view.tobytes()

    def test_broadcast_lapped_subscriber_counts_what_it_missed(self):
        tx, rx = self.pair("broadcast", capacity=4096, cell_size=64, overwrite=True)
        sent = 500
        for i in range(sent):
            tx.send(b"%d" % i, timeout=LONG)  # overwrite: never waits
        with self.assertRaises(ringdrop.MessageLost) as caught:
            rx.receive(0)
        self.assertEqual(caught.exception.code, ringdrop.errors.EMESSAGELOST)
        missed = rx.last_missed
        self.assertGreater(missed, 0)
        got = []
        while True:
            try:
                got.append(int(rx.receive(0)))
            except ringdrop.TimedOut:
                break
        # Exact accounting: what it missed and what it got are everything,
        # and what it got is the newest, in order.
        self.assertEqual(missed + len(got), sent)
        self.assertEqual(got, list(range(missed, sent)))


class PoisonTest(RingCase):
    """Delivery counts, reject and dead letters (ring_dead_letters.hpp)."""

    def store(self):
        path = tempfile.mkdtemp(prefix="rdpy-dlq-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.addCleanup(__import__("shutil").rmtree, path, True)
        return path

    def test_reject_then_list_requeue_and_purge(self):
        for kind in ("mpmc", "spsc"):
            with self.subTest(kind=kind):
                store = self.store()
                tx, rx = self.pair(kind, dead_letters=store)
                with self.assertRaises(ringdrop.InvalidArgument):
                    rx.reject("nothing held")
                tx.send(b"order 17", timeout=LONG)
                tx.send(b"order 18", timeout=LONG)
                self.assertEqual(bytes(rx.read(LONG)), b"order 17")
                self.assertEqual(rx.delivery_count, 1)
                rx.reject("unknown customer")
                self.assertEqual(rx.receive(LONG), b"order 18")
                with self.assertRaises(ringdrop.TimedOut):
                    rx.receive(0)

                channel = ringdrop.DropChannel(store, create=False)
                self.addCleanup(channel.close)
                ids = channel.dead_letters()
                self.assertEqual(len(ids), 1)
                if kind == "spsc":
                    tx.close()  # an SPSC ring has one producer: requeue is it for a moment
                ringdrop.requeue_dead_letter(rx.name, ids[0], LONG, dead_letters=store)
                self.assertEqual(channel.dead_letters(), [])
                self.assertEqual(rx.receive(LONG), b"order 17")
                self.assertEqual(rx.delivery_count, 1)

    def test_max_deliveries_and_a_store_that_cannot_be_written(self):
        name = self.name("poison")
        with self.assertRaises(ringdrop.InvalidArgument):
            self.ring(name, "mpmc", "producer", "create", max_deliveries=1001)
        tx = self.ring(name, "mpmc", "producer", "create", max_deliveries=2)
        rx = self.ring(name, "mpmc", "consumer", "open", dead_letters=os.path.join(self.store(), "missing"))
        tx.send(b"keep me", timeout=LONG)
        self.assertEqual(bytes(rx.read(LONG)), b"keep me")
        with self.assertRaises(ringdrop.NotFound):
            rx.reject("cannot")
        rx.release()  # still held after the failed reject: released as processed
        with self.assertRaises(ringdrop.TimedOut):
            rx.receive(0)

    def test_the_default_store_is_named_after_the_ring(self):
        self.assertEqual(
            ringdrop.dead_letter_dir("orders"), "/dev/shm/ringdrop-dlq-%d/orders" % os.geteuid()
        )
        self.assertEqual(ringdrop.dead_letter_dir("/var/lib/x.ring", file_backed=True), "/var/lib/x.ring.dlq")


class NoTimeoutTest(RingCase):
    """timeout=None waits without limit (as queue.Queue.get does)."""

    def test_none_is_the_longest_wait_the_c_abi_can_express(self):
        # ringdrop.h has no "forever" (a negative timeout is EINVAL): its
        # longest is LLONG_MAX ns, as math.inf already gave.
        self.assertEqual(ringdrop.ring._timeout_ns(None), 2**63 - 1)
        self.assertEqual(ringdrop.ring._timeout_ns(None), ringdrop.ring._timeout_ns(math.inf))
        self.assertEqual(ringdrop.ring._timeout_ns(1.5), 1_500_000_000)

    def test_every_ring_call_takes_none(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                tx, rx = self.pair(kind)
                tx.send(b"one", None)
                tx.send(b"two", timeout=None)
                view = tx.reserve(5, None)
                view[:] = b"three"
                tx.commit()
                tx.send(b"four", timeout=None)
                self.assertEqual(rx.receive(None), b"one")
                self.assertEqual(bytes(rx.read(timeout=None)), b"two")
                rx.release()
                self.assertEqual(rx.receive(timeout=None), b"three")
                buffer = bytearray(16)
                self.assertEqual(rx.receive_into(buffer, None), 4)
                self.assertEqual(bytes(buffer[:4]), b"four")
                # Other values are still checked.
                with self.assertRaises(TypeError):
                    rx.receive("forever")
                with self.assertRaises(ringdrop.TimedOut):
                    rx.receive(0)

    def test_none_ends_with_peer_gone_not_a_hang(self):
        tx, rx = self.pair("spsc", liveness_interval=0.001)
        tx.send(b"last words", timeout=None)
        tx.close()
        self.assertEqual(rx.receive(None), b"last words")
        with self.assertRaises(ringdrop.PeerGone):
            rx.receive(None)


class IterationTest(RingCase):
    def test_for_loop_over_a_consumer_ends_when_the_producer_closes(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                tx, rx = self.pair(kind, liveness_interval=0.001)
                sent = [b"m%d" % i for i in range(5)] + [b""]
                for m in sent:
                    tx.send(m, timeout=LONG)
                tx.close()
                received = []
                for message in rx:
                    self.assertIsInstance(message, bytes)
                    received.append(message)
                self.assertEqual(received, sent)
                self.assertFalse(rx.closed)

    def test_a_new_loop_reads_what_a_new_producer_sends(self):
        tx, rx = self.pair("mpmc", liveness_interval=0.001)
        tx.send(b"first", timeout=LONG)
        tx.close()
        self.assertEqual(list(rx), [b"first"])
        with ringdrop.Producer(rx.name, "mpmc", "open") as again:
            again.send(b"second", timeout=LONG)
        self.assertEqual(list(rx), [b"second"])

    def test_messages_waits_without_limit_by_default(self):
        tx, rx = self.pair("broadcast", liveness_interval=0.001)
        for i in range(3):
            tx.send(b"%d" % i, timeout=LONG)
        tx.close()
        self.assertEqual(list(rx.messages()), [b"0", b"1", b"2"])

    def test_other_errors_end_the_loop(self):
        tx, rx = self.pair("broadcast", capacity=4096, cell_size=64, overwrite=True)
        for i in range(500):
            tx.send(b"%d" % i, timeout=LONG)  # laps the subscriber
        with self.assertRaises(ringdrop.MessageLost):
            for _ in rx:
                self.fail("a lapped subscriber got a message before MessageLost")
        self.assertGreater(rx.last_missed, 0)

    def test_a_producer_is_not_iterable(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                tx, _ = self.pair(kind)
                with self.assertRaises(TypeError):
                    iter(tx)


if __name__ == "__main__":
    unittest.main()

"""Tests of `ringdrop`, the operator's command (tools/cli), run as a user runs
it: as a separate program, against rings, drop channels and services that
other processes own.

Covered, one TestCase class per command:

  LsTest      rings owned by a live child (kind, capacity, the child's pid and
              role, not stale), then by a child killed with SIGKILL (stale, no
              peers); --stale; a drop channel's counts (--channel); services
              registered by a child (alive, then dead), with --registry and
              with $RINGDROP_SERVICE_DIR.
  StatTest    one ring, channel and service in full (--json), by prefixed and
              bare names; --watch SECONDS --count N --json (one JSON object a
              line, each with "stat" and "per_second").
  SendTest    raw bytes (--data, stdin, --file) to an MPMC ring, read back
              exactly; a drop channel's message with --header; a typed
              message from --schema/--type/--json, read back with the
              binding's Message and checked field by field (and its dead
              letter's bytes); the refusals (busy SPSC producer role: 7,
              --header on a raw ring message: 2, a schema that does not
              parse, an unknown type, JSON that does not fit: 4), each with
              one "ringdrop: ..." line on stderr and nothing sent; the
              global --json after the command's name.
  DlqTest     a drop channel's dead letters (made by a consumer's reject):
              ls, --reason (the reason only), --counts (distinct reasons
              kept apart), show (--json, --raw, human), requeue
              (claimed exactly once by a consumer in another process),
              requeue --all --dry-run / --limit, purge without --yes and
              without a terminal, purge --yes, unknown ids, ids that are
              paths, an id of another channel.
  RingDlqTest a ring's dead letters (an MPMC consumer's reject): ls, show,
              requeue back into the ring; bad ids; a ring that does not exist;
              another program's file named as a ring.
  GcTest      --prefix --min-age 0s: a ring whose owner was killed (empty) is
              removed, a live one kept, a stale one that holds messages kept
              unless --include-waiting; --dry-run removes nothing; --min-age;
              dead service entries; another program's file is never touched;
              a killed client's reply ring that a server still holds is removed,
              a live client's kept.
  DoctorTest  --json: every check ok/warn/fail, "ok" agrees with the exit
              status; a channel with dead letters warns, a missing one fails.
  BadInputTest unknown names (3, named in the message), paths with ".." (4),
              another program's file in /dev/shm (4, left unchanged), and the
              --json output of every command (before or after the command's
              name) parses.

Not covered here: `tail` and `call`.

Environment (set by ctest, tools/cli/CMakeLists.txt): RINGDROP_CLI (the
binary), RINGDROP_LIBRARY (libringdrop.so for the Python binding),
PYTHONPATH (bindings/python). By hand, from the source tree:

    RINGDROP_CLI=build/release/tools/cli/ringdrop \\
    RINGDROP_LIBRARY=build/release/lib/libringdrop.so \\
    PYTHONPATH=bindings/python PYTHONDONTWRITEBYTECODE=1 \\
        python3 -m unittest discover -s tests/cli -p test_cli.py -v

Standard library only. Children announce themselves with a printed line
("READY ..."); the tests wait for that line, never sleep to synchronise, and
measure no time. Every name is unique to the test (pid and a random suffix);
rings, dead-letter stores, registries and directories are removed afterwards.
"""

import errno
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
BINDING = os.path.join(SOURCE_ROOT, "bindings", "python")
if BINDING not in sys.path:
    sys.path.insert(0, BINDING)

import ringdrop  # noqa: E402

CLI = os.environ.get("RINGDROP_CLI") or os.path.join(SOURCE_ROOT, "build", "release", "tools", "cli", "ringdrop")
SCHEMA = os.path.join(HERE, "cli_orders.capnp")
ORDER_TYPE_ID = 0xA8C4E2F0B6D81357  # the struct id given in cli_orders.capnp

LONG = 60.0  # bounds waits that a correct program ends long before; never a measure
CAPACITY = 1 << 16  # the rings the children make
REBUILD_GRACE = 120.0  # how long a binary being rebuilt may be missing

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_BAD_INPUT = 0, 1, 2, 3, 4
EXIT_TIMED_OUT, EXIT_DENIED, EXIT_BUSY, EXIT_REMOTE, EXIT_PROBLEMS = 5, 6, 7, 8, 9


# --------------------------------------------------------------------------
# Running the command
# --------------------------------------------------------------------------


class CliResult:
    """What one run of the command gave: exit status, stdout (bytes), stderr."""

    def __init__(self, args, code, out, err):
        self.args, self.code, self.out, self.err = args, code, out, err

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)

    def json_lines(self):
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def __repr__(self):
        return "ringdrop %s -> exit %s\nstdout: %s\nstderr: %s" % (
            " ".join(self.args), self.code, self.text[:3000], self.err)


def _binary_state():
    try:
        st = os.stat(CLI)
        return (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        return None


def run_cli(*args, input=None, env=None):
    """Runs `ringdrop ARGS` (stdin: `input`, else /dev/null, never a
    terminal) and returns a CliResult.

    The binary may be rebuilt while the tests run (another build in the same
    tree): a run that could not start, or that died of a signal while the
    file changed under it, is tried again; nothing else is."""
    deadline = time.monotonic() + REBUILD_GRACE
    while True:
        before = _binary_state()
        try:
            p = subprocess.run(
                [CLI, *args],
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                timeout=300,  # a bound for a hung run, not a measure
            )
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.EACCES, errno.ETXTBSY, errno.ENOEXEC) and time.monotonic() < deadline:
                time.sleep(0.2)  # waiting for the rebuilt file, not for an event of the test
                continue
            raise
        swapped = _binary_state() != before
        if (p.returncode < 0 or p.returncode == 127) and swapped and time.monotonic() < deadline:
            continue
        return CliResult(args, p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))


def unique(tag):
    """A name no other test (nor another run) uses: [a-z0-9-], valid as a shm
    name and a service name."""
    return "rdcli-%d-%s-%s" % (os.getpid(), tag, secrets.token_hex(4))


def child_env(**extra):
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = BINDING + (os.pathsep + path if path else "")
    env.update(extra)
    return env


def decode_order(payload):
    """(id, qty, note) of an Order (cli_orders.capnp) in a flat single-segment
    Cap'n Proto message whose root is the Order; absent fields are 0/""."""
    count, _ = struct.unpack_from("<II", payload, 0)
    assert count == 0, "one segment expected"
    seg = payload[8:]

    def word(i):
        return struct.unpack_from("<Q", seg, 8 * i)[0]

    def offset(p):
        off = (p & 0xFFFFFFFF) >> 2
        return off - (1 << 30) if off >= (1 << 29) else off

    root = word(0)
    if root == 0:
        return 0, 0, ""
    assert root & 3 == 0, "the root is a struct"
    start = 1 + offset(root)
    data_words, ptr_words = (root >> 32) & 0xFFFF, (root >> 48) & 0xFFFF
    order_id = word(start) if data_words >= 1 else 0
    qty = struct.unpack_from("<I", seg, 8 * (start + 1))[0] if data_words >= 2 else 0
    note = ""
    if ptr_words >= 1:
        at = start + data_words
        p = word(at)
        if p != 0:
            assert p & 3 == 1 and (p >> 32) & 7 == 2, "note is a list of bytes"
            n = p >> 35  # with the NUL
            begin = 8 * (at + 1 + offset(p))
            note = seg[begin:begin + n - 1].decode("utf-8")
    return order_id, qty, note


# --------------------------------------------------------------------------
# Other processes
# --------------------------------------------------------------------------

# Opens (creates) a ring in one role, sends the messages given, says READY
# and holds the ring until its stdin closes (or it is killed).
RING_OWNER = textwrap.dedent(
    """
    import os, sys
    import ringdrop
    name, kind, role, capacity = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ring = ringdrop.Ring(name, kind, role, "create", capacity=capacity)
    for message in sys.argv[5:]:
        ring.send(message.encode(), timeout=60)
    print("READY", os.getpid(), flush=True)
    sys.stdin.read()
    ring.close()
    """
)

# Serves nothing, but registers service argv[1] in registry argv[2] while it
# lives: READY, then holds it until its stdin closes (or it is killed).
SERVICE_OWNER = textwrap.dedent(
    """
    import os, sys
    import ringdrop
    with ringdrop.Server(sys.argv[1], registry_dir=sys.argv[2], info=sys.argv[3]) as server:
        print("READY", os.getpid(), flush=True)
        sys.stdin.read()
    """
)

# A consumer of drop channel argv[1]: READY once it waits for a claim; then
# GOT <id> <attempt> <data hex> for the first claim (acked), then every
# further claim there is at once (EXTRA <id>), then DONE.
DROP_CONSUMER = textwrap.dedent(
    """
    import os, sys
    import ringdrop
    with ringdrop.DropChannel(sys.argv[1], create=False) as channel, channel.consumer() as rx:
        print("READY", os.getpid(), flush=True)
        claim = rx.claim(60)
        print("GOT", claim.id, claim.attempt, claim.data.hex(), flush=True)
        claim.ack()
        for extra in rx.claims(0):
            print("EXTRA", extra.id, flush=True)
            extra.ack()
        print("DONE", flush=True)
    """
)


# Reads one message from MPMC ring argv[1] and holds it (never released):
# HOLDING, then waits to be killed.
HOLDER = textwrap.dedent(
    """
    import sys
    import ringdrop
    ring = ringdrop.Ring(sys.argv[1], "mpmc", "consumer", "open")
    ring.read(60)
    print("HOLDING", flush=True)
    sys.stdin.read()
    """
)


class Child:
    """A Python child process running one of the scripts above."""

    def __init__(self, script, *args, env=None):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env or child_env(),
        )
        self.pid = self.proc.pid

    def expect(self, word):
        """The child's next line, which must start with `word`; its words."""
        line = self.proc.stdout.readline().decode("utf-8", "replace")
        if not line.startswith(word):
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            err = self.proc.stderr.read().decode("utf-8", "replace")
            raise AssertionError("child said %r, not %s...; its stderr: %s" % (line, word, err))
        return line.split()

    def kill9(self):
        """A crash: SIGKILL, and wait until it is gone."""
        os.kill(self.pid, signal.SIGKILL)
        code = self.proc.wait(timeout=LONG)
        assert code == -signal.SIGKILL, code

    def finish(self):
        """Lets it end by itself (its stdin closes); its exit status."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        return self.proc.wait(timeout=LONG)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


# --------------------------------------------------------------------------
# The base of every test case
# --------------------------------------------------------------------------


class CliCase(unittest.TestCase):
    maxDiff = None

    # ---- assertions

    def assertExit(self, result, code):
        self.assertEqual(result.code, code, "expected exit %d from %r" % (code, result))

    def assertFails(self, result, code):
        """Exit `code`, one line "ringdrop: ..." on stderr, nothing on stdout."""
        self.assertExit(result, code)
        lines = result.err.splitlines()
        self.assertEqual(len(lines), 1, "one line on stderr expected: %r" % (result,))
        self.assertTrue(lines[0].startswith("ringdrop: "), result)
        self.assertEqual(result.out, b"", result)
        return lines[0]

    def assertEmpty(self, consumer):
        """Nothing waits in the ring for `consumer`."""
        try:
            message = consumer.receive(0)
        except (ringdrop.TimedOut, ringdrop.PeerGone):
            return
        self.fail("the ring held a message: %r" % (message,))

    # ---- things the test owns

    def tempdir(self):
        path = tempfile.mkdtemp(prefix="rdcli-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def forget_ring(self, name):
        """Removes ring `name` and its default dead-letter store after the test."""
        self.addCleanup(shutil.rmtree, ringdrop.dead_letter_dir(name), True)
        self.addCleanup(ringdrop.remove, name, missing_ok=True)

    def ring(self, name, kind, role, how="create", **options):
        """A ring end held by this process."""
        if how == "create":
            self.forget_ring(name)
        r = ringdrop.Ring(name, kind, role, how, **options)
        self.addCleanup(r.close)
        return r

    def child(self, script, *args, env=None):
        c = Child(script, *args, env=env)
        self.addCleanup(c.stop)
        return c

    def child_process(self, program, *args):
        """A native child (stdin and stdout piped), killed after the test."""
        proc = subprocess.Popen([program, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for f in (proc.stdin, proc.stdout, proc.stderr):
                f.close()

        self.addCleanup(stop)
        return proc

    def ring_owner(self, name, kind="mpmc", role="producer", messages=()):
        """A child that creates ring `name` and holds `role` in it (READY
        already said)."""
        self.forget_ring(name)
        c = self.child(RING_OWNER, name, kind, role, CAPACITY, *messages)
        c.expect("READY")
        return c

    def service_owner(self, service, registry, info="rdcli test"):
        """A child registered as `service` in `registry` (READY already said)."""
        self.forget_ring("ringdrop.svc." + service)
        c = self.child(SERVICE_OWNER, service, registry, info, env=child_env(RINGDROP_SERVICE_DIR=registry))
        c.expect("READY")
        return c

    def channel(self, root=None):
        """A drop channel (created) in a directory of its own."""
        root = root or os.path.join(self.tempdir(), "channel")
        ch = ringdrop.DropChannel(root)
        self.addCleanup(ch.close)
        return ch

    def dead_letter(self, channel, data, reason, headers=None):
        """Publishes `data` and has a consumer reject it (the channel holds
        no other ready message): the dead letter's id."""
        channel.publish(data, headers=headers)
        with channel.consumer() as rx:
            claim = rx.claim(LONG)
            assert claim.data == bytes(data), "another message was ready"
            claim.reject(reason)
            return claim.id

    def registry(self):
        """An empty service registry directory of this test (not the machine's)."""
        return os.path.join(self.tempdir(), "registry")

    # ---- reading the command's JSON

    @staticmethod
    def ring_named(inventory, name):
        found = [r for r in inventory["rings"] if r["name"] == "shm:" + name]
        assert len(found) <= 1, found
        return found[0] if found else None

    @staticmethod
    def failed_files(channel_root):
        return sorted(os.listdir(os.path.join(channel_root, "failed")))


# --------------------------------------------------------------------------
# ringdrop ls
# --------------------------------------------------------------------------


class LsTest(CliCase):
    def test_a_ring_owned_by_a_live_child_then_by_a_crashed_one(self):
        for kind, role in (("spsc", "producer"), ("spsc", "consumer"), ("mpmc", "producer"),
                           ("mpmc", "consumer"), ("broadcast", "publisher"), ("broadcast", "subscriber")):
            with self.subTest(kind=kind, role=role):
                name = unique("ls-" + kind)
                owner = self.ring_owner(name, kind, role)

                r = run_cli("ls", "--json")
                self.assertExit(r, EXIT_OK)
                ring = self.ring_named(r.json(), name)
                self.assertIsNotNone(ring, r)
                self.assertEqual(ring["kind"], kind)
                self.assertEqual(ring["capacity"], CAPACITY)
                self.assertFalse(ring["stale"])
                self.assertIn((owner.pid, role), [(p["pid"], p["role"]) for p in ring["peers"]])
                self.assertEqual(ring["creator_pid"], owner.pid)

                owner.kill9()
                r = run_cli("ls", "--json")
                self.assertExit(r, EXIT_OK)
                ring = self.ring_named(r.json(), name)
                self.assertIsNotNone(ring, "a crashed owner's ring stays until gc: %r" % (r,))
                self.assertTrue(ring["stale"])
                self.assertEqual(ring["peers"], [])

                human = run_cli("ls")
                self.assertExit(human, EXIT_OK)
                line = [ln for ln in human.text.splitlines() if ("shm:" + name) in ln]
                self.assertEqual(len(line), 1, human)
                self.assertIn(kind, line[0])
                self.assertIn("none (stale)", line[0])

    def test_stale_lists_only_stale_rings(self):
        live_name, dead_name = unique("ls-live"), unique("ls-dead")
        self.ring_owner(live_name)
        self.ring_owner(dead_name).kill9()

        r = run_cli("ls", "--stale", "--json")
        self.assertExit(r, EXIT_OK)
        inventory = r.json()
        self.assertTrue(all(ring["stale"] for ring in inventory["rings"]), r)
        self.assertIsNotNone(self.ring_named(inventory, dead_name))
        self.assertIsNone(self.ring_named(inventory, live_name))

        everything = run_cli("ls", "--json").json()
        self.assertIsNotNone(self.ring_named(everything, live_name))
        self.assertIsNotNone(self.ring_named(everything, dead_name))

        human = run_cli("ls", "--stale")
        self.assertExit(human, EXIT_OK)
        self.assertIn("shm:" + dead_name, human.text)
        self.assertNotIn("shm:" + live_name, human.text)

    def test_a_drop_channel_given_with_channel_shows_its_counts(self):
        ch = self.channel()
        self.dead_letter(ch, b"poison", "bad-total")
        for i in range(4):
            ch.publish(b"order %d" % i)
        with ch.consumer() as rx:
            held = rx.claim(LONG)  # stays claimed while `ls` looks
            try:
                r = run_cli("ls", "--channel", ch.root, "--json", "--registry", self.registry())
                self.assertExit(r, EXIT_OK)
                channels = r.json()["channels"]
                self.assertEqual(len(channels), 1, r)
                c = channels[0]
                self.assertEqual(c["root"], ch.root)
                self.assertEqual(
                    {k: c[k] for k in ("incoming", "ready", "claimed", "retrying", "dead_letters", "done")},
                    {"incoming": 0, "ready": 3, "claimed": 1, "retrying": 0, "dead_letters": 1, "done": 0},
                )
                human = run_cli("ls", "--channel", ch.root, "--registry", self.registry())
                self.assertExit(human, EXIT_OK)
                self.assertIn(ch.root, human.text)
            finally:
                held.ack()

    def test_a_service_registered_by_a_child(self):
        registry = self.registry()
        service = unique("svc")
        owner = self.service_owner(service, registry, info="quotes for the test")

        def entry(result):
            self.assertExit(result, EXIT_OK)
            found = [s for s in result.json()["services"] if s["service"] == service]
            self.assertEqual(len(found), 1, result)
            return found[0]

        s = entry(run_cli("ls", "--json", "--registry", registry))
        self.assertTrue(s["alive"])
        self.assertEqual(s["pid"], owner.pid)
        self.assertEqual(s["ring"], "shm:ringdrop.svc." + service)
        self.assertEqual(s["info"], "quotes for the test")
        # The library's default registry is $RINGDROP_SERVICE_DIR: the command honours it too.
        s = entry(run_cli("ls", "--json", env=dict(os.environ, RINGDROP_SERVICE_DIR=registry)))
        self.assertTrue(s["alive"])

        owner.kill9()
        s = entry(run_cli("ls", "--json", "--registry", registry))
        self.assertFalse(s["alive"])
        human = run_cli("ls", "--registry", registry)
        self.assertExit(human, EXIT_OK)
        self.assertRegex(human.text, r"(?m)^%s\s.*\bDEAD\b" % service)


# --------------------------------------------------------------------------
# ringdrop stat
# --------------------------------------------------------------------------


class StatTest(CliCase):
    def test_a_ring(self):
        name = unique("stat")
        owner = self.ring_owner(name, "mpmc", "producer", messages=("one", "three"))
        for given in ("shm:" + name, name):
            with self.subTest(name=given):
                r = run_cli("stat", given, "--json")
                self.assertExit(r, EXIT_OK)
                ring = r.json()
                self.assertEqual(ring["name"], "shm:" + name)
                self.assertEqual(ring["kind"], "mpmc")
                self.assertEqual(ring["capacity"], CAPACITY)
                self.assertEqual((ring["committed"], ring["consumed"], ring["fill"]), (2, 0, 2))
                self.assertEqual(ring["bytes_committed"], len("one") + len("three"))
                self.assertEqual([(p["pid"], p["role"], p["messages"]) for p in ring["peers"]],
                                 [(owner.pid, "producer", 2)])
                self.assertFalse(ring["stale"])
                self.assertEqual(ring["dead_letter_dir"], ringdrop.dead_letter_dir(name))
        human = run_cli("stat", "shm:" + name)
        self.assertExit(human, EXIT_OK)
        self.assertRegex(human.text, r"(?m)^kind\s+mpmc$")
        self.assertRegex(human.text, r"(?m)^\s+producer\s+pid %d\b" % owner.pid)

        owner.kill9()
        ring = run_cli("stat", "shm:" + name, "--json").json()
        self.assertTrue(ring["stale"])
        self.assertEqual(ring["peers"], [])
        self.assertEqual(ring["fill"], 2, "a crash loses nothing committed")

    def test_a_channel(self):
        ch = self.channel()
        self.dead_letter(ch, b"c", "bad-total")
        ch.publish(b"a")
        r = run_cli("stat", ch.root, "--json")
        self.assertExit(r, EXIT_OK)
        c = r.json()
        self.assertEqual(c["root"], ch.root)
        self.assertEqual((c["ready"], c["claimed"], c["dead_letters"]), (1, 0, 1))
        human = run_cli("stat", ch.root)
        self.assertExit(human, EXIT_OK)
        self.assertRegex(human.text, r"(?m)^dead_letters\s+1$")

    def test_a_service(self):
        registry = self.registry()
        service = unique("svc")
        owner = self.service_owner(service, registry)
        for given in ("service:" + service, service):
            with self.subTest(name=given):
                r = run_cli("stat", given, "--json", "--registry", registry)
                self.assertExit(r, EXIT_OK)
                s = r.json()
                self.assertEqual(s["service"], service)
                self.assertEqual(s["ring"]["name"], "shm:ringdrop.svc." + service)
                self.assertEqual(s["ring"]["kind"], "mpmc")
                self.assertFalse(s["ring"]["stale"])
                self.assertIn(owner.pid, [p["pid"] for p in s["ring"]["peers"]])
        human = run_cli("stat", "service:" + service, "--registry", registry)
        self.assertExit(human, EXIT_OK)
        self.assertRegex(human.text, r"(?m)^service\s+%s$" % service)

    def test_watch_prints_one_json_object_a_line(self):
        name = unique("watch")
        self.ring_owner(name, "mpmc", "producer", messages=("x",))
        ch = self.channel()
        ch.publish(b"y")
        for target, counter in (("shm:" + name, "committed"), (ch.root, "ready")):
            with self.subTest(target=target):
                r = run_cli("stat", target, "--watch", "0.05", "--count", "2", "--json")
                self.assertExit(r, EXIT_OK)
                lines = r.text.splitlines()
                self.assertEqual(len(lines), 2, r)
                for line in lines:
                    sample = json.loads(line)
                    self.assertIn("stat", sample)
                    self.assertIn("per_second", sample)
                    self.assertIn("at", sample)
                    self.assertIsInstance(sample["per_second"], dict)
                    self.assertIn(counter, sample["per_second"])
                    self.assertIsInstance(sample["per_second"][counter], (int, float))
                    self.assertIn(counter, sample["stat"])

    def test_watch_needs_a_positive_interval(self):
        name = unique("watch0")
        self.ring_owner(name)
        self.assertFails(run_cli("stat", "shm:" + name, "--watch", "0", "--count", "1"), EXIT_USAGE)


# --------------------------------------------------------------------------
# ringdrop send
# --------------------------------------------------------------------------


class SendTest(CliCase):
    def consumer(self, kind="mpmc"):
        """A ring created by this process, its consumer end."""
        name = unique("send-" + kind)
        return name, self.ring(name, kind, "consumer")

    def test_data_to_an_mpmc_ring(self):
        name, rx = self.consumer()
        data = "buy 100 ACME @ 17.5 ; é"
        r = run_cli("--json", "send", "shm:" + name, "--data", data)
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json(), {"sent": True, "to": "shm:" + name, "bytes": len(data.encode())})
        self.assertEqual(rx.receive(LONG), data.encode())
        self.assertEmpty(rx)

    def test_stdin_and_file_to_an_mpmc_ring(self):
        name, rx = self.consumer()
        piped = b"\x00binary\xff\nwith a newline\r\n"
        r = run_cli("send", name, input=piped)  # a bare name: the ring in /dev/shm
        self.assertExit(r, EXIT_OK)
        self.assertIn("sent %d bytes to shm:%s" % (len(piped), name), r.text)
        path = os.path.join(self.tempdir(), "message.bin")
        from_file = bytes(range(200))
        with open(path, "wb") as f:
            f.write(from_file)
        self.assertExit(run_cli("send", "shm:" + name, "--file", path), EXIT_OK)
        self.assertEqual(rx.receive(LONG), piped)
        self.assertEqual(rx.receive(LONG), from_file)
        self.assertEmpty(rx)

    def test_to_a_drop_channel_with_headers(self):
        ch = self.channel()
        r = run_cli("--json", "send", ch.root, "--data", "order 42",
                    "--header", "content-type=text/plain", "--header", "order-id=42")
        self.assertExit(r, EXIT_OK)
        sent = r.json()
        self.assertEqual((sent["sent"], sent["to"], sent["bytes"]), (True, ch.root, 8))
        with ch.consumer() as rx:
            claim = rx.claim(LONG)
            self.assertEqual(claim.id, sent["id"])
            self.assertEqual(claim.data, b"order 42")
            self.assertEqual(claim.headers["content-type"], "text/plain")
            self.assertEqual(claim.headers["order-id"], "42")
            claim.ack()
            with self.assertRaises(ringdrop.TimedOut):
                rx.claim(0)

    def test_a_typed_message_to_a_ring(self):
        name, rx = self.consumer()
        r = run_cli("--json", "send", "shm:" + name, "--schema", SCHEMA, "--type", "Order",
                    "--json", '{"id": "7", "qty": 2, "note": "rush"}', "--header", "trace=abc-1")
        self.assertExit(r, EXIT_OK)
        sent = r.json()
        data = bytes(rx.read(LONG))
        self.assertEqual(sent["bytes"], len(data))
        with ringdrop.Message.parse(data) as m:
            self.assertEqual(m.type_id, ORDER_TYPE_ID)
            self.assertEqual(m.kind, ringdrop.MessageKind.NOTIFICATION)
            self.assertEqual(m.headers, {"trace": "abc-1"})
            self.assertEqual(decode_order(m.payload), (7, 2, "rush"))
            message_id = m.id

        # Its dead letter keeps the same bytes, and `dlq show` decodes them.
        rx.reject("checked by the test")
        listed = run_cli("dlq", "ls", "shm:" + name, "--json")
        self.assertExit(listed, EXIT_OK)
        letters = listed.json()[0]["dead_letters"]
        self.assertEqual(len(letters), 1, listed)
        raw = run_cli("dlq", "show", "shm:" + name, letters[0]["id"], "--raw")
        self.assertExit(raw, EXIT_OK)
        self.assertEqual(raw.out, data)
        shown = run_cli("dlq", "show", "shm:" + name, letters[0]["id"], "--schema", SCHEMA, "--type", "Order", "--json")
        self.assertExit(shown, EXIT_OK)
        body = shown.json()["body"]
        self.assertEqual((body["typed"], body["size"]), (True, len(data)))
        envelope = body["envelope"]
        self.assertEqual(envelope["message_id"], str(message_id))  # 64-bit ids as strings
        self.assertEqual(envelope["type_id"], "0x%016x" % ORDER_TYPE_ID)
        self.assertEqual(envelope["kind"], "notification")
        self.assertEqual(envelope["headers"], {"trace": "abc-1"})
        self.assertEqual(envelope["payload"], {"id": "7", "qty": 2, "note": "rush"})  # UInt64 as a string
        self.assertEmpty(rx)

    def test_sends_json_is_the_payload_so_the_output_flag_goes_first(self):
        # docs/cli.md: for `send` and `call`, --json after the command names
        # the typed payload (as the issue's `send --json '{...}'`); JSON
        # output is asked for before the command: `ringdrop --json send`.
        name, rx = self.consumer()
        r = run_cli("send", "shm:" + name, "--data", "hello", "--json")
        self.assertExit(r, EXIT_USAGE)
        self.assertIn("--json", r.err)  # CLI11's message names the option
        self.assertEmpty(rx)
        r = run_cli("--json", "send", "shm:" + name, "--data", "hello")
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json(), {"sent": True, "to": "shm:" + name, "bytes": 5})
        self.assertEqual(rx.receive(LONG), b"hello")

    def test_an_spsc_ring_whose_producer_is_a_live_child_is_busy(self):
        name = unique("send-busy")
        self.ring_owner(name, "spsc", "producer")
        rx = self.ring(name, "spsc", "consumer", "open")
        line = self.assertFails(run_cli("send", "shm:" + name, "--data", "x"), EXIT_BUSY)
        self.assertIn("shm:" + name, line)
        self.assertEmpty(rx)

    def test_a_header_on_a_raw_ring_message_is_refused(self):
        name, rx = self.consumer()
        self.assertFails(run_cli("send", "shm:" + name, "--data", "x", "--header", "k=v"), EXIT_USAGE)
        self.assertEmpty(rx)

    def test_a_schema_that_does_not_parse(self):
        name, rx = self.consumer()
        broken = os.path.join(self.tempdir(), "broken.capnp")
        with open(broken, "w") as f:
            f.write("@0xd6a1f0c3b2e49a72;\nstruct Order {\n  id @0 :UInt64\n  qty @1 UInt32;\n}\n")
        line = self.assertFails(
            run_cli("send", "shm:" + name, "--schema", broken, "--type", "Order", "--json", '{"id": 1}'),
            EXIT_BAD_INPUT)
        self.assertIn(broken, line)
        self.assertEmpty(rx)

    def test_a_type_not_in_the_schema(self):
        name, rx = self.consumer()
        line = self.assertFails(
            run_cli("send", "shm:" + name, "--schema", SCHEMA, "--type", "Invoice", "--json", '{"id": 1}'),
            EXIT_BAD_INPUT)
        self.assertIn("Invoice", line)
        self.assertEmpty(rx)

    def test_json_that_does_not_fit_the_type(self):
        name, rx = self.consumer()
        for payload in ('{"qty": "many"}', '{"qty": ', "[1, 2]", '{"id": {"nested": 1}}'):
            with self.subTest(json=payload):
                self.assertFails(
                    run_cli("send", "shm:" + name, "--schema", SCHEMA, "--type", "Order", "--json", payload),
                    EXIT_BAD_INPUT)
                self.assertEmpty(rx)

    def test_json_with_a_field_the_type_does_not_have(self):
        # A misspelt field ("quantity" for "qty") must not send an Order with
        # qty 0: typed_json.hpp promises bad_message for JSON that does not
        # match the type, naming the field.
        name, rx = self.consumer()
        line = self.assertFails(
            run_cli("send", "shm:" + name, "--schema", SCHEMA, "--type", "Order", "--json", '{"id": 7, "quantity": 2}'),
            EXIT_BAD_INPUT)
        self.assertIn("quantity", line)
        self.assertEmpty(rx)


# --------------------------------------------------------------------------
# ringdrop dlq (drop channels)
# --------------------------------------------------------------------------


class DlqTest(CliCase):
    BODIES = (b"total\x00\xff\n-1", b"customer 404", b"total 1e309")
    REASONS = ("bad-total", "unknown-customer", "bad-total")

    def setUp(self):
        self.ch = self.channel()
        self.root = self.ch.root
        self.ids = [
            self.dead_letter(self.ch, body, reason, headers={"order-id": str(i), "content-type": "text/x-order"})
            for i, (body, reason) in enumerate(zip(self.BODIES, self.REASONS))
        ]

    def listed(self, *args):
        r = run_cli("dlq", "ls", self.root, "--json", *args)
        self.assertExit(r, EXIT_OK)
        stores = r.json()
        self.assertEqual(len(stores), 1, r)
        self.assertEqual((stores[0]["store"], stores[0]["kind"]), (self.root, "channel"))
        return [d["id"] for d in stores[0]["dead_letters"]]

    def test_ls_and_reason(self):
        self.assertEqual(sorted(self.listed()), sorted(self.ids))
        self.assertEqual(sorted(self.listed("--reason", "bad-total")), sorted([self.ids[0], self.ids[2]]))
        self.assertEqual(self.listed("--reason", "unknown"), [self.ids[1]])
        self.assertEqual(self.listed("--reason", "no such reason"), [])
        human = run_cli("dlq", "ls", self.root)
        self.assertExit(human, EXIT_OK)
        self.assertIn("%s: 3 dead letters" % self.root, human.text)
        for id_, reason in zip(self.ids, self.REASONS):
            self.assertRegex(human.text, r"(?m)^\s+%s\s+1\s+\S+\s+%s$" % (id_, reason))

    def test_the_reason_filter_looks_at_the_reason_only(self):
        # None of the reasons says "attempts" or "consumer": those are the
        # keys of the reason file (attempts: 1, consumer: <id>), not reasons.
        self.assertEqual(self.listed("--reason", "attempts"), [])
        self.assertEqual(self.listed("--reason", "consumer"), [])

    def test_counts(self):
        r = run_cli("dlq", "ls", self.root, "--counts", "--json")
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json()["per_reason"], {"bad-total": 2, "unknown-customer": 1})
        human = run_cli("dlq", "ls", self.root, "--counts")
        self.assertExit(human, EXIT_OK)
        self.assertRegex(human.text, r"(?m)^\s+2\s+bad-total$")
        self.assertRegex(human.text, r"(?m)^\s+1\s+unknown-customer$")
        filtered = run_cli("dlq", "ls", self.root, "--counts", "--json", "--reason", "unknown")
        self.assertEqual(filtered.json()["per_reason"], {"unknown-customer": 1})

    def test_counts_keep_reasons_that_share_an_ending_apart(self):
        ch = self.channel()
        for reason in ("parse error: bad total", "db error: bad total", "timeout"):
            self.dead_letter(ch, b"x", reason)
        r = run_cli("dlq", "ls", ch.root, "--counts", "--json")
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json()["per_reason"],
                         {"parse error: bad total": 1, "db error: bad total": 1, "timeout": 1})

    def test_show(self):
        id_ = self.ids[0]
        r = run_cli("dlq", "show", self.root, id_, "--json")
        self.assertExit(r, EXIT_OK)
        d = r.json()
        self.assertEqual((d["id"], d["store"], d["attempts"]), (id_, self.root, 1))
        self.assertIn("bad-total", d["reason"])
        self.assertEqual(d["headers"]["order-id"], "0")
        self.assertEqual(d["headers"]["content-type"], "text/x-order")
        self.assertTrue(d["path"].startswith(os.path.join(self.root, "failed") + os.sep))
        body = d["body"]
        self.assertEqual((body["typed"], body["size"]), (False, len(self.BODIES[0])))
        self.assertEqual(bytes.fromhex(body["hex"]), self.BODIES[0])  # not text: hex

        text = run_cli("dlq", "show", self.root, self.ids[1], "--json").json()["body"]
        self.assertEqual(text, {"typed": False, "size": len(self.BODIES[1]), "text": self.BODIES[1].decode()})

        for id_, body in zip(self.ids, self.BODIES):
            raw = run_cli("dlq", "show", self.root, id_, "--raw")
            self.assertExit(raw, EXIT_OK)
            self.assertEqual(raw.out, body)

        human = run_cli("dlq", "show", self.root, self.ids[0])
        self.assertExit(human, EXIT_OK)
        self.assertRegex(human.text, r"(?m)^id\s+%s$" % self.ids[0])
        self.assertRegex(human.text, r"(?m)^attempts\s+1$")
        self.assertIn("reason: bad-total", human.text)
        self.assertIn("order-id: 0", human.text)
        self.assertIn("%d bytes" % len(self.BODIES[0]), human.text)
        self.assertRegex(human.text, r"74 6f 74 61 6c 00 ff 0a 2d 31")
        self.assertEqual(sorted(self.listed()), sorted(self.ids), "show changes nothing")

    def test_requeue_is_claimed_exactly_once_by_another_process(self):
        consumer = self.child(DROP_CONSUMER, self.root)
        consumer.expect("READY")
        id_ = self.ids[1]
        r = run_cli("dlq", "requeue", self.root, id_, "--json")
        self.assertExit(r, EXIT_OK)
        result = r.json()
        self.assertEqual((result["matched"], result["done"], result["dry_run"]), (1, 1, False))
        self.assertEqual(result["results"], [{"id": id_, "ok": True, "error": ""}])

        words = consumer.expect("GOT")
        self.assertEqual(words[1:], [id_, "1", self.BODIES[1].hex()])  # attempts reset
        consumer.expect("DONE")  # no second delivery
        self.assertEqual(consumer.finish(), 0)
        self.assertEqual(sorted(self.listed()), sorted([self.ids[0], self.ids[2]]))
        counts = run_cli("stat", self.root, "--json").json()
        self.assertEqual((counts["ready"], counts["claimed"], counts["dead_letters"]), (0, 0, 2))

    def test_requeue_all_dry_run_changes_nothing(self):
        before = self.failed_files(self.root)
        r = run_cli("dlq", "requeue", self.root, "--all", "--reason", "bad-total", "--dry-run", "--json")
        self.assertExit(r, EXIT_OK)
        result = r.json()
        self.assertEqual((result["dry_run"], result["matched"], result["done"]), (True, 2, 0))
        self.assertEqual(sorted(x["id"] for x in result["results"]), sorted([self.ids[0], self.ids[2]]))
        self.assertEqual(self.failed_files(self.root), before)
        self.assertEqual(run_cli("stat", self.root, "--json").json()["ready"], 0)
        human = run_cli("dlq", "requeue", self.root, "--all", "--dry-run")
        self.assertExit(human, EXIT_OK)
        self.assertIn("dry run: nothing changed", human.text)
        self.assertEqual(self.failed_files(self.root), before)

    def test_requeue_all_limit_one_moves_one(self):
        r = run_cli("dlq", "requeue", self.root, "--all", "--limit", "1", "--json")
        self.assertExit(r, EXIT_OK)
        result = r.json()
        self.assertEqual((result["matched"], result["done"]), (1, 1))
        moved = result["results"][0]["id"]
        self.assertIn(moved, self.ids)
        self.assertEqual(sorted(self.listed()), sorted(i for i in self.ids if i != moved))
        self.assertEqual(run_cli("stat", self.root, "--json").json()["ready"], 1)
        with self.ch.consumer() as rx:
            claim = rx.claim(LONG)
            self.assertEqual(claim.id, moved)
            claim.ack()

    def test_requeue_to_another_channel_moves_it_once_with_its_headers(self):
        other = self.channel()
        moved = self.ids[0]
        r = run_cli("dlq", "requeue", self.root, moved, "--to", other.root, "--json")
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json()["done"], 1)
        self.assertNotIn(moved, self.listed())
        self.assertFalse([f for f in self.failed_files(self.root) if f.startswith(moved)],
                         "neither the dead letter nor its reason is left behind")
        with other.consumer() as rx:
            claims = list(rx.claims(0))
            self.assertEqual(len(claims), 1)
            claim = claims[0]
            self.assertEqual(claim.data, self.BODIES[0])
            self.assertEqual(claim.headers["content-type"], "text/x-order")
            self.assertEqual(claim.headers["requeued-from"], self.root + "/" + moved)
            claim.ack()
        with self.ch.consumer() as rx:
            self.assertEqual(list(rx.claims(0)), [], "nothing went back to the source")

    def test_requeue_to_a_ring_sends_it_there_and_removes_it(self):
        name = unique("dlq-to")
        rx = self.ring(name, "mpmc", "consumer")
        moved = self.ids[1]
        r = run_cli("dlq", "requeue", self.root, moved, "--to", "shm:" + name)
        self.assertExit(r, EXIT_OK)
        self.assertEqual(rx.receive(LONG), self.BODIES[1])
        self.assertNotIn(moved, self.listed())

    def test_requeue_to_nowhere_changes_nothing(self):
        before = self.failed_files(self.root)
        self.assertFails(run_cli("dlq", "requeue", self.root, "--all", "--to", "shm:" + unique("nosuch")),
                         EXIT_NOT_FOUND)
        self.assertEqual(self.failed_files(self.root), before)

    def test_purge_needs_yes_without_a_terminal(self):
        before = self.failed_files(self.root)
        for args in ((self.ids[0],), ("--all",)):
            with self.subTest(args=args):
                line = self.assertFails(run_cli("dlq", "purge", self.root, *args), EXIT_USAGE)
                self.assertIn("--yes", line)
                self.assertEqual(self.failed_files(self.root), before)

        r = run_cli("dlq", "purge", self.root, self.ids[0], "--yes", "--json")
        self.assertExit(r, EXIT_OK)
        self.assertEqual((r.json()["matched"], r.json()["done"]), (1, 1))
        self.assertEqual(sorted(self.listed()), sorted(self.ids[1:]))
        self.assertFalse(any(n.startswith(self.ids[0]) for n in self.failed_files(self.root)))

        r = run_cli("dlq", "purge", self.root, "--all", "--reason", "bad-total", "-y")
        self.assertExit(r, EXIT_OK)
        self.assertEqual(self.listed(), [self.ids[1]])

    def test_an_unknown_id_is_not_found(self):
        # Well formed (a real id with another random suffix), but no dead letter.
        stranger = self.ids[0][:-8] + ("0" * 8 if not self.ids[0].endswith("0" * 8) else "1" * 8)
        before = self.failed_files(self.root)
        for verb in (("show",), ("requeue",), ("purge", "--yes")):
            with self.subTest(verb=verb[0]):
                line = self.assertFails(run_cli("dlq", verb[0], self.root, stranger, *verb[1:]), EXIT_NOT_FOUND)
                self.assertIn(stranger, line)
                self.assertEqual(self.failed_files(self.root), before)

    def test_ids_that_are_paths_are_refused(self):
        # exit_codes.hpp: 4 is "refused input: ... a bad id" (the library:
        # invalid_argument, "not a message id").
        outside = os.path.join(self.tempdir(), "victim")
        with open(outside, "wb") as f:
            f.write(b"not a dead letter")
        before = self.failed_files(self.root)
        for bad in ("../new/x", "..", "a/b", outside, self.ids[0] + "/..", "../../" + os.path.basename(outside)):
            for verb in (("show",), ("requeue",), ("purge", "--yes")):
                with self.subTest(id=bad, verb=verb[0]):
                    self.assertFails(run_cli("dlq", verb[0], self.root, bad, *verb[1:]), EXIT_BAD_INPUT)
                    self.assertEqual(self.failed_files(self.root), before)
        with open(outside, "rb") as f:
            self.assertEqual(f.read(), b"not a dead letter")

    def test_an_id_of_another_channel_is_not_found_here(self):
        other = self.channel()
        theirs = self.dead_letter(other, b"theirs", "unknown-customer")
        mine_before, theirs_before = self.failed_files(self.root), self.failed_files(other.root)
        for verb in (("show",), ("requeue",), ("purge", "--yes")):
            with self.subTest(verb=verb[0]):
                self.assertFails(run_cli("dlq", verb[0], self.root, theirs, *verb[1:]), EXIT_NOT_FOUND)
                self.assertEqual(self.failed_files(self.root), mine_before)
                self.assertEqual(self.failed_files(other.root), theirs_before)


# --------------------------------------------------------------------------
# ringdrop dlq (rings)
# --------------------------------------------------------------------------


class RingDlqTest(CliCase):
    def poisoned_ring(self):
        """An MPMC ring whose producer is a live child; this process's
        consumer rejected two of its three messages. (name, consumer)."""
        name = unique("ring-dlq")
        self.ring_owner(name, "mpmc", "producer", messages=("poison one", "poison two", "fine"))
        rx = self.ring(name, "mpmc", "consumer", "open")
        self.assertEqual(bytes(rx.read(LONG)), b"poison one")
        rx.reject("cannot parse")
        self.assertEqual(bytes(rx.read(LONG)), b"poison two")
        rx.reject("unknown sku")
        self.assertEqual(rx.receive(LONG), b"fine")
        return name, rx

    def test_ls_show_and_requeue_into_the_ring(self):
        name, rx = self.poisoned_ring()
        r = run_cli("dlq", "ls", "shm:" + name, "--json")
        self.assertExit(r, EXIT_OK)
        stores = r.json()
        self.assertEqual(len(stores), 1, r)
        self.assertEqual((stores[0]["store"], stores[0]["kind"]), ("shm:" + name, "ring"))
        letters = {d["id"]: d for d in stores[0]["dead_letters"]}
        self.assertEqual(len(letters), 2, r)
        by_reason = {("cannot parse" in d["reason"]): i for i, d in letters.items()}
        first, second = by_reason[True], by_reason[False]
        self.assertIn("unknown sku", letters[second]["reason"])
        self.assertEqual(letters[first]["headers"]["source"], "shm:" + name)
        self.assertEqual(letters[first]["headers"]["source-kind"], "mpmc")

        self.assertEqual(run_cli("stat", "shm:" + name, "--json").json()["dead_letters"], 2)
        counts = run_cli("dlq", "ls", "shm:" + name, "--counts", "--json").json()["per_reason"]
        self.assertEqual(sorted(counts.values()), [1, 1])
        raw = run_cli("dlq", "show", "shm:" + name, first, "--raw")
        self.assertExit(raw, EXIT_OK)
        self.assertEqual(raw.out, b"poison one")

        r = run_cli("dlq", "requeue", "shm:" + name, first, "--json")
        self.assertExit(r, EXIT_OK)
        self.assertEqual((r.json()["matched"], r.json()["done"]), (1, 1))
        self.assertEqual(rx.receive(LONG), b"poison one")
        self.assertEqual(rx.delivery_count, 1)
        self.assertEmpty(rx)
        left = run_cli("dlq", "ls", "shm:" + name, "--json").json()[0]["dead_letters"]
        self.assertEqual([d["id"] for d in left], [second])

    def exits(self, commands):
        """{command: (exit status, one "ringdrop: " line on stderr)} of each."""
        out = {}
        for command in commands:
            r = run_cli(*command)
            lines = r.err.splitlines()
            out[" ".join(command)] = (r.code, len(lines) == 1 and lines[0].startswith("ringdrop: "))
        return out

    def test_ids_that_are_paths_are_refused(self):
        # As for a drop channel (the store is one): 4, "a bad id" in
        # exit_codes.hpp, and nothing changed.
        name, rx = self.poisoned_ring()
        store = ringdrop.dead_letter_dir(name)
        before = self.failed_files(store)
        commands = [("dlq", verb, "shm:" + name, bad) + extra
                    for bad in ("../x", "a/b", "..")
                    for verb, extra in (("show", ()), ("requeue", ()), ("purge", ("--yes",)))]
        got = self.exits(commands)
        self.assertEqual(got, {c: (EXIT_BAD_INPUT, True) for c in got})
        self.assertEqual(self.failed_files(store), before)
        self.assertEmpty(rx)

    def test_a_ring_that_does_not_exist(self):
        # Neither the ring nor a dead-letter store of it: "no such ring" (3),
        # as `stat` says, not "0 dead letters".
        name = unique("ring-none")
        self.forget_ring(name)
        self.assertEqual(self.exits([("stat", "shm:" + name)]), {"stat shm:" + name: (EXIT_NOT_FOUND, True)})
        got = self.exits([("dlq", "ls", "shm:" + name), ("dlq", "ls", "shm:" + name, "--json"),
                          ("dlq", "requeue", "shm:" + name, "--all"), ("dlq", "purge", "shm:" + name, "--all", "--yes")])
        self.assertEqual(got, {c: (EXIT_NOT_FOUND, True) for c in got})
        self.assertFalse(os.path.exists(ringdrop.dead_letter_dir(name)))

    def test_a_name_that_is_not_a_ring(self):
        # Another program's file in /dev/shm: refused (4), as `stat` refuses
        # it, and left unchanged.
        name = unique("ring-foreign")
        path = "/dev/shm/" + name
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        garbage = os.urandom(8192)
        with open(path, "wb") as f:
            f.write(garbage)
        self.assertEqual(self.exits([("stat", "shm:" + name)]), {"stat shm:" + name: (EXIT_BAD_INPUT, True)})
        got = self.exits([("dlq", "ls", "shm:" + name), ("dlq", "requeue", "shm:" + name, "--all"),
                          ("dlq", "purge", "shm:" + name, "--all", "--yes")])
        self.assertEqual(got, {c: (EXIT_BAD_INPUT, True) for c in got})
        with open(path, "rb") as f:
            self.assertEqual(f.read(), garbage)


# --------------------------------------------------------------------------
# ringdrop gc
# --------------------------------------------------------------------------


class GcTest(CliCase):
    def exists(self, name):
        return os.path.exists("/dev/shm/" + name)

    def test_keeps_a_ring_whose_killed_consumer_held_a_message(self):
        # The message is behind head (fill 0), but it is redelivered to the
        # next consumer: gc must see it in the cells and keep the ring.
        name = unique("gc-held")
        self.forget_ring(name)
        tx = self.ring(name, "mpmc", "producer")
        tx.send(b"precious", LONG)
        holder = self.child(HOLDER, name)
        holder.expect("HOLDING")
        holder.kill9()
        tx.close()
        r = run_cli("gc", "--prefix", name, "--min-age", "0s", "--registry", self.registry(), "--json")
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json()["removed"], [])
        self.assertTrue(self.exists(name))
        rx = self.ring(name, "mpmc", "consumer", "open")
        self.assertEqual(rx.receive(LONG), b"precious")

    @unittest.skipUnless(os.environ.get("RINGDROP_RPC_PEER"), "needs RINGDROP_RPC_PEER (the ctest entry sets it)")
    def test_removes_a_killed_clients_reply_ring_that_a_server_still_holds(self):
        # The server that answered it stays attached as a producer: the ring
        # is not stale, but its client (the only consumer) is gone.
        server_ring = unique("gc-server")
        self.forget_ring(server_ring)
        server = self.child_process(os.environ["RINGDROP_RPC_PEER"], "serve", server_ring)
        self.assertEqual(server.stdout.readline().strip(), b"ready")
        clients = [self.child_process(os.environ["RINGDROP_RPC_PEER"], "private-client", server_ring)
                   for _ in range(2)]
        rings = []
        for c in clients:
            word, where = c.stdout.readline().decode().split()
            self.assertEqual(word, "reply-ring")
            rings.append(where[len("shm:"):])
            self.forget_ring(rings[-1])
        dead, live = rings
        os.kill(clients[0].pid, signal.SIGKILL)
        clients[0].wait()
        # Any client starting on this host sweeps such rings too: gc must
        # remove it only if it is still there.
        was_there = self.exists(dead)
        r = run_cli("gc", "--prefix", "ringdrop.reply.", "--min-age", "0s", "--registry", self.registry(), "--json")
        self.assertExit(r, EXIT_OK)
        if was_there:
            self.assertIn("shm:" + dead, r.json()["removed"])
        self.assertNotIn("shm:" + live, r.json()["removed"])
        self.assertFalse(self.exists(dead))
        self.assertTrue(self.exists(live), "a live client's reply ring is kept")

    def test_removes_only_what_crashed_programs_left(self):
        prefix = unique("gc") + "-"
        dead, live, waiting = prefix + "dead", prefix + "live", prefix + "waiting"
        dead_spsc, waiting_spsc = prefix + "dead-spsc", prefix + "waiting-spsc"
        self.ring_owner(dead).kill9()
        self.ring_owner(live)
        self.ring_owner(waiting, messages=("still wanted",)).kill9()
        self.ring_owner(dead_spsc, "spsc").kill9()
        self.ring_owner(waiting_spsc, "spsc", messages=("still wanted",)).kill9()
        foreign = "/dev/shm/" + prefix + "foreign"
        self.addCleanup(lambda: os.path.exists(foreign) and os.unlink(foreign))
        garbage = os.urandom(8192)
        with open(foreign, "wb") as f:
            f.write(garbage)
        registry = self.registry()
        names = (dead, live, waiting, dead_spsc, waiting_spsc)

        def gc(*args):
            r = run_cli("gc", "--prefix", prefix, "--min-age", "0s", "--registry", registry, "--json", *args)
            self.assertExit(r, EXIT_OK)
            out = r.json()
            self.assertEqual(set(out), {"dry_run", "removed", "kept", "failed", "dead_services_removed"})
            self.assertEqual(out["failed"], [])
            self.assertEqual(out["dead_services_removed"], 0)
            return out

        out = gc("--dry-run")
        self.assertTrue(out["dry_run"])
        self.assertEqual(sorted(out["removed"]), sorted(["shm:" + dead, "shm:" + dead_spsc]))
        kept = {k["name"]: k["why"] for k in out["kept"]}
        self.assertEqual(set(kept), {"shm:" + live, "shm:" + waiting, "shm:" + waiting_spsc})
        self.assertIn("live", kept["shm:" + live])
        self.assertIn("--include-waiting", kept["shm:" + waiting])
        self.assertTrue(all(self.exists(n) for n in names), "a dry run removes nothing")

        out = gc()
        self.assertFalse(out["dry_run"])
        self.assertEqual(sorted(out["removed"]), sorted(["shm:" + dead, "shm:" + dead_spsc]))
        self.assertEqual([self.exists(n) for n in names], [False, True, True, False, True])

        out = gc("--include-waiting")
        self.assertEqual(sorted(out["removed"]), sorted(["shm:" + waiting, "shm:" + waiting_spsc]))
        self.assertEqual([k["name"] for k in out["kept"]], ["shm:" + live])
        self.assertEqual([self.exists(n) for n in names], [False, True, False, False, False])

        human = run_cli("gc", "--prefix", prefix, "--min-age", "0s", "--registry", registry)
        self.assertExit(human, EXIT_OK)
        self.assertIn("kept shm:%s: live peers attached" % live, human.text)
        with open(foreign, "rb") as f:
            self.assertEqual(f.read(), garbage, "another program's segment is never touched")

    def test_min_age_keeps_young_rings(self):
        prefix = unique("gc-young") + "-"
        self.ring_owner(prefix + "dead").kill9()
        r = run_cli("gc", "--prefix", prefix, "--min-age", "1d", "--registry", self.registry(), "--json")
        self.assertExit(r, EXIT_OK)
        out = r.json()
        self.assertEqual(out["removed"], [])
        self.assertEqual([k["name"] for k in out["kept"]], ["shm:" + prefix + "dead"])
        self.assertIn("min-age", out["kept"][0]["why"])
        self.assertTrue(self.exists(prefix + "dead"))

    def test_dead_service_entries(self):
        registry = self.registry()
        service = unique("gc-svc")
        self.service_owner(service, registry).kill9()
        entries = os.listdir(registry)
        self.assertEqual(len(entries), 1, entries)
        request_ring = "ringdrop.svc." + service

        r = run_cli("gc", "--registry", registry, "--prefix", request_ring, "--min-age", "0s", "--dry-run", "--json")
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json()["dead_services_removed"], 1)
        self.assertEqual(r.json()["removed"], ["shm:" + request_ring])
        self.assertEqual(os.listdir(registry), entries)
        self.assertTrue(self.exists(request_ring))

        r = run_cli("gc", "--registry", registry, "--prefix", request_ring, "--min-age", "0s", "--json")
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json()["dead_services_removed"], 1)
        self.assertEqual(os.listdir(registry), [])
        self.assertFalse(self.exists(request_ring))


# --------------------------------------------------------------------------
# ringdrop doctor
# --------------------------------------------------------------------------


class DoctorTest(CliCase):
    def doctor(self, *args):
        r = run_cli("doctor", "--json", "--registry", self.registry(), *args)
        self.assertIn(r.code, (EXIT_OK, EXIT_PROBLEMS), r)
        report = r.json()
        self.assertEqual(report["ok"], r.code == EXIT_OK, r)
        self.assertTrue(report["checks"], r)
        for check in report["checks"]:
            self.assertEqual(set(check), {"check", "status", "found", "advice"})
            self.assertIn(check["status"], ("ok", "warn", "fail"))
            if check["status"] != "ok":
                self.assertTrue(check["advice"], check)
        self.assertEqual(report["ok"], all(c["status"] != "fail" for c in report["checks"]), r)
        return r, {c["check"]: c for c in report["checks"]}

    def test_checks_and_exit_status_agree(self):
        r, checks = self.doctor()
        for name in ("/dev/shm", "futex", "clocks", "service registry", "leftovers"):
            self.assertIn(name, checks)
        self.assertEqual(checks["service registry"]["status"], "ok")  # not made yet
        human = run_cli("doctor", "--registry", self.registry())
        self.assertEqual(human.code, r.code, human)
        self.assertRegex(human.text, r"(?m)^(ok|warn|fail)\s+futex\s")

    def test_channels(self):
        healthy = self.channel()
        poisoned = self.channel()
        self.dead_letter(poisoned, b"x", "bad-total")
        missing = os.path.join(self.tempdir(), "missing")
        _, checks = self.doctor("--channel", healthy.root, "--channel", poisoned.root)
        self.assertEqual(checks["channel " + healthy.root]["status"], "ok")
        self.assertEqual(checks["channel " + poisoned.root]["status"], "warn")
        self.assertIn("1 dead letters", checks["channel " + poisoned.root]["found"])
        r, checks = self.doctor("--channel", missing)
        self.assertEqual(checks["channel " + missing]["status"], "fail")
        self.assertExit(r, EXIT_PROBLEMS)


# --------------------------------------------------------------------------
# Bad input, and --json everywhere
# --------------------------------------------------------------------------


class BadInputTest(CliCase):
    def test_an_unknown_name_is_not_found_and_named(self):
        registry = self.registry()
        name = unique("nosuch")
        missing_dir = os.path.join(self.tempdir(), name)
        a_dead_letter_id = "1796589556411941997-vm-1-0-426b5aef"
        for given in (name, "shm:" + name, "service:" + name, missing_dir, "file:" + missing_dir):
            for command in (("stat", given), ("send", given, "--data", "x"), ("dlq", "show", given, a_dead_letter_id)):
                with self.subTest(command=" ".join(command)):
                    line = self.assertFails(run_cli(*command, "--registry", registry), EXIT_NOT_FOUND)
                    self.assertIn(name, line)
        self.assertFalse(os.path.exists("/dev/shm/" + name), "looking creates nothing")
        self.assertFalse(os.path.exists(missing_dir))

    def test_a_path_with_dot_dot_is_refused(self):
        ch = self.channel()
        parent, base = os.path.split(ch.root)
        sneaky = os.path.join(parent, "..", os.path.basename(parent), base)  # names the channel itself
        for given in (sneaky, "file:" + sneaky, "shm:..", "..", "shm:../" + base):
            for command in (("stat", given), ("send", given, "--data", "x"), ("dlq", "ls", given)):
                with self.subTest(command=" ".join(command)):
                    self.assertFails(run_cli(*command), EXIT_BAD_INPUT)
        self.assertEqual(run_cli("stat", ch.root, "--json").json()["ready"], 0, "nothing was sent")

    def test_another_programs_file_in_dev_shm(self):
        for size in (1, 100, 4096, 65536):
            with self.subTest(size=size):
                name = unique("foreign")
                path = "/dev/shm/" + name
                self.addCleanup(lambda p=path: os.path.exists(p) and os.unlink(p))
                garbage = os.urandom(size)
                with open(path, "wb") as f:
                    f.write(garbage)
                before = os.stat(path)
                for args in (("stat", "shm:" + name), ("stat", name, "--json"), ("send", "shm:" + name, "--data", "x")):
                    self.assertFails(run_cli(*args), EXIT_BAD_INPUT)
                r = run_cli("gc", "--prefix", name, "--min-age", "0s", "--include-waiting", "--json",
                            "--registry", self.registry())
                self.assertExit(r, EXIT_OK)
                self.assertEqual(r.json()["removed"], [])
                r = run_cli("ls", "--json")
                self.assertExit(r, EXIT_OK)
                self.assertIsNone(self.ring_named(r.json(), name))
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), garbage)
                after = os.stat(path)
                self.assertEqual((after.st_size, after.st_mtime_ns, after.st_mode),
                                 (before.st_size, before.st_mtime_ns, before.st_mode))

    def test_json_of_every_command_parses(self):
        registry = self.registry()
        name = unique("json")
        self.ring_owner(name, "mpmc", "producer")
        ch = self.channel()
        id_ = self.dead_letter(ch, b"x", "bad-total")
        commands = [
            ("ls",),
            ("ls", "--stale"),
            ("ls", "--channel", ch.root),
            ("stat", "shm:" + name),
            ("stat", ch.root),
            ("dlq", "ls", ch.root),
            ("dlq", "ls", ch.root, "--counts"),
            ("dlq", "ls", "shm:" + name),
            ("dlq", "show", ch.root, id_),
            ("dlq", "requeue", ch.root, "--all", "--dry-run"),
            ("dlq", "purge", ch.root, "--all", "--dry-run"),
            ("gc", "--prefix", name, "--dry-run"),
            ("doctor",),
        ]
        for command in commands:
            for where in ("before", "after"):
                with self.subTest(command=" ".join(command), json=where):
                    args = ("--json",) + command if where == "before" else command + ("--json",)
                    r = run_cli(*args, "--registry", registry)
                    self.assertExit(r, EXIT_OK)
                    self.assertIsInstance(r.json(), (dict, list))
        with self.subTest(command="send"):
            r = run_cli("--json", "send", ch.root, "--data", "x")
            self.assertExit(r, EXIT_OK)
            self.assertTrue(r.json()["sent"])


def setUpModule():
    deadline = time.monotonic() + REBUILD_GRACE
    while not os.access(CLI, os.X_OK):
        if time.monotonic() > deadline:
            raise RuntimeError("no ringdrop binary at %s (set RINGDROP_CLI)" % CLI)
        time.sleep(0.5)  # a rebuild in progress, not a test's event


# --------------------------------------------------------------------------
# ringdrop tail
# --------------------------------------------------------------------------


class TailTest(CliCase):
    def test_a_broadcast_ring_is_read_as_one_more_subscriber(self):
        name = unique("tail-bc")
        self.ring_owner(name, "broadcast", "publisher", messages=("tick 1", "tick 2", "tick 3"))
        for _ in range(2):  # reading took nothing: the second run sees the same
            r = run_cli("tail", "shm:" + name, "--json")
            self.assertExit(r, EXIT_OK)
            lines = r.json_lines()
            self.assertEqual([line["body"]["text"] for line in lines], ["tick 1", "tick 2", "tick 3"])
            self.assertEqual([line["message"] for line in lines], [0, 1, 2])
        r = run_cli("tail", "shm:" + name, "-n", "1", "--json")
        self.assertEqual([line["body"]["text"] for line in r.json_lines()], ["tick 1"])

    def test_a_drop_channels_ready_messages_are_read_not_claimed(self):
        ch = self.channel()
        first = ch.publish(b"order 1", headers={"content-type": "text/csv"})
        second = ch.publish(bytes([0, 1, 2, 255]))
        r = run_cli("tail", ch.root, "--json")
        self.assertExit(r, EXIT_OK)
        lines = r.json_lines()
        self.assertEqual([line["id"] for line in lines], [first, second])
        self.assertEqual(lines[0]["headers"]["content-type"], "text/csv")
        self.assertEqual(lines[0]["body"]["text"], "order 1")
        self.assertEqual(lines[1]["body"]["hex"], "000102ff")
        with ch.consumer() as rx:
            self.assertEqual([c.id for c in rx.claims(0)], [first, second])

    def test_spsc_and_mpmc_rings_get_a_look_that_takes_nothing(self):
        for kind in ("spsc", "mpmc"):
            with self.subTest(kind=kind):
                name = unique("tail-" + kind)
                self.ring_owner(name, kind, "producer", messages=("first", "second"))
                rx = self.ring(name, kind, "consumer", "open")
                r = run_cli("tail", "shm:" + name, "--json")
                self.assertExit(r, EXIT_OK)
                self.assertEqual([(m["waiting"], m["body"]["text"]) for m in r.json_lines()],
                                 [(0, "first"), (1, "second")])
                self.assertEqual(len(run_cli("tail", "shm:" + name, "-n", "1", "--json").json_lines()), 1)
                line = self.assertFails(run_cli("tail", "shm:" + name, "--follow"), EXIT_USAGE)
                self.assertIn("consumers", line)
                self.assertEqual(rx.receive(LONG), b"first")  # the consumer still gets both
                self.assertEqual(rx.receive(LONG), b"second")


# --------------------------------------------------------------------------
# ringdrop call
# --------------------------------------------------------------------------

RPC_SCHEMA = os.path.join(os.path.dirname(HERE), "schemas", "rpc_test.capnp")


@unittest.skipUnless(os.environ.get("RINGDROP_RPC_PEER"), "needs RINGDROP_RPC_PEER (the ctest entry sets it)")
class CallTest(CliCase):
    def server(self):
        """ringdrop-rpc-peer serving service `svc` in a registry of this test."""
        registry = self.registry()
        os.makedirs(registry)
        svc = unique("call")
        self.forget_ring("ringdrop.svc." + svc)
        proc = self.child_process(os.environ["RINGDROP_RPC_PEER"], "serve-registered", registry, svc)
        self.assertEqual(proc.stdout.readline().strip(), b"ready")
        return registry, svc, proc

    def call(self, registry, svc, type_, json_text, *extra):
        return run_cli("--registry", registry, "call", svc, "--schema", RPC_SCHEMA, "--type", type_,
                       "--reply-type", "EchoReply", "--json", json_text, *extra)

    def test_a_call_answers_as_json(self):
        registry, svc, proc = self.server()
        r = self.call(registry, svc, "Echo", '{"seq": 3, "text": "hello"}')
        self.assertExit(r, EXIT_OK)
        reply = r.json()
        self.assertEqual((reply["seq"], reply["text"], reply["server"]), ("3", "hello", proc.pid))
        whole = run_cli("--json", "--registry", registry, "call", svc, "--schema", RPC_SCHEMA, "--type", "Echo",
                        "--reply-type", "EchoReply", "--json", '{"seq": 4}').json()
        self.assertEqual(whole["kind"], "response")
        self.assertEqual(whole["payload"]["seq"], "4")

    def test_a_remote_error_is_said_with_its_code_and_text(self):
        registry, svc, _ = self.server()
        line = self.assertFails(self.call(registry, svc, "Fail", '{"code": 42, "message": "no such order"}'),
                                EXIT_REMOTE)
        self.assertIn("remote error 42: no such order", line)

    def test_no_reply_in_time_and_a_gone_server_are_said_by_name(self):
        registry, svc, proc = self.server()
        # Hold: the server waits for a line on its stdin before answering.
        line = self.assertFails(self.call(registry, svc, "Hold", '{"seq": 1}', "--timeout", "200ms"), EXIT_TIMED_OUT)
        self.assertIn("timed out", line)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        r = self.call(registry, svc, "Echo", '{"seq": 2}', "--timeout", "10s")
        self.assertIn(r.code, (EXIT_REMOTE, EXIT_NOT_FOUND), r)  # gone mid-call, or already unregistered
        self.assertTrue(r.err.startswith("ringdrop: "), r)

    def test_bad_json_and_unknown_services_send_nothing(self):
        registry, svc, _ = self.server()
        self.assertFails(self.call(registry, svc, "Echo", '{"seq": "three"}'), EXIT_BAD_INPUT)
        self.assertFails(self.call(registry, svc, "Echo", '{"sequence": 3}'), EXIT_BAD_INPUT)
        self.assertFails(self.call(registry, unique("nosuch"), "Echo", "{}"), EXIT_NOT_FOUND)
        r = self.call(registry, svc, "Echo", '{"seq": 9}')  # the server saw none of them: runs is 1
        self.assertExit(r, EXIT_OK)
        self.assertEqual(r.json()["runs"], "1")


class BridgeTest(CliCase):
    """`ringdrop bridge STATE_DIR`: a ringdrop-bridge's status file, judged
    by the reader (the bridge itself is tested against a broker in
    tests/bridge; here the files are written as it writes them)."""

    def status_dir(self, pid=None, age_s=0.0, stopped=False, text=None):
        path = self.tempdir()
        now = time.time_ns()
        if text is None:
            text = json.dumps({
                "name": "host-a", "pid": os.getpid() if pid is None else pid, "broker": "amqp://mq:5672/",
                "started_ns": now - 10**9, "updated_ns": now - int(age_s * 1e9), "stopped": stopped,
                "routes": [{"name": "orders", "direction": "out", "ringdrop": "shm:orders",
                            "broker": "exchange orders key new", "state": "running",
                            "last_loop_ns": now - int(age_s * 1e9), "bridged": 12, "in_flight": 3,
                            "dead_lettered": 1, "deduplicated": 0, "reconnects": 2,
                            "last_error": "lost the broker: connection reset"}]})
        with open(os.path.join(path, "status.json"), "w") as f:
            f.write(text)
        return path

    def dead_pid(self):
        child = subprocess.Popen(["true"])
        child.wait()
        return child.pid

    def test_a_running_bridge_and_its_routes(self):
        r = run_cli("bridge", self.status_dir())
        self.assertExit(r, EXIT_OK)
        self.assertIn("bridge host-a (pid %d): running" % os.getpid(), r.text)
        self.assertIn("orders (out, shm:orders / exchange orders key new): running, bridged 12, in flight 3, "
                      "dead letters 1", r.text)
        self.assertIn("last error: lost the broker: connection reset", r.text)

    def test_stuck_dead_and_stopped_are_never_shown_running(self):
        for kind, path in (("stuck", self.status_dir(age_s=60)), ("dead", self.status_dir(pid=self.dead_pid())),
                           ("stopped", self.status_dir(stopped=True))):
            r = run_cli("bridge", path)
            self.assertExit(r, EXIT_PROBLEMS)
            self.assertIn("bridge host-a (pid ", r.text)
            self.assertIn("): %s," % kind, r.text)
            self.assertIn("not every bridge is running", r.err)

    def test_json_lists_each_bridge_with_its_verdict(self):
        r = run_cli("--json", "bridge", self.status_dir(), self.status_dir(age_s=60))
        self.assertExit(r, EXIT_PROBLEMS)
        bridges = r.json()
        self.assertEqual([b["verdict"] for b in bridges], ["running", "stuck"])
        self.assertEqual(bridges[0]["routes"][0]["bridged"], 12)

    def test_no_status_file_and_a_foreign_one_are_said_by_name(self):
        line = self.assertFails(run_cli("bridge", self.tempdir()), EXIT_NOT_FOUND)
        self.assertIn("no bridge has run with this state directory", line)
        self.assertFails(run_cli("bridge", self.status_dir(text="{not json")), EXIT_BAD_INPUT)
        self.assertFails(run_cli("bridge", self.status_dir(text='{"pid": "x", "updated_ns": 1}')), EXIT_BAD_INPUT)
        r = run_cli("bridge", self.status_dir(text='{"pid": %d, "updated_ns": %d, "stopped": "yes"}'
                                                     % (os.getpid(), time.time_ns())))
        self.assertExit(r, EXIT_BAD_INPUT)  # a field of the wrong type

    def test_hostile_status_files_are_refused_not_obeyed(self):
        fifo = self.tempdir()
        os.mkfifo(os.path.join(fifo, "status.json"))  # opened without blocking: refused
        self.assertFails(run_cli("bridge", fifo), EXIT_BAD_INPUT)
        deep = '{"pid": %d, "updated_ns": %d, "x": %s}' % (os.getpid(), time.time_ns(), "[" * 100000 + "]" * 100000)
        self.assertFails(run_cli("bridge", self.status_dir(text=deep)), EXIT_BAD_INPUT)
        huge = '{"pid": %d, "updated_ns": -9223372036854775808}' % os.getpid()
        r = run_cli("--json", "bridge", self.status_dir(text=huge))  # no overflow: just very old
        self.assertExit(r, EXIT_PROBLEMS)
        self.assertEqual(r.json()[0]["verdict"], "stuck")
        future = self.status_dir(age_s=-3600)  # written by another clock: not shown running
        r = run_cli("--json", "bridge", future)
        self.assertExit(r, EXIT_PROBLEMS)
        self.assertEqual(r.json()[0]["verdict"], "stuck")

    def test_several_bridges_one_unreadable_the_others_shown(self):
        good, missing = self.status_dir(), self.tempdir()
        r = run_cli("bridge", good, missing)
        self.assertExit(r, EXIT_NOT_FOUND)
        self.assertIn("bridge host-a (pid %d): running" % os.getpid(), r.text)
        self.assertIn(missing, r.err)
        r = run_cli("--json", "bridge", missing, good)
        self.assertExit(r, EXIT_NOT_FOUND)
        first, second = r.json()
        self.assertEqual(first["state_dir"], missing)
        self.assertIn("no bridge has run", first["error"])
        self.assertEqual(second["verdict"], "running")


if __name__ == "__main__":
    unittest.main()

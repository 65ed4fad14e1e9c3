"""Tests of `ringdrop console` (tools/console), the web console, spoken to as
a browser or a script speaks to it: over HTTP, while the rings and drop
channels it shows are owned by other processes. The contract is the
console's manual (docs/console.md) and the JSON of the `ringdrop` commands
it mirrors: /api/overview's inventory is `ringdrop ls --json`,
/api/dead-letters is `ringdrop dlq ls --json`, /api/dead-letter is
`ringdrop dlq show --json`, /api/retry and /api/purge answer as
`ringdrop dlq requeue|purge --json`.

Every test starts its own console (ConsoleCase.setUp):

    ringdrop --channel CHANNEL console --listen 127.0.0.1:0 \\
             --action-log TMP/actions.log shm:RING

over a drop channel with three dead letters (two reasons) and an MPMC ring
whose producer is a live child and whose consumer (this process) rejected
two of its three messages; it reads the one line the console prints
("ringdrop console: http://127.0.0.1:PORT/?token=TOKEN") and stops it with
SIGTERM afterwards (exit 0 expected).

Covered, one TestCase class per concern:

  AuthTest          no token: 401 (JSON for the API, assets and /metrics,
                    text for /); a wrong bearer token: 401; the right one:
                    200; the login link /?token= trades the token for a
                    cookie (303, HttpOnly, SameSite=Strict) that then
                    authenticates; a wrong link: 401 and no cookie; a token
                    in the query of another path is not a credential;
                    --token-file.
  HeadersTest       the security headers (CSP, no framing, nosniff,
                    no-store, no-referrer) on answers of every kind.
  CsrfTest          /api/session; a POST without, or with a wrong,
                    X-CSRF-Token, or from a foreign Origin: 403 and nothing
                    moved; without a token: 401.
  OverviewTest      /api/overview: the inventory (`ringdrop ls --json`) with
                    the ring, the channel and a registered service.
  DeadLettersTest   /api/dead-letters equals `ringdrop dlq ls --json`, all
                    stores or one; the reason/older_than/newer_than filters;
                    a bad duration: 400; unknown stores and paths outside the
                    scope: 404, nothing of them shown.
  DeadLetterTest    /api/dead-letter equals `ringdrop dlq show --json` (a
                    channel's, a ring's); ids that are paths: 400; another
                    store's id: 404; missing parameters: 400.
  ActionTest        POST /api/retry of a channel's dead letter (back in
                    new/, gone from failed/) and of a ring's (received again
                    from the ring); /api/purge of ids, and of "all" with a
                    reason; the action log (file and /api/actions, newest
                    first, kept across restarts).
  BadRequestTest    an unknown id among known ones: 404, nothing moved;
                    ids that are paths: 400; bodies that are not the JSON
                    asked for: 400; a body over 1 MiB: 413; unknown paths:
                    404.
  MetricsTest       /metrics: Prometheus text whose values are the state's,
                    and follow it; label values (a channel's path) escaped.
  PageTest          the page, its script and its stylesheet are served, and
                    the page has nothing the CSP would block (no inline
                    script or style, no on* attributes).
  LifecycleTest     the one stdout line; SIGTERM and SIGINT end it with
                    exit 0 and nothing more on stdout, also when the signal
                    comes at once after the line, or with a client
                    connected; two consoles get their own ports and tokens.

Environment (set by ctest): RINGDROP_CLI (the binary), RINGDROP_LIBRARY
(libringdrop.so for the Python binding), PYTHONPATH (bindings/python). By
hand, from the source tree:

    RINGDROP_CLI=build/release/tools/cli/ringdrop \\
    RINGDROP_LIBRARY=build/release/lib/libringdrop.so \\
    PYTHONPATH=bindings/python PYTHONDONTWRITEBYTECODE=1 \\
        python3 -m unittest discover -s tests/console -p test_console_http.py -v

Standard library only. Nothing sleeps to synchronise and nothing is timed:
children announce themselves with a printed line, the console with its URL
line. Every name is unique to the test (pid and a random suffix); rings,
dead-letter stores, registries and directories are removed afterwards.
"""

import errno
import html.parser
import http.client
import json
import os
import pwd
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse

# The helpers of tests/cli/test_cli.py: running `ringdrop`, unique names, the
# child processes and the base test case. Importing it also puts
# bindings/python on sys.path (for `import ringdrop`). Only names that hold
# no tests are imported, so that discovery does not run test_cli's tests here.
CLI_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cli")
if CLI_TESTS not in sys.path:
    sys.path.insert(0, CLI_TESTS)

from test_cli import (  # noqa: E402
    CAPACITY,
    CLI,
    LONG,
    REBUILD_GRACE,
    CliCase,
    run_cli,
    unique,
)

import ringdrop  # noqa: E402

MIB = 1 << 20

URL_LINE = re.compile(r"^ringdrop console: http://127\.0\.0\.1:(\d+)/\?token=(\S+)\n$")
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
COOKIE = "ringdrop_console"
CSP_PARTS = ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
             "base-uri 'none'", "form-action 'self'", "connect-src 'self'")
EVIL = "http://evil.example"


# --------------------------------------------------------------------------
# Running the command
# --------------------------------------------------------------------------


def cli_json(*args, env=None):
    """The JSON `ringdrop --json ARGS` prints (exit 0 required)."""
    r = run_cli("--json", *args, env=env)
    assert r.code == 0, repr(r)
    return r.json()


def os_user():
    return pwd.getpwuid(os.getuid()).pw_name


# --------------------------------------------------------------------------
# The console
# --------------------------------------------------------------------------


class Console:
    """A running `ringdrop ... console ...`: its port and token, read from
    the one line it prints on stdout."""

    def __init__(self, args, env, stderr_path):
        self.args = args
        self.stderr_path = stderr_path
        deadline = time.monotonic() + REBUILD_GRACE
        while True:
            try:
                with open(stderr_path, "wb") as err:
                    self.proc = subprocess.Popen([CLI, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                 stderr=err, env=env)
                break
            except OSError as e:
                if e.errno in (errno.ENOENT, errno.EACCES, errno.ETXTBSY) and time.monotonic() < deadline:
                    time.sleep(0.2)  # waiting for a rebuilt binary, not for an event of the test
                    continue
                raise
        self.line = self._first_line()
        m = URL_LINE.match(self.line)
        if not m:
            self.kill()
            raise AssertionError("the console's first line is %r, not its URL; %s" % (self.line, self.stderr()))
        self.port, self.token = int(m.group(1)), m.group(2)
        self.origin = "http://127.0.0.1:%d" % self.port

    def _first_line(self):
        """Reads stdout up to the first newline (or its end), waiting at most
        LONG for it (a bound for a hung console, not a measure)."""
        fd = self.proc.stdout.fileno()
        got = b""
        deadline = time.monotonic() + LONG
        while b"\n" not in got:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise AssertionError("the console printed no line: %r; %s" % (got, self.stderr()))
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                self.proc.wait()
                raise AssertionError("the console ended (exit %s) before its line: %r; %s"
                                     % (self.proc.returncode, got, self.stderr()))
            got += chunk
        return got.decode("utf-8", "replace")

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return "its stderr: " + f.read().decode("utf-8", "replace")
        except OSError:
            return "no stderr"

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` and waits for the end: (exit status, what else it
        printed on stdout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=LONG)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the console did not end on signal %d; %s" % (sig, self.stderr()))
        rest = self.proc.stdout.read()
        self.proc.stdout.close()
        return code, rest.decode("utf-8", "replace")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if not self.proc.stdout.closed:
            self.proc.stdout.close()


class Reply:
    """One HTTP answer: status, headers, body (bytes)."""

    def __init__(self, method, path, status, headers, body):
        self.method, self.path, self.status, self.headers, self.body = method, path, status, headers, body

    def header(self, name):
        return self.headers.get(name)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return "%s %s -> %d\n%s\n%s" % (self.method, self.path, self.status, self.headers, self.text[:3000])


BEARER = object()  # auth=BEARER: `Authorization: Bearer <the console's token>`


# --------------------------------------------------------------------------
# The base of every test case: the state, the console, the requests
# --------------------------------------------------------------------------


class ConsoleCase(CliCase):
    """CliCase's helpers (tempdir, forget_ring, ring, ring_owner, child,
    service_owner, channel, dead_letter, assertEmpty, failed_files), and the
    console over a state made in setUp."""

    BODIES = (b"total\x00\xff\n-1", b"customer 404", b"total 1e309")
    REASONS = ("bad-total", "unknown-customer", "bad-total")
    RING_MESSAGES = ("poison one", "poison two", "fine")

    def setUp(self):
        self.work = self.tempdir()
        self.registry_dir = os.path.join(self.work, "registry")
        os.mkdir(self.registry_dir)
        # The console and the `ringdrop` runs compared with it see this
        # test's registry only, never the machine's.
        self.env = dict(os.environ, RINGDROP_SERVICE_DIR=self.registry_dir)
        self.action_log = os.path.join(self.work, "actions.log")

        self.ch = self.channel(os.path.join(self.work, "channel"))
        self.root = self.ch.root
        self.ids = [
            self.dead_letter(self.ch, body, reason, headers={"order-id": str(i), "content-type": "text/x-order"})
            for i, (body, reason) in enumerate(zip(self.BODIES, self.REASONS))
        ]

        self.ring_name, self.rx = self.poisoned_ring()
        self.ring_label = "shm:" + self.ring_name
        letters = cli_json("dlq", "ls", self.ring_label, env=self.env)[0]["dead_letters"]
        by_reason = {("cannot parse" in d["reason"]): d["id"] for d in letters}
        self.ring_ids = [by_reason[True], by_reason[False]]  # "poison one", "poison two"

        self.console = self.start_console()
        self.token = self.console.token
        self._csrf = None

    # ---- things the test owns

    def poisoned_ring(self):
        """An MPMC ring whose producer is a live child; this process's
        consumer rejected the first two of its three messages ("cannot
        parse", "unknown sku"). (name, consumer)."""
        name = unique("ring")
        self.ring_owner(name, "mpmc", "producer", messages=self.RING_MESSAGES)
        rx = self.ring(name, "mpmc", "consumer", "open")
        self.assertEqual(bytes(rx.read(LONG)), b"poison one")
        rx.reject("cannot parse")
        self.assertEqual(bytes(rx.read(LONG)), b"poison two")
        rx.reject("unknown sku")
        self.assertEqual(rx.receive(LONG), b"fine")
        return name, rx

    def start_console(self, *extra, channel=None):
        """`ringdrop --channel ROOT console --listen 127.0.0.1:0
        --action-log LOG [EXTRA] shm:RING` (ROOT: `channel`, else this
        test's), stopped with SIGTERM (exit 0) after the test."""
        args = ["--channel", channel or self.root, "console", "--listen", "127.0.0.1:0",
                "--action-log", self.action_log, *extra, self.ring_label]
        console = Console(args, self.env, os.path.join(self.tempdir(), "console.err"))

        def stop():
            if console.proc.poll() is not None and console.proc.stdout.closed:
                return  # the test stopped it itself
            code, _ = console.stop()
            self.assertEqual(code, 0, "the console's exit status on SIGTERM; %s" % console.stderr())

        self.addCleanup(stop)
        return console

    # ---- HTTP

    def request(self, method, path, body=None, headers=None, auth=BEARER, console=None):
        """One request on a connection of its own. auth: BEARER (the right
        token), None (no Authorization header) or a token to send instead."""
        console = console or self.console
        headers = dict(headers or {})
        if auth is BEARER:
            headers["Authorization"] = "Bearer " + console.token
        elif auth is not None:
            headers["Authorization"] = "Bearer " + auth
        conn = http.client.HTTPConnection("127.0.0.1", console.port, timeout=LONG)
        try:
            conn.putrequest(method, path)
            for k, v in headers.items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body is not None:
                try:
                    conn.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # it answered (and closed) before reading all of a body it refuses
            r = conn.getresponse()
            return Reply(method, path, r.status, r.headers, r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def get_json(self, path, **kw):
        """GET that must answer 200 with JSON: the JSON."""
        r = self.get(path, **kw)
        self.assertEqual(r.status, 200, r)
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"), r)
        return r.json()

    def csrf(self):
        if self._csrf is None:
            self._csrf = self.get_json("/api/session")["csrf"]
        return self._csrf

    def post(self, path, payload, csrf=True, origin=None, auth=BEARER, raw=None):
        """POST `payload` (as JSON; `raw`: these bytes instead). csrf: True
        (the right token), None (no header) or a token to send instead."""
        headers = {"Content-Type": "application/json"}
        if csrf is True:
            headers["X-CSRF-Token"] = self.csrf()
        elif csrf is not None:
            headers["X-CSRF-Token"] = csrf
        if origin is not None:
            headers["Origin"] = origin
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.request("POST", path, body=body, headers=headers, auth=auth)

    @staticmethod
    def query(path, **params):
        return path + "?" + urllib.parse.urlencode(params)

    # ---- assertions

    def assertError(self, reply, status):
        """`status` with a JSON body {"error": "one sentence"}: the sentence."""
        self.assertEqual(reply.status, status, reply)
        self.assertTrue((reply.header("Content-Type") or "").startswith("application/json"), reply)
        body = reply.json()
        self.assertIsInstance(body, dict, reply)
        self.assertIsInstance(body.get("error"), str, reply)
        self.assertTrue(body["error"], reply)
        return body["error"]

    def assertSecure(self, reply):
        """The headers every answer carries."""
        csp = reply.header("Content-Security-Policy") or ""
        for part in CSP_PARTS:
            self.assertIn(part, csp, reply)
        self.assertEqual(reply.header("X-Frame-Options"), "DENY", reply)
        self.assertEqual(reply.header("X-Content-Type-Options"), "nosniff", reply)
        self.assertEqual(reply.header("Referrer-Policy"), "no-referrer", reply)
        self.assertEqual(reply.header("Cache-Control"), "no-store", reply)

    # ---- the state, read without the console

    @staticmethod
    def files(directory):
        try:
            return sorted(os.listdir(directory))
        except FileNotFoundError:
            return []

    def ring_store(self):
        return ringdrop.dead_letter_dir(self.ring_name)

    def snapshot(self):
        """What a refused request must leave as it was: the channel's and
        the ring store's files, and the action log."""
        return {
            "channel failed/": self.failed_files(self.root),
            "channel new/": self.files(os.path.join(self.root, "new")),
            "ring failed/": self.failed_files(self.ring_store()),
            "action log": self.action_log_lines(),
        }

    def action_log_lines(self):
        try:
            with open(self.action_log, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def cli_dead_letter_ids(self, store):
        return [d["id"] for d in cli_json("dlq", "ls", store, env=self.env)[0]["dead_letters"]]


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


class AuthTest(ConsoleCase):
    PROTECTED_JSON = ("/api/overview", "/api/dead-letters", "/api/session", "/api/actions", "/metrics",
                      "/assets/console.js")

    def test_the_token_is_64_lowercase_hex_digits(self):
        self.assertRegex(self.token, r"^[0-9a-f]{64}$")

    def test_no_token_is_401_with_a_json_error(self):
        for path in self.PROTECTED_JSON:
            with self.subTest(path=path):
                self.assertError(self.get(path, auth=None), 401)

    def test_no_token_on_the_page_is_a_text_401(self):
        r = self.get("/", auth=None)
        self.assertEqual(r.status, 401, r)
        self.assertTrue((r.header("Content-Type") or "").startswith("text/plain"), r)
        self.assertNotIn(self.token, r.text)

    def test_a_wrong_bearer_token_is_401(self):
        wrong = ("0" * 64, self.token[:-1], self.token + "0", self.token.upper(), "")
        for token in wrong:
            for path in self.PROTECTED_JSON:
                with self.subTest(token=token, path=path):
                    self.assertError(self.get(path, auth=token), 401)

    def test_the_right_bearer_token_is_200(self):
        for path in self.PROTECTED_JSON + ("/",):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 200, r)

    def test_the_login_link_sets_the_cookie_and_goes_to_the_page(self):
        r = self.get("/?token=" + self.token, auth=None)
        self.assertEqual(r.status, 303, r)
        self.assertEqual(urllib.parse.urlsplit(r.header("Location") or "").path, "/", r)
        self.assertNotIn("token", r.header("Location"), "the token leaves the address bar")
        cookie = r.header("Set-Cookie") or ""
        parts = [p.strip() for p in cookie.split(";")]
        self.assertEqual(parts[0], "%s=%s" % (COOKIE, self.token), r)
        self.assertIn("HttpOnly", parts, r)
        self.assertIn("SameSite=Strict", parts, r)
        self.assertIn("Path=/", parts, r)

        with_cookie = {"Cookie": "%s=%s" % (COOKIE, self.token)}
        overview = self.get("/api/overview", headers=with_cookie, auth=None)
        self.assertEqual(overview.status, 200, overview)
        self.assertIn("inventory", overview.json())
        self.assertEqual(self.get("/", headers=with_cookie, auth=None).status, 200)

    def test_the_cookie_among_others_is_found(self):
        cookies = {"Cookie": "theme=dark; %s=%s; lang=en" % (COOKIE, self.token)}
        self.assertEqual(self.get("/api/overview", headers=cookies, auth=None).status, 200)

    def test_a_wrong_cookie_is_401(self):
        for value in ("0" * 64, self.token[:32], ""):
            with self.subTest(value=value):
                headers = {"Cookie": "%s=%s" % (COOKIE, value)}
                self.assertError(self.get("/api/overview", headers=headers, auth=None), 401)

    def test_a_wrong_login_link_is_401_and_sets_no_cookie(self):
        for token in ("0" * 64, self.token[:-1], ""):
            with self.subTest(token=token):
                r = self.get("/?token=" + token, auth=None)
                self.assertEqual(r.status, 401, r)
                self.assertIsNone(r.header("Set-Cookie"), r)

    def test_a_token_in_the_query_of_another_path_is_not_a_credential(self):
        # Only the login link takes the token from the URL (and trades it
        # for a cookie at once); the API wants the cookie or a bearer token.
        self.assertError(self.get("/api/overview?token=" + self.token, auth=None), 401)

    def test_a_post_without_the_token_is_401(self):
        before = self.snapshot()
        r = self.post("/api/retry", {"store": self.root, "ids": [self.ids[0]]}, auth=None)
        self.assertError(r, 401)
        self.assertEqual(self.snapshot(), before)

    def test_token_file(self):
        secret = secrets.token_hex(20)
        path = os.path.join(self.work, "token")
        with open(path, "w") as f:
            f.write(secret + "\nthe second line is not the token\n")
        os.chmod(path, 0o600)
        console = self.start_console("--token-file", path)
        self.assertEqual(console.token, secret)
        self.assertEqual(console.line, "ringdrop console: http://127.0.0.1:%d/?token=%s\n" % (console.port, secret))
        self.assertEqual(self.get("/api/overview", console=console, auth=secret).status, 200)
        self.assertError(self.get("/api/overview", console=console, auth=self.token), 401)
        self.assertError(self.get("/api/overview", console=console, auth=None), 401)
        login = self.get("/?token=" + secret, console=console, auth=None)
        self.assertEqual(login.status, 303, login)
        self.assertIn("%s=%s" % (COOKIE, secret), login.header("Set-Cookie") or "")


# --------------------------------------------------------------------------
# Security headers
# --------------------------------------------------------------------------


class HeadersTest(ConsoleCase):
    def test_every_kind_of_answer_carries_them(self):
        replies = {
            "200 api": self.get("/api/overview"),
            "200 page": self.get("/"),
            "200 script": self.get("/assets/console.js"),
            "200 metrics": self.get("/metrics"),
            "303 login": self.get("/?token=" + self.token, auth=None),
            "400 bad duration": self.get("/api/dead-letters?older_than=soon"),
            "401 api": self.get("/api/overview", auth=None),
            "401 page": self.get("/", auth=None),
            "403 csrf": self.post("/api/retry", {"store": self.root, "ids": [self.ids[0]]}, csrf=None),
            "404 path": self.get("/api/nope"),
            "404 store": self.get(self.query("/api/dead-letters", store="/tmp")),
        }
        for what, reply in replies.items():
            with self.subTest(what=what):
                self.assertEqual(reply.status, int(what.split()[0]), reply)
                self.assertSecure(reply)


# --------------------------------------------------------------------------
# CSRF and Origin
# --------------------------------------------------------------------------


class CsrfTest(ConsoleCase):
    def test_session(self):
        s = self.get_json("/api/session")
        self.assertRegex(s["csrf"], r"^[0-9a-f]{16,}$")
        self.assertNotEqual(s["csrf"], self.token)
        self.assertEqual(s["user"], os_user())
        self.assertEqual(s["version"], ringdrop.version_string())
        self.assertEqual(s["sample_ms"], 5000)
        self.assertIsNone(s["schema"])
        self.assertEqual(self.get_json("/api/session")["csrf"], s["csrf"], "one CSRF token per console")

    def test_a_post_without_the_csrf_header_is_403_and_moves_nothing(self):
        before = self.snapshot()
        for path in ("/api/retry", "/api/purge"):
            with self.subTest(path=path):
                self.assertError(self.post(path, {"store": self.root, "ids": [self.ids[0]]}, csrf=None), 403)
                self.assertEqual(self.snapshot(), before)
        self.assertEqual(sorted(self.cli_dead_letter_ids(self.root)), sorted(self.ids))

    def test_a_wrong_csrf_token_is_403_and_moves_nothing(self):
        before = self.snapshot()
        for wrong in ("0" * 64, self.csrf()[:-1], self.token, ""):
            for path in ("/api/retry", "/api/purge"):
                with self.subTest(csrf=wrong, path=path):
                    r = self.post(path, {"store": self.root, "all": True}, csrf=wrong)
                    self.assertError(r, 403)
                    self.assertEqual(self.snapshot(), before)

    def test_a_foreign_origin_is_403_and_moves_nothing(self):
        before = self.snapshot()
        other_port = "http://127.0.0.1:%d" % (self.console.port + 1 if self.console.port < 65535 else 1)
        for origin in (EVIL, "https://evil.example", "null", other_port, "https://127.0.0.1:%d" % (self.console.port + 1)):
            for path in ("/api/retry", "/api/purge"):
                with self.subTest(origin=origin, path=path):
                    r = self.post(path, {"store": self.root, "ids": [self.ids[0]]}, origin=origin)
                    self.assertError(r, 403)
                    self.assertEqual(self.snapshot(), before)

    def test_the_consoles_own_origin_is_accepted(self):
        r = self.post("/api/retry", {"store": self.root, "ids": [self.ids[0]]}, origin=self.console.origin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["done"], 1)

    def test_its_own_host_over_https_is_accepted(self):
        # Behind a TLS proxy that keeps the Host header, the browser's origin is https://HOST.
        r = self.post("/api/retry", {"store": self.root, "ids": [self.ids[0]]},
                      origin="https://127.0.0.1:%d" % self.console.port)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["done"], 1)


# --------------------------------------------------------------------------
# /api/overview
# --------------------------------------------------------------------------


class OverviewTest(ConsoleCase):
    def test_shape(self):
        o = self.get_json("/api/overview")
        self.assertRegex(o["time"], ISO_TIME)
        self.assertEqual(o["sample_ms"], 5000)
        self.assertIsInstance(o["rates"], dict)
        for label, rates in o["rates"].items():
            self.assertTrue(label.startswith(("shm:", "file:")), label)
            self.assertIsInstance(rates, list)
            self.assertLessEqual(len(rates), 120)
            self.assertTrue(all(isinstance(x, (int, float)) for x in rates), rates)
        inv = o["inventory"]
        self.assertEqual(set(inv), {"rings", "channels", "services", "unreadable", "not_permitted"})
        for key in ("rings", "channels", "services", "unreadable"):
            self.assertIsInstance(inv[key], list, key)
        self.assertIsInstance(inv["not_permitted"], int)

    def test_the_ring_in_scope_with_its_dead_letters(self):
        inv = self.get_json("/api/overview")["inventory"]
        found = [r for r in inv["rings"] if r["name"] == self.ring_label]
        self.assertEqual(len(found), 1, inv["rings"])
        ring = found[0]
        self.assertEqual(ring["kind"], "mpmc")
        self.assertEqual(ring["capacity"], CAPACITY)
        self.assertEqual(ring["committed"], len(self.RING_MESSAGES))
        self.assertEqual(ring["dead_letters"], 2)
        self.assertFalse(ring["stale"])
        self.assertIn(os.getpid(), [p["pid"] for p in ring["peers"]])
        # As `ringdrop ls --json` says it (nothing moves in the ring meanwhile).
        cli = [r for r in cli_json("--channel", self.root, "ls", env=self.env)["rings"] if r["name"] == self.ring_label]
        self.assertEqual(found, cli)

    def test_the_channel_as_ls_shows_it(self):
        inv = self.get_json("/api/overview")["inventory"]
        cli = cli_json("--channel", self.root, "ls", env=self.env)
        self.assertEqual(inv["channels"], cli["channels"])
        self.assertEqual(len(inv["channels"]), 1, inv["channels"])
        c = inv["channels"][0]
        self.assertEqual(c["root"], self.root)
        self.assertEqual((c["dead_letters"], c["ready"], c["claimed"]), (3, 0, 0))

    def test_a_registered_service(self):
        service = unique("svc")
        owner = self.service_owner(service, self.registry_dir, info="quotes for the console test")
        inv = self.get_json("/api/overview")["inventory"]
        found = [s for s in inv["services"] if s["service"] == service]
        self.assertEqual(len(found), 1, inv["services"])
        s = found[0]
        self.assertEqual((s["pid"], s["alive"], s["info"]), (owner.pid, True, "quotes for the console test"))
        self.assertEqual(s["ring"], "shm:ringdrop.svc." + service)
        self.assertEqual(inv["services"], cli_json("ls", env=self.env)["services"])


# --------------------------------------------------------------------------
# /api/dead-letters
# --------------------------------------------------------------------------


class DeadLettersTest(ConsoleCase):
    def api(self, **params):
        return self.get_json(self.query("/api/dead-letters", **params) if params else "/api/dead-letters")

    def cli(self, *args):
        return cli_json("--channel", self.root, "dlq", "ls", *args, env=self.env)

    def test_one_store_is_dlq_ls_of_it(self):
        for store, kind in ((self.root, "channel"), (self.ring_label, "ring")):
            with self.subTest(store=store):
                got = self.api(store=store)
                self.assertEqual(got, self.cli(store))
                self.assertEqual([(s["store"], s["kind"]) for s in got], [(store, kind)])

    def test_the_ids_and_reasons_are_the_stores(self):
        [channel] = self.api(store=self.root)
        letters = {d["id"]: d for d in channel["dead_letters"]}
        self.assertEqual(sorted(letters), sorted(self.ids))
        for i, (id_, reason) in enumerate(zip(self.ids, self.REASONS)):
            d = letters[id_]
            self.assertIn(reason, d["reason"])
            self.assertEqual(d["summary"], reason)
            self.assertEqual(d["attempts"], 1)
            self.assertRegex(d["failed_at"], ISO_TIME)
            self.assertEqual(d["headers"]["order-id"], str(i))
            self.assertTrue(d["path"].startswith(os.path.join(self.root, "failed") + os.sep), d["path"])
        [ring] = self.api(store=self.ring_label)
        self.assertEqual(sorted(d["id"] for d in ring["dead_letters"]), sorted(self.ring_ids))

    def test_without_a_store_every_store_is_dlq_ls_of_all(self):
        # Every ring with dead letters in /dev/shm is in scope, other
        # programs' too (whose dead letters may come and go meanwhile):
        # compare this test's stores, and the channels (only the one named
        # at start).
        got = {s["store"]: s for s in self.api()}
        cli = {s["store"]: s for s in self.cli()}
        for store in (self.root, self.ring_label):
            self.assertIn(store, got)
            self.assertEqual(got[store], cli[store])
        self.assertEqual([k for k, s in got.items() if s["kind"] == "channel"], [self.root])

    def test_reason_filter(self):
        [got] = self.api(store=self.root, reason="bad-total")
        self.assertEqual(sorted(d["id"] for d in got["dead_letters"]), sorted([self.ids[0], self.ids[2]]))
        self.assertEqual([got], self.cli(self.root, "--reason", "bad-total"))
        [got] = self.api(store=self.root, reason="unknown")
        self.assertEqual([d["id"] for d in got["dead_letters"]], [self.ids[1]])
        [got] = self.api(store=self.root, reason="no such reason")
        self.assertEqual(got["dead_letters"], [])

    def test_the_reason_filter_looks_at_the_reason_only(self):
        # "attempts" and "consumer" are keys of the reason file, not reasons.
        for text in ("attempts", "consumer"):
            with self.subTest(reason=text):
                [got] = self.api(store=self.root, reason=text)
                self.assertEqual(got["dead_letters"], [])

    def test_age_filters(self):
        # Every dead letter here failed moments ago: none older than a day,
        # all newer than one.
        [got] = self.api(store=self.root, older_than="1d")
        self.assertEqual(got["dead_letters"], [])
        self.assertEqual([got], self.cli(self.root, "--older-than", "1d"))
        [got] = self.api(store=self.root, newer_than="1d")
        self.assertEqual(sorted(d["id"] for d in got["dead_letters"]), sorted(self.ids))
        [got] = self.api(store=self.root, newer_than="24h", reason="bad-total")
        self.assertEqual(sorted(d["id"] for d in got["dead_letters"]), sorted([self.ids[0], self.ids[2]]))
        [got] = self.api(store=self.ring_label, older_than="7d")
        self.assertEqual(got["dead_letters"], [])

    def test_a_bad_duration_is_400(self):
        for bad in ("soon", "5x", "-1h", "1h30m", "m"):
            for key in ("older_than", "newer_than"):
                with self.subTest(**{key: bad}):
                    self.assertError(self.get(self.query("/api/dead-letters", **{key: bad})), 400)

    def test_an_unknown_store_is_404(self):
        nosuch = unique("nosuch")
        for store in ("shm:" + nosuch, os.path.join(self.work, "no-such-channel"), "file:/nonexistent/" + nosuch,
                      nosuch):
            with self.subTest(store=store):
                self.assertError(self.get(self.query("/api/dead-letters", store=store)), 404)
        self.assertFalse(os.path.exists("/dev/shm/" + nosuch))

    def test_paths_outside_the_scope_are_404_and_not_read(self):
        other = self.channel()
        theirs = self.dead_letter(other, b"theirs", "secret-reason")
        outside = (
            "/tmp", "/", "..", "../x", "/etc", other.root, os.path.join(other.root, "failed"),
            os.path.join(self.root, "failed"), os.path.join(self.root, ".."),
            # the other channel, reached from this one's root by ".."
            os.path.join(self.root, "..", "..", os.path.basename(os.path.dirname(other.root)), "channel"),
            self.ring_store(), "file:" + self.ring_store(), "file:/dev/shm/" + self.ring_name,
        )
        for store in outside:
            with self.subTest(store=store):
                r = self.get(self.query("/api/dead-letters", store=store))
                self.assertError(r, 404)
                self.assertNotIn(theirs, r.text)
                self.assertNotIn("secret-reason", r.text)
        self.assertEqual(other.dead_letters(), [theirs])


# --------------------------------------------------------------------------
# /api/dead-letter
# --------------------------------------------------------------------------


class DeadLetterTest(ConsoleCase):
    def one(self, store, id_, expect=200):
        r = self.get(self.query("/api/dead-letter", store=store, id=id_))
        if expect == 200:
            self.assertEqual(r.status, 200, r)
            return r.json()
        return self.assertError(r, expect)

    def test_a_channels_is_dlq_show(self):
        for id_, body in zip(self.ids, self.BODIES):
            with self.subTest(id=id_):
                got = self.one(self.root, id_)
                self.assertEqual(got, cli_json("dlq", "show", self.root, id_, env=self.env))
                self.assertEqual((got["id"], got["store"], got["body"]["size"]), (id_, self.root, len(body)))
        binary = self.one(self.root, self.ids[0])["body"]
        self.assertEqual((binary["typed"], bytes.fromhex(binary["hex"])), (False, self.BODIES[0]))
        text = self.one(self.root, self.ids[1])["body"]
        self.assertEqual(text, {"typed": False, "size": len(self.BODIES[1]), "text": self.BODIES[1].decode()})

    def test_a_rings_is_dlq_show(self):
        for id_, message in zip(self.ring_ids, self.RING_MESSAGES):
            with self.subTest(id=id_):
                got = self.one(self.ring_label, id_)
                self.assertEqual(got, cli_json("dlq", "show", self.ring_label, id_, env=self.env))
                self.assertEqual(got["body"]["text"], message)
                self.assertEqual(got["headers"]["source"], self.ring_label)

    def test_ids_that_are_paths_are_400(self):
        before = self.snapshot()
        for bad in ("..", "../x", "a/b", "/etc/passwd", self.ids[0] + "/..", "../failed/" + self.ids[0],
                    "../../" + os.path.basename(self.root)):
            for store in (self.root, self.ring_label):
                with self.subTest(id=bad, store=store):
                    self.one(store, bad, expect=400)
        self.assertEqual(self.snapshot(), before)

    def test_an_id_of_another_store_is_404(self):
        other = self.channel()
        theirs = self.dead_letter(other, b"theirs", "unknown-customer")
        cases = {
            "another channel's id here": (self.root, theirs),
            "another channel, not in scope": (other.root, theirs),
            "this channel's id in the ring's store": (self.ring_label, self.ids[0]),
            "the ring's id in this channel": (self.root, self.ring_ids[0]),
        }
        for what, (store, id_) in cases.items():
            with self.subTest(what):
                message = self.one(store, id_, expect=404)
                self.assertNotIn("unknown-customer", message)
        self.assertEqual(other.dead_letters(), [theirs])

    def test_an_unknown_id_is_404(self):
        stranger = self.ids[0][:-8] + ("0" * 8 if not self.ids[0].endswith("0" * 8) else "1" * 8)
        self.one(self.root, stranger, expect=404)

    def test_missing_parameters_are_400(self):
        for path in ("/api/dead-letter", self.query("/api/dead-letter", store=self.root),
                     self.query("/api/dead-letter", id=self.ids[0])):
            with self.subTest(path=path):
                self.assertError(self.get(path), 400)


# --------------------------------------------------------------------------
# POST /api/retry, /api/purge and the action log
# --------------------------------------------------------------------------


class ActionTest(ConsoleCase):
    def test_retry_of_a_channels_dead_letter(self):
        id_ = self.ids[1]
        r = self.post("/api/retry", {"store": self.root, "ids": [id_], "operator": "alice"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"store": self.root, "dry_run": False, "matched": 1, "done": 1,
                                    "results": [{"id": id_, "ok": True, "error": ""}]})
        self.assertTrue(any(f.startswith(id_) for f in self.files(os.path.join(self.root, "new"))),
                        "back in new/: %s" % self.files(os.path.join(self.root, "new")))
        self.assertFalse(any(f.startswith(id_) for f in self.failed_files(self.root)), "gone from failed/")
        self.assertEqual(sorted(self.ch.dead_letters()), sorted([self.ids[0], self.ids[2]]))
        with self.ch.consumer() as rx:
            claim = rx.claim(LONG)
            self.assertEqual((claim.id, claim.data), (id_, self.BODIES[1]))
            claim.ack()

    def test_retry_of_a_rings_dead_letter_sends_it_back(self):
        first, second = self.ring_ids
        r = self.post("/api/retry", {"store": self.ring_label, "ids": [first]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"store": self.ring_label, "dry_run": False, "matched": 1, "done": 1,
                                    "results": [{"id": first, "ok": True, "error": ""}]})
        self.assertEqual(self.rx.receive(LONG), b"poison one")
        self.assertEmpty(self.rx)  # once
        self.assertFalse(any(f.startswith(first) for f in self.failed_files(self.ring_store())), "gone from the store")
        self.assertEqual(self.cli_dead_letter_ids(self.ring_label), [second])

    def test_purge_all_with_a_reason_purges_only_those(self):
        r = self.post("/api/purge", {"store": self.root, "all": True, "reason": "bad-total"})
        self.assertEqual(r.status, 200, r)
        result = r.json()
        self.assertEqual((result["store"], result["dry_run"], result["matched"], result["done"]),
                         (self.root, False, 2, 2))
        self.assertEqual(sorted(x["id"] for x in result["results"]), sorted([self.ids[0], self.ids[2]]))
        self.assertTrue(all(x["ok"] for x in result["results"]), result)
        self.assertEqual(self.ch.dead_letters(), [self.ids[1]])
        self.assertFalse(any(f.startswith((self.ids[0], self.ids[2])) for f in self.failed_files(self.root)),
                         "neither the dead letters nor their reasons are left")
        self.assertEqual(self.files(os.path.join(self.root, "new")), [], "purged, not requeued")
        self.assertEqual(sorted(self.cli_dead_letter_ids(self.ring_label)), sorted(self.ring_ids))

    def test_purge_of_ids(self):
        r = self.post("/api/purge", {"store": self.ring_label, "ids": [self.ring_ids[1]]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["matched"], r.json()["done"]), (1, 1))
        self.assertEqual(self.cli_dead_letter_ids(self.ring_label), [self.ring_ids[0]])
        self.assertEmpty(self.rx)

    def test_the_action_log_keeps_each_action(self):
        self.assertEqual(self.action_log_lines(), [])
        r = self.post("/api/retry", {"store": self.root, "ids": [self.ids[1]], "operator": "alice"})
        self.assertEqual(r.status, 200, r)
        [entry] = self.action_log_lines()
        self.assertEqual(entry["action"], "retry")
        self.assertEqual(entry["store"], self.root)
        self.assertEqual(entry["ids"], [self.ids[1]])
        self.assertIsNone(entry["filter"])
        self.assertEqual((entry["matched"], entry["done"]), (1, 1))
        self.assertEqual(entry["user"], os_user())
        self.assertEqual(entry["operator"], "alice")
        self.assertIn("127.0.0.1", entry["remote"])
        self.assertRegex(entry["time"], ISO_TIME)

    def test_actions_are_listed_newest_first(self):
        self.assertEqual(self.get_json("/api/actions"), [])
        self.assertEqual(self.post("/api/retry", {"store": self.root, "ids": [self.ids[1]]}).status, 200)
        r = self.post("/api/purge", {"store": self.root, "all": True, "reason": "bad-total", "operator": "bob"})
        self.assertEqual(r.status, 200, r)

        actions = self.get_json("/api/actions")
        self.assertEqual([a["action"] for a in actions], ["purge", "retry"])
        purge, retry = actions
        self.assertEqual((purge["store"], purge["operator"], purge["matched"], purge["done"]), (self.root, "bob", 2, 2))
        self.assertEqual(purge["filter"]["reason"], "bad-total")
        self.assertEqual(sorted(purge["ids"]), sorted([self.ids[0], self.ids[2]]))
        self.assertEqual((retry["ids"], retry["filter"]), ([self.ids[1]], None))
        self.assertEqual(actions, list(reversed(self.action_log_lines())), "the file, newest first")
        self.assertEqual(self.get_json("/api/actions?limit=1"), [purge])

    def test_the_action_log_outlives_the_console(self):
        self.assertEqual(self.post("/api/retry", {"store": self.root, "ids": [self.ids[1]]}).status, 200)
        code, _ = self.console.stop()
        self.assertEqual(code, 0)
        again = self.start_console()
        actions = self.get_json("/api/actions", console=again)
        self.assertEqual([(a["action"], a["ids"]) for a in actions], [("retry", [self.ids[1]])])


# --------------------------------------------------------------------------
# Refused requests
# --------------------------------------------------------------------------


class BadRequestTest(ConsoleCase):
    def test_an_id_named_twice_is_acted_on_once(self):
        r = self.post("/api/purge", {"store": self.root, "ids": [self.ids[0], self.ids[0]]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["matched"], r.json()["done"]), (1, 1))
        self.assertEqual(sorted(self.ch.dead_letters()), sorted(self.ids[1:]))

    def test_all_matching_with_another_count_than_confirmed_is_409_and_nothing_moves(self):
        before = self.snapshot()
        for expect in (2, 4, -1, "3"):  # three match
            with self.subTest(expect=expect):
                r = self.post("/api/purge", {"store": self.root, "all": True, "expect": expect})
                self.assertError(r, 409)
                self.assertEqual(self.snapshot(), before)
        r = self.post("/api/purge", {"store": self.root, "all": True, "reason": "bad-total", "expect": 2})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["matched"], r.json()["done"]), (2, 2))
        self.assertEqual(self.ch.dead_letters(), [self.ids[1]])

    def test_an_unknown_id_among_known_ones_is_404_and_nothing_moves(self):
        stranger = self.ids[0][:-8] + ("0" * 8 if not self.ids[0].endswith("0" * 8) else "1" * 8)
        before = self.snapshot()
        for path in ("/api/retry", "/api/purge"):
            for ids in ([self.ids[0], stranger], [stranger, self.ids[0]]):
                with self.subTest(path=path, ids=ids):
                    message = self.assertError(self.post(path, {"store": self.root, "ids": ids}), 404)
                    self.assertIn(stranger, message)
                    self.assertEqual(self.snapshot(), before)
        with self.subTest("a ring's store"):
            r = self.post("/api/retry", {"store": self.ring_label, "ids": [self.ring_ids[0], self.ids[0]]})
            self.assertError(r, 404)
            self.assertEqual(self.snapshot(), before)
            self.assertEmpty(self.rx)

    def test_ids_that_are_paths_are_400_and_nothing_moves(self):
        before = self.snapshot()
        for path in ("/api/retry", "/api/purge"):
            for bad in ("..", "../x", "a/b", "/etc/passwd", self.ids[0] + "/.."):
                with self.subTest(path=path, id=bad):
                    self.assertError(self.post(path, {"store": self.root, "ids": [self.ids[0], bad]}), 400)
                    self.assertEqual(self.snapshot(), before)

    def test_a_store_outside_the_scope_is_404(self):
        other = self.channel()
        theirs = self.dead_letter(other, b"theirs", "unknown-customer")
        before = self.snapshot()
        for store in (other.root, "/tmp", "../x", os.path.join(self.root, "failed")):
            for path in ("/api/retry", "/api/purge"):
                with self.subTest(store=store, path=path):
                    self.assertError(self.post(path, {"store": store, "ids": [theirs]}), 404)
                    self.assertError(self.post(path, {"store": store, "all": True}), 404)
        self.assertEqual(other.dead_letters(), [theirs])
        self.assertEqual(self.snapshot(), before)

    def test_bodies_that_are_not_the_json_asked_for_are_400(self):
        bodies = {
            "not JSON": b"{not json",
            "truncated": json.dumps({"store": self.root, "ids": [self.ids[0]]}).encode()[:-2],
            "an array": json.dumps([self.root, self.ids[0]]).encode(),
            "empty": b"",
            "no store": json.dumps({"ids": [self.ids[0]]}).encode(),
            "neither ids nor all": json.dumps({"store": self.root}).encode(),
            "ids not a list": json.dumps({"store": self.root, "ids": self.ids[0]}).encode(),
            "ids not strings": json.dumps({"store": self.root, "ids": [1, 2]}).encode(),
            "bad duration": json.dumps({"store": self.root, "all": True, "older_than": "soon"}).encode(),
        }
        before = self.snapshot()
        for what, body in bodies.items():
            for path in ("/api/retry", "/api/purge"):
                with self.subTest(what, path=path):
                    self.assertError(self.post(path, None, raw=body), 400)
                    self.assertEqual(self.snapshot(), before)

    def test_a_body_over_one_mib_is_413(self):
        padding = "x" * MIB
        body = json.dumps({"store": self.root, "ids": [self.ids[0]], "operator": padding}).encode()
        self.assertGreater(len(body), MIB)
        before = self.snapshot()
        self.assertError(self.post("/api/retry", None, raw=body), 413)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.get("/api/overview").status, 200, "and it goes on serving")

    def test_unknown_paths_are_404(self):
        for path in ("/api/nope", "/api/", "/assets/nope.js", "/assets/../api/overview", "/nope"):
            with self.subTest(path=path):
                self.assertError(self.get(path), 404)


# --------------------------------------------------------------------------
# /metrics
# --------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_metrics(text):
    """{(name, ((label, value), ...) sorted): float} of Prometheus text."""
    out = Samples()
    for line in text.split("\n"):
        if not line.strip() or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.groups()
        pairs = []
        at = 0
        while labels and at < len(labels):
            lm = LABEL.match(labels, at)
            assert lm, "bad labels in %r" % line
            unescaped = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), lm.group(2))
            pairs.append((lm.group(1), unescaped))
            at = lm.end()
        key = (name, tuple(sorted(pairs)))
        assert key not in out, "a sample twice: %r" % line
        out[key] = float(value)
    return out


class Samples(dict):
    """parse_metrics' result; value(name, **labels) is the one sample of
    `name` that has (at least) these labels, None if there is none."""

    def value(self, name, **labels):
        found = [v for (n, pairs), v in self.items() if n == name and set(labels.items()) <= set(pairs)]
        assert len(found) <= 1, "%s{%s}: %d samples" % (name, labels, len(found))
        return found[0] if found else None


class MetricsTest(ConsoleCase):
    def scrape(self):
        r = self.get("/metrics")
        self.assertEqual(r.status, 200, r)
        content_type = r.header("Content-Type") or ""
        self.assertTrue(content_type.startswith("text/plain"), r)
        self.assertIn("version=0.0.4", content_type)
        return parse_metrics(r.text)

    def test_the_rings_and_the_channels_values(self):
        for _ in range(2):
            self.ch.publish(b"ready")
        m = self.scrape()
        ring = {"ring": self.ring_label, "kind": "mpmc"}
        self.assertEqual(m.value("ringdrop_ring_committed_total", **ring), len(self.RING_MESSAGES))
        self.assertEqual(m.value("ringdrop_ring_dead_letters", **ring), 2)
        self.assertEqual(m.value("ringdrop_channel_dead_letters", channel=self.root), 3)
        self.assertEqual(m.value("ringdrop_channel_messages", channel=self.root, state="ready"), 2)

    def test_label_values_are_escaped(self):
        # A directory name may hold any byte but "/" and NUL: a quote, a
        # backslash or a newline in it must not end the label (nor the line).
        odd = self.channel(os.path.join(self.tempdir(), 'orders "eu"\\new\nline'))
        self.dead_letter(odd, b"x", "bad-total")
        console = self.start_console(channel=odd.root)
        r = self.get("/metrics", console=console)
        self.assertEqual(r.status, 200, r)
        m = parse_metrics(r.text)
        self.assertEqual(m.value("ringdrop_channel_dead_letters", channel=odd.root), 1)
        self.assertEqual(m.value("ringdrop_channel_messages", channel=odd.root, state="ready"), 0)

    def test_a_services_liveness(self):
        service = unique("svc")
        self.service_owner(service, self.registry_dir)
        self.assertEqual(self.scrape().value("ringdrop_service_up", service=service), 1)

    def test_the_values_follow_the_state(self):
        self.assertEqual(self.post("/api/retry", {"store": self.root, "ids": [self.ids[0]]}).status, 200)
        self.assertEqual(self.post("/api/retry", {"store": self.ring_label, "ids": [self.ring_ids[0]]}).status, 200)
        m = self.scrape()
        ring = {"ring": self.ring_label, "kind": "mpmc"}
        self.assertEqual(m.value("ringdrop_ring_committed_total", **ring), len(self.RING_MESSAGES) + 1)
        self.assertEqual(m.value("ringdrop_ring_dead_letters", **ring), 1)
        self.assertEqual(m.value("ringdrop_channel_dead_letters", channel=self.root), 2)
        self.assertEqual(m.value("ringdrop_channel_messages", channel=self.root, state="ready"), 1)


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------


class InlineFinder(html.parser.HTMLParser):
    """What a page served under the console's CSP must not have."""

    def __init__(self):
        super().__init__()
        self.problems, self.scripts, self.stylesheets = [], [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in a:
            if key.startswith("on"):
                self.problems.append("<%s %s=...>" % (tag, key))
        if "style" in a:
            self.problems.append("<%s style=...>" % tag)
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            if not a.get("src"):
                self.problems.append("<script> without src")
            else:
                self.scripts.append(a["src"])
            self._in_script = True
        if tag == "link" and (a.get("rel") or "").lower() == "stylesheet":
            self.stylesheets.append(a.get("href"))
        for key in ("href", "src", "action"):
            if (a.get(key) or "").strip().lower().startswith("javascript:"):
                self.problems.append("<%s %s=javascript:...>" % (tag, key))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("inline script text")


class PageTest(ConsoleCase):
    def test_the_page_script_and_stylesheet_are_served(self):
        kinds = {"/": "text/html", "/assets/console.js": "javascript", "/assets/console.css": "text/css"}
        for path, kind in kinds.items():
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 200, r)
                self.assertIn(kind, r.header("Content-Type") or "", r)
                self.assertTrue(r.body, r)

    def test_a_path_that_is_almost_an_asset_is_404_and_it_still_serves(self):
        # httplib's routes are regular expressions: an unescaped dot would let these reach the asset handler.
        for path in ("/assets/consoleXjs", "/assets/console_css", "/assets/console.js.map", "/assets/"):
            with self.subTest(path=path):
                self.assertError(self.get(path), 404)
        self.assertEqual(self.get("/assets/console.js").status, 200)

    def test_the_page_has_nothing_the_csp_blocks(self):
        page = self.get("/")
        self.assertEqual(page.status, 200, page)
        finder = InlineFinder()
        finder.feed(page.text)
        finder.close()
        self.assertEqual(finder.problems, [])
        self.assertIn("/assets/console.js", finder.scripts)
        self.assertIn("/assets/console.css", finder.stylesheets)

    def test_the_script_evaluates_no_strings(self):
        js = self.get("/assets/console.js")
        self.assertEqual(js.status, 200, js)
        self.assertNotRegex(js.text, r"\beval\s*\(|\bnew\s+Function\s*\(")


# --------------------------------------------------------------------------
# Starting and stopping
# --------------------------------------------------------------------------


class LifecycleTest(ConsoleCase):
    def stops_on(self, sig):
        code, rest = self.console.stop(sig)
        self.assertEqual(code, 0, self.console.stderr())
        self.assertEqual(rest, "", "one line on stdout, nothing more")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.console.port), timeout=LONG).close()

    def test_sigterm_ends_it_with_exit_0(self):
        self.stops_on(signal.SIGTERM)

    def test_sigint_ends_it_with_exit_0(self):
        self.stops_on(signal.SIGINT)

    def test_a_signal_at_once_after_the_line_is_not_lost(self):
        # A supervisor may stop the console as soon as it has the URL, before
        # the server's loop has started: the signal still ends it. (A signal
        # lost in that window hangs the console; tried a few times, as the
        # window is short.)
        for attempt in range(20):
            console = self.start_console()
            code, _ = console.stop(signal.SIGTERM)
            self.assertEqual(code, 0, "attempt %d; %s" % (attempt, console.stderr()))

    def test_sigterm_while_a_client_is_connected(self):
        idle = socket.create_connection(("127.0.0.1", self.console.port), timeout=LONG)
        self.addCleanup(idle.close)
        self.assertEqual(self.get("/api/overview").status, 200)
        code, _ = self.console.stop(signal.SIGTERM)
        self.assertEqual(code, 0, self.console.stderr())

    def test_a_port_in_use_is_refused(self):
        r = run_cli("console", "--listen", "127.0.0.1:%d" % self.console.port, "--action-log", self.action_log,
                    env=self.env)
        self.assertIn("Address already in use", self.assertFails(r, 1))
        self.assertEqual(self.get("/api/overview").status, 200, "the first console still serves alone")

    def test_a_host_that_does_not_resolve_is_refused(self):
        r = run_cli("console", "--listen", "no-such-host.invalid:0", "--action-log", self.action_log, env=self.env)
        self.assertIn("no-such-host.invalid", self.assertFails(r, 4))

    def test_a_token_file_with_characters_a_link_cannot_carry_is_refused(self):
        path = os.path.join(self.work, "token")
        for token in ("a+b/c=" * 4, "short", "x" * 20 + '"'):
            with self.subTest(token=token):
                with open(path, "w") as f:
                    f.write(token + "\n")
                r = run_cli("console", "--listen", "127.0.0.1:0", "--token-file", path,
                            "--action-log", self.action_log, env=self.env)
                self.assertIn("token", self.assertFails(r, 4))

    def test_two_consoles_get_different_ports_and_tokens(self):
        other = self.start_console()
        self.assertNotEqual(other.port, self.console.port)
        self.assertNotEqual(other.token, self.token)
        self.assertError(self.get("/api/overview", console=other, auth=self.token), 401)


if __name__ == "__main__":
    unittest.main()

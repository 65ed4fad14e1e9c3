"""`ringdrop console` (issue 19) driven in a real, headless Chromium.

  ConsoleBrowserTest.test_retry_a_dead_letter_from_the_page
      An MPMC ring whose consumer (a child process) rejects the first
      delivery of b"bad:order-42" with "price missing". The console serves
      that ring; the page (opened with its token) shows the ring in the
      overview with one dead letter, its link leads to the dead-letter
      screen, the row shows "price missing", "Show" shows the body; Retry,
      confirmed in the page's dialog, says "Retried 1 of 1". The child then
      consumes the message exactly once, the store no longer holds it, the
      action log file has one retry line for the store (with the operator
      name typed in the page), the page's action log shows it, and the
      browser reported no Content-Security-Policy violation.
  ConsoleBrowserTest.test_without_the_token_nothing_is_shown
      The console's URL without ?token= (no cookie): the 401 text, no page,
      no data.

Environment: RINGDROP_CLI (the binary), RINGDROP_LIBRARY (libringdrop.so for
the Python binding), PYTHONPATH (bindings/python), RINGDROP_CONSOLE_SCREENSHOT
(where the PNG of the dead-letter screen goes; a temporary file if unset).
Needs python3-selenium and chromium-driver (/usr/bin/chromedriver); skipped
without them. By hand, from the source tree:

    RINGDROP_CLI=build/release/tools/cli/ringdrop \\
    RINGDROP_LIBRARY=$(ls build/release/lib/libringdrop.so.? | head -1) \\
    RINGDROP_CONSOLE_SCREENSHOT=build/release/console.png \\
    PYTHONPATH=bindings/python PYTHONDONTWRITEBYTECODE=1 \\
        /usr/bin/python3 -m unittest discover -s tests/console -p test_console_browser.py -v

Children announce themselves with a printed line; the test waits for lines
and page states with deadlines, never sleeps to synchronise.
"""

import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request

# The helpers of tests/cli/test_cli.py (which also puts bindings/python on
# sys.path). Only names that hold no tests are imported, so that discovery
# does not run test_cli's tests here.
CLI_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cli")
if CLI_TESTS not in sys.path:
    sys.path.insert(0, CLI_TESTS)

from test_cli import CAPACITY, CLI, LONG, CliCase, child_env, unique  # noqa: E402

import ringdrop  # noqa: E402

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    SELENIUM = None
except ImportError as e:  # pragma: no cover - depends on the machine
    SELENIUM = "python3-selenium is not installed (%s); scripts/install-deps.sh installs it" % e

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
PAGE = 30.0  # bounds waits for the page
URL_LINE = re.compile(r"^ringdrop console: (http://127\.0\.0\.1:\d+)/\?token=([0-9a-f]{64})$")

SKIP = SELENIUM or (None if os.access(CHROMEDRIVER, os.X_OK) else
                    CHROMEDRIVER + " is missing (chromium-driver; scripts/install-deps.sh installs it)")

# Consumes MPMC ring argv[1] forever: READY once attached; the first delivery
# of a payload starting with b"bad:" is rejected ("price missing"; then
# "rejected PAYLOAD"), every other message is released ("consumed PAYLOAD").
CONSUMER = textwrap.dedent(
    """
    import sys, time
    import ringdrop
    rx = ringdrop.Ring(sys.argv[1], "mpmc", "consumer", "open")
    print("READY", flush=True)
    rejected = set()
    while True:
        try:
            payload = bytes(rx.read(0.5))
        except ringdrop.TimedOut:
            continue
        except ringdrop.PeerGone:
            time.sleep(0.05)  # no producer attached right now: look again
            continue
        if payload.startswith(b"bad:") and payload not in rejected:
            rejected.add(payload)
            rx.reject("price missing")
            print("rejected", payload.decode(), flush=True)
        else:
            rx.release()
            print("consumed", payload.decode(), flush=True)
    """
)


class Lines:
    """The lines a child writes on stdout, read by a thread: next() with a deadline."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.seen = []
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream):
        for raw in iter(stream.readline, b""):
            self.queue.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.queue.put(None)  # end of output

    def next(self, timeout=LONG):
        """The next line; None at the end of the output; raises queue.Empty after `timeout`."""
        line = self.queue.get(timeout=timeout)
        if line is not None:
            self.seen.append(line)
        return line

    def until(self, wanted, timeout=LONG):
        """Reads lines up to and including `wanted`; fails if the output ends first."""
        while True:
            line = self.next(timeout)
            if line is None:
                raise AssertionError("output ended before %r; lines: %r" % (wanted, self.seen))
            if line == wanted:
                return

    def rest(self):
        """Every line up to the end of the output (the process has ended)."""
        while self.next() is not None:
            pass
        self.thread.join(LONG)
        return self.seen


@unittest.skipIf(SKIP, SKIP or "")
class ConsoleBrowserTest(CliCase):
    # ---- things the test owns

    def setUp(self):
        self.tmp = self.tempdir()
        self.console = None
        self.driver = None

    def tearDown(self):
        # The rest (children, the ring, the browser) goes in addCleanup order.
        pass

    def make_ring(self):
        """A new MPMC ring held by this process as a producer: (name, producer)."""
        name = unique("console")
        return name, self.ring(name, "mpmc", "producer", capacity=CAPACITY)

    def start(self, argv, stderr_name):
        """A child process (stdout piped and read by a thread, stderr to a file), stopped after the test."""
        err = open(os.path.join(self.tmp, stderr_name), "wb")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=child_env())
        err.close()
        lines = Lines(proc.stdout)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()

        self.addCleanup(stop)
        return proc, lines

    def stderr_of(self, name):
        try:
            with open(os.path.join(self.tmp, name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def start_console(self, *names):
        """`ringdrop console` on a free port for `names`: (base URL, token)."""
        self.action_log = os.path.join(self.tmp, "actions.jsonl")
        self.console, lines = self.start(
            [CLI, "console", "--listen", "127.0.0.1:0", "--action-log", self.action_log, *names], "console.err")
        line = lines.next(LONG)
        m = URL_LINE.match(line or "")
        self.assertIsNotNone(m, "the console's URL line, got %r; stderr: %s" % (line, self.stderr_of("console.err")))
        return m.group(1), m.group(2)

    def browser(self):
        options = Options()
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                    "--disable-gpu", "--no-first-run", "--disable-extensions"):
            options.add_argument(arg)
        if os.access(CHROMIUM, os.X_OK):
            options.binary_location = CHROMIUM
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.addCleanup(self.driver.quit)
        return self.driver

    @staticmethod
    def letters_in(failed):
        """The messages in a dead-letter store's failed/ (<id>.<attempts>; not the <id>.reason files)."""
        return sorted(f for f in os.listdir(failed) if not f.endswith(".reason"))

    # ---- the page

    def diagnosis(self):
        """What the page and the server said, for a failure's message."""
        parts = []
        try:
            parts.append("status line: %r" % self.driver.find_element(By.ID, "status").text)
        except WebDriverException as e:
            parts.append("no status line (%s)" % e.msg)
        try:
            parts.append("browser log: %r" % [e["message"] for e in self.driver.get_log("browser")])
        except WebDriverException:
            pass
        parts.append("console stderr: %s" % self.stderr_of("console.err"))
        return "\n".join(parts)

    def wait(self, what, condition, timeout=PAGE):
        """condition(driver) until it is truthy (stale elements are looked up again)."""
        try:
            return WebDriverWait(self.driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(
                condition)
        except TimeoutException:
            self.fail("the page never showed %s\n%s" % (what, self.diagnosis()))

    def text_of(self, element_id):
        return self.driver.find_element(By.ID, element_id).text

    def dead_letter_row(self, summary):
        """The data-id of the one row of #dl-table whose summary has `summary`, else None."""
        rows = [r for r in self.driver.find_elements(By.CSS_SELECTOR, "#dl-table tr.dl-row")
                if summary in r.find_element(By.CSS_SELECTOR, "td.summary").text]
        return rows[0].get_attribute("data-id") if len(rows) == 1 else None

    # ---- the tests

    def test_retry_a_dead_letter_from_the_page(self):
        name, tx = self.make_ring()
        label = "shm:" + name
        failed = os.path.join(ringdrop.dead_letter_dir(name), "failed")
        consumer, out = self.start([sys.executable, "-c", CONSUMER, name], "consumer.err")
        self.assertEqual(out.next(), "READY", self.stderr_of("consumer.err"))
        tx.send(b"bad:order-42", LONG)
        out.until("rejected bad:order-42")  # printed once reject() has stored the dead letter
        self.assertEqual(len(self.letters_in(failed)), 1, os.listdir(failed))

        base, token = self.start_console(label)
        driver = self.browser()
        driver.get(base + "/?token=" + token)

        # The overview: the ring, one dead letter, a link to them.
        row = '#rings-table tr[data-ring="%s"]' % label
        self.wait("the ring in the overview", lambda d: d.find_element(By.CSS_SELECTOR, row + " a.dl-link").text == "1")
        self.assertTrue(driver.find_elements(By.CSS_SELECTOR, row + " canvas.spark"))
        self.assertNotEqual(self.text_of("overview-time"), "never")

        def open_dead_letters(d):
            d.find_element(By.CSS_SELECTOR, row + " a.dl-link").click()
            return True

        self.wait("the dead-letter link", open_dead_letters)
        self.assertEqual(urllib.parse.unquote(driver.current_url.split("#", 1)[1]), "dead-letters/" + label)
        self.wait("the store selected", lambda d: d.find_element(By.ID, "store-select").get_attribute("value") == label)
        letter = self.wait('the dead letter "price missing"', lambda d: self.dead_letter_row("price missing"))
        letter_row = '#dl-table tr.dl-row[data-id="%s"]' % letter
        self.assertEqual([f.rsplit(".", 1)[0] for f in self.letters_in(failed)], [letter])
        origin = driver.find_element(By.CSS_SELECTOR, letter_row + " td.origin").text
        self.assertEqual(origin, label)

        # Its detail: the full reason, the headers, the body as text.
        driver.find_element(By.CSS_SELECTOR, letter_row + " button.show").click()
        self.wait("the body in the detail panel", lambda d: d.find_element(By.ID, "dl-detail").is_displayed()
                  and "bad:order-42" in self.text_of("dl-detail-body"))
        self.assertIn("price missing", self.text_of("dl-detail-reason"))
        self.assertIn(label, self.text_of("dl-detail-headers"))

        operator = driver.find_element(By.ID, "operator")
        operator.clear()
        operator.send_keys("selenium-test")

        shot = os.environ.get("RINGDROP_CONSOLE_SCREENSHOT") or os.path.join(self.tmp, "console.png")
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        self.assertTrue(driver.save_screenshot(shot), shot)

        # Retry, confirmed in the page's dialog.
        driver.find_element(By.CSS_SELECTOR, letter_row + " button.retry").click()
        self.wait("the confirm dialog", lambda d: d.find_element(By.ID, "confirm-ok").is_displayed())
        self.assertEqual(self.text_of("confirm-text"), "Retry 1 dead letter of %s?" % label)
        driver.find_element(By.ID, "confirm-ok").click()
        self.wait('"Retried 1 of 1"', lambda d: "Retried 1 of 1" in self.text_of("status"))
        self.assertFalse(driver.find_element(By.ID, "confirm-dialog").is_displayed())
        self.wait("the list without it", lambda d: not d.find_elements(By.CSS_SELECTOR, letter_row))
        self.wait("the retry in the action log", lambda d: "retry" in self.text_of("actions-table")
                  and "selenium-test" in self.text_of("actions-table"))

        # The consumer got it back, once: a later message comes after it.
        out.until("consumed bad:order-42")
        tx.send(b"end", LONG)
        out.until("consumed end")
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(LONG)
        lines = out.rest()
        self.assertEqual(lines.count("consumed bad:order-42"), 1, lines)
        self.assertEqual(lines.count("rejected bad:order-42"), 1, lines)
        self.assertEqual([f for f in os.listdir(failed) if f.startswith(letter + ".")], [])

        with open(self.action_log, encoding="utf-8") as f:
            log = [json.loads(line) for line in f if line.strip()]
        retries = [a for a in log if a.get("action") == "retry" and a.get("store") == label]
        self.assertEqual(len(retries), 1, log)
        self.assertEqual((retries[0]["ids"], retries[0]["matched"], retries[0]["done"]), ([letter], 1, 1))
        self.assertEqual(retries[0]["operator"], "selenium-test")

        violations = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
        self.assertEqual(violations, [])

        self.console.send_signal(signal.SIGTERM)
        self.assertEqual(self.console.wait(LONG), 0, self.stderr_of("console.err"))

    def test_without_the_token_nothing_is_shown(self):
        name, _ = self.make_ring()
        base, _ = self.start_console("shm:" + name)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(base + "/", timeout=LONG)
        self.assertEqual(caught.exception.code, 401)
        page = caught.exception.read().decode("utf-8", "replace").strip()
        caught.exception.close()
        self.assertTrue(page)
        self.assertNotIn(name, page)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(base + "/api/overview", timeout=LONG)
        self.assertEqual(caught.exception.code, 401)
        self.assertIn("error", json.loads(caught.exception.read()))
        caught.exception.close()

        driver = self.browser()
        driver.get(base + "/")
        body = driver.find_element(By.TAG_NAME, "body").text.strip()
        self.assertEqual(body, page)
        self.assertEqual(driver.find_elements(By.ID, "rings-table"), [])
        self.assertNotIn(name, driver.page_source)
        driver.get(base + "/?token=" + "0" * 64)  # a wrong token is no better
        self.assertEqual(driver.find_elements(By.ID, "rings-table"), [])
        self.assertNotIn(name, driver.page_source)
        self.assertEqual(driver.get_cookies(), [])


if __name__ == "__main__":
    unittest.main()

"""The Python error classes agree with the one table of codes,
lib/include/ringdrop/error_table.h, and failures carry their errno.

Run by ctest (bindings/python/CMakeLists.txt, which passes the table's path
in RINGDROP_ERROR_TABLE), or by hand:

    RINGDROP_LIBRARY=build/release/lib/libringdrop.so.0 \\
        python3 -m unittest discover -s bindings/python/tests -p test_errors.py -v
"""

import errno
import os
import pickle
import re
import shutil
import sys
import tempfile
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)  # bindings/python: holds ringdrop/
TABLE = os.environ.get("RINGDROP_ERROR_TABLE") or os.path.join(
    PACKAGE_ROOT, "..", "..", "lib", "include", "ringdrop", "error_table.h")
if PACKAGE_ROOT not in sys.path:
    sys.path.append(PACKAGE_ROOT)  # after PYTHONPATH: an installed package (ctest's) comes first

import ringdrop  # noqa: E402
from ringdrop import errors  # noqa: E402

# A C string literal as the table writes them: no escapes but \" and \\.
_STRING = r'"((?:[^"\\]|\\.)*)"'
# XX(cpp_name, C_SUFFIX, number, "message") and XX(C_SUFFIX, number, "message").
_ROW = re.compile(r"\bXX\(\s*(\w+)\s*,\s*(E\w+)\s*,\s*(\d+)\s*,\s*" + _STRING + r"\s*\)")
_C_ROW = re.compile(r"\bXX\(\s*(E\w+)\s*,\s*(\d+)\s*,\s*" + _STRING + r"\s*\)")


def _macro(text, name):
    """The body of `#define name(XX) ...`, continuation lines joined."""
    m = re.search(r"#define " + name + r"\(XX\)((?:.*\\\n)*.*)", text)
    if m is None:
        raise AssertionError("%s: no macro %s" % (TABLE, name))
    return m.group(1).replace("\\\n", "\n")


def read_table():
    """[(c_suffix, code, message)] of every row of both tables; code negative."""
    with open(TABLE) as f:
        text = f.read()
    rows = [(c, -int(n), msg) for _, c, n, msg in _ROW.findall(_macro(text, "RINGDROP_ERROR_TABLE"))]
    rows += [(c, -int(n), msg) for c, n, msg in _C_ROW.findall(_macro(text, "RINGDROP_C_ERROR_TABLE"))]
    return [(c, code, msg.replace('\\"', '"').replace("\\\\", "\\")) for c, code, msg in rows]


def python_codes():
    """{name: code} of the E* constants of ringdrop.errors."""
    return {n: v for n, v in vars(errors).items() if re.fullmatch(r"E[A-Z]+", n) and isinstance(v, int)}


class TableTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rows = read_table()

    def test_table_is_read(self):
        # Sanity of the parser itself: the table had 23 + 3 rows when this
        # test was written, and only ever grows.
        self.assertGreaterEqual(len(self.rows), 26)
        self.assertIn(("ETIMEDOUT", -2, "timed out: nothing arrived (or no room was freed) in time"), self.rows)
        self.assertIn(("EINTERNAL", -102, "internal error in ringdrop"), self.rows)
        codes = [code for _, code, _ in self.rows]
        self.assertEqual(len(codes), len(set(codes)), "a number used twice")

    def test_every_code_of_the_table_has_its_constant_class_and_text(self):
        for suffix, code, message in self.rows:
            with self.subTest(code=suffix):
                self.assertEqual(getattr(errors, suffix, None), code, "errors.%s" % suffix)
                cls = ringdrop.error_class(code)
                self.assertIsNot(cls, ringdrop.RingdropError)
                self.assertEqual(cls(code).code, code)
                # The library's text is the table's (ringdrop_strerror).
                self.assertEqual(ringdrop.strerror(code), message)

    def test_every_python_code_and_class_is_in_the_table(self):
        table = {suffix: code for suffix, code, _ in self.rows}
        self.assertEqual(python_codes(), table)
        mapped = set(errors._CLASSES)
        self.assertEqual(mapped, set(table.values()))
        # One class per code, and every class the module defines has a code.
        classes = [errors.error_class(code) for code in table.values()]
        self.assertEqual(len(classes), len(set(classes)))
        defined = {c for c in vars(errors).values()
                   if isinstance(c, type) and issubclass(c, errors.RingdropError) and c is not errors.RingdropError}
        self.assertEqual(defined, set(classes))
        exported = {c for c in classes if getattr(ringdrop, c.__name__, None) is c}
        self.assertEqual(exported, set(classes), "every class is importable from ringdrop")


class ErrnoTest(unittest.TestCase):
    """A failed system call's errno reaches the exception (.errno)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rdpy-errno-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def open_file_ring(self, path):
        return ringdrop.Ring(path, "spsc", "producer", "create", file_backed=True, capacity=1 << 16)

    def test_missing_directory_is_not_found_with_enoent(self):
        with self.assertRaises(ringdrop.NotFound) as caught:
            self.open_file_ring(os.path.join(self.dir, "missing", "ring"))
        self.assertEqual(caught.exception.errno, errno.ENOENT)
        self.assertEqual(errors.last_error_errno(), errno.ENOENT)

    def test_a_file_as_directory_is_a_system_failure_with_enotdir(self):
        plain = os.path.join(self.dir, "plain")
        open(plain, "w").close()
        with self.assertRaises(ringdrop.SystemFailure) as caught:
            self.open_file_ring(os.path.join(plain, "ring"))
        e = caught.exception
        self.assertEqual(e.code, errors.ESYSTEM)
        self.assertEqual(e.errno, errno.ENOTDIR)
        self.assertIn(os.strerror(errno.ENOTDIR), e.detail)
        again = pickle.loads(pickle.dumps(e))
        self.assertEqual((type(again), again.errno, again.detail), (type(e), e.errno, e.detail))

    def test_a_failure_without_a_system_call_has_no_errno(self):
        with self.assertRaises(ringdrop.InvalidArgument) as caught:
            ringdrop.Ring("bad/name-%s" % uuid.uuid4().hex[:8], "spsc", "producer", "create")
        self.assertIsNone(caught.exception.errno)
        self.assertEqual(errors.last_error_errno(), 0)


# Each class that means what a built-in means derives from it too
# (errors.py); InvalidArgument and OutOfMemory always did.
BUILTINS = {
    "TimedOut": TimeoutError,
    "NotFound": FileNotFoundError,
    "PermissionDenied": PermissionError,
    "AlreadyExists": FileExistsError,
    "WouldBlock": BlockingIOError,
    "InvalidArgument": ValueError,
    "OutOfMemory": MemoryError,
}


def unique_name(tag):
    return "rdpy-%s-%d-%s" % (tag, os.getpid(), uuid.uuid4().hex[:8])


class BuiltinTest(unittest.TestCase):
    """ringdrop errors are caught as the matching built-ins, and behave as
    ringdrop errors still."""

    def test_classes_derive_from_their_builtin_and_from_ringdrop_error(self):
        for name, builtin in BUILTINS.items():
            with self.subTest(cls=name):
                cls = getattr(ringdrop, name)
                self.assertTrue(issubclass(cls, builtin))
                self.assertTrue(issubclass(cls, ringdrop.RingdropError))
        # The others are no OSError: `except OSError` does not catch a
        # PeerGone or a Corrupted segment by accident.
        for cls in set(errors._CLASSES.values()) - {getattr(ringdrop, n) for n in BUILTINS}:
            with self.subTest(cls=cls.__name__):
                self.assertFalse(issubclass(cls, OSError))

    def test_oserror_subclasses_keep_ringdrops_message_and_attributes(self):
        # OSError reads (errno, strerror, ...) from its arguments: a ringdrop
        # error made of (code, detail, description) must not become
        # "[Errno -2] ..." with a negative errno.
        for name in BUILTINS:
            with self.subTest(cls=name):
                cls = getattr(ringdrop, name)
                code = next(c for c, k in errors._CLASSES.items() if k is cls)
                e = cls(code, "the detail")
                text = "%s: the detail" % ringdrop.strerror(code)
                self.assertEqual(str(e), text)
                self.assertEqual(e.args, (text,))
                self.assertEqual((e.code, e.detail, e.description), (code, "the detail", ringdrop.strerror(code)))
                self.assertIsNone(e.errno)
                self.assertNotIn("Errno", str(e))
                three = cls(code, "d", "given description")
                self.assertEqual((str(three), three.errno), ("given description: d", None))
                e.errno = errno.EIO
                again = pickle.loads(pickle.dumps(e))
                self.assertEqual((type(again), str(again), again.args, again.code, again.errno),
                                 (cls, text, e.args, code, errno.EIO))

    def test_opening_a_missing_ring_is_a_file_not_found_error(self):
        name = unique_name("missing")
        try:
            ringdrop.Ring(name, "spsc", "consumer", "open")
        except FileNotFoundError as e:
            caught = e
        else:
            self.fail("opened a ring that does not exist")
        self.assertIsInstance(caught, ringdrop.NotFound)
        self.assertEqual(caught.code, errors.ENOTFOUND)
        self.assertEqual(caught.errno, errno.ENOENT)
        self.assertIn(name, caught.detail)
        self.assertIn(name, str(caught))
        self.assertEqual(caught.args, (str(caught),))
        self.assertTrue(str(caught).startswith(ringdrop.strerror(errors.ENOTFOUND) + ": "))
        # And the ringdrop base class still catches it.
        with self.assertRaises(ringdrop.RingdropError):
            ringdrop.Ring(name, "spsc", "consumer", "open")

    def test_a_receive_timeout_is_a_timeout_error(self):
        name = unique_name("timeout")
        self.addCleanup(ringdrop.remove, name, missing_ok=True)
        with ringdrop.Consumer(name, "spsc", "create") as rx:
            try:
                rx.receive(timeout=0.001)
            except TimeoutError as e:
                caught = e
            else:
                self.fail("an empty ring gave a message")
            self.assertIsInstance(caught, ringdrop.TimedOut)
            self.assertEqual(caught.code, errors.ETIMEDOUT)
            self.assertIsNone(caught.errno)
            self.assertEqual(str(caught), ringdrop.strerror(errors.ETIMEDOUT))
            try:
                rx.receive(timeout=0)
            except ringdrop.RingdropError as e:
                self.assertIsInstance(e, TimeoutError)
            else:
                self.fail("an empty ring gave a message")

    def test_creating_an_existing_ring_is_a_file_exists_error(self):
        name = unique_name("exists")
        self.addCleanup(ringdrop.remove, name, missing_ok=True)
        with ringdrop.Producer(name, "mpmc", "create"):
            with self.assertRaises(FileExistsError) as caught:
                ringdrop.Consumer(name, "mpmc", "create")
        self.assertIsInstance(caught.exception, ringdrop.AlreadyExists)
        self.assertEqual(caught.exception.code, errors.EEXISTS)

    def test_a_missing_drop_channel_is_a_file_not_found_error(self):
        root = tempfile.mkdtemp(prefix="rdpy-builtin-")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        with self.assertRaises(FileNotFoundError) as caught:
            ringdrop.DropChannel(os.path.join(root, "missing"), create=False)
        self.assertEqual(caught.exception.code, errors.ENOTFOUND)

    @unittest.skipIf(hasattr(os, "geteuid") and os.geteuid() == 0, "root may write anywhere")
    def test_a_read_only_directory_is_a_permission_error(self):
        root = tempfile.mkdtemp(prefix="rdpy-builtin-")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        os.chmod(root, 0o500)
        self.addCleanup(os.chmod, root, 0o700)
        with self.assertRaises(PermissionError) as caught:
            ringdrop.Ring(os.path.join(root, "ring"), "spsc", "producer", "create", file_backed=True)
        self.assertIsInstance(caught.exception, ringdrop.PermissionDenied)
        self.assertEqual(caught.exception.code, errors.EPERM)
        self.assertEqual(caught.exception.errno, errno.EACCES)


if __name__ == "__main__":
    unittest.main()

"""The package as `cmake --install` leaves it: imported from the prefix, its
C library found through the path the install recorded (no RINGDROP_LIBRARY),
its version the project's one version, typed (py.typed) and documented.

Run by ctest (bindings/python/CMakeLists.txt) against tests/install's prefix:
    RINGDROP_EXPECT_PREFIX=<prefix> RINGDROP_EXPECT_VERSION=<x.y.z> \\
    PYTHONPATH=<prefix>/<python dir> python3 -m unittest test_installed
"""

import importlib.metadata
import os
import pydoc
import unittest

import ringdrop
from ringdrop import _config

PREFIX = os.environ.get("RINGDROP_EXPECT_PREFIX")
VERSION = os.environ.get("RINGDROP_EXPECT_VERSION")


@unittest.skipUnless(PREFIX and VERSION, "RINGDROP_EXPECT_PREFIX and _VERSION name the install to check")
class Installed(unittest.TestCase):
    def test_imported_from_the_prefix_not_the_source_tree(self):
        here = os.path.realpath(ringdrop.__file__)
        self.assertTrue(here.startswith(os.path.realpath(PREFIX) + os.sep), here)

    def test_library_is_the_one_the_install_recorded(self):
        self.assertNotIn("RINGDROP_LIBRARY", os.environ)
        self.assertEqual(os.path.basename(_config.LIBRARY), "libringdrop.so.0")
        self.assertTrue(os.path.realpath(_config.LIBRARY).startswith(os.path.realpath(PREFIX) + os.sep),
                        _config.LIBRARY)
        self.assertEqual(ringdrop.library_path(), _config.LIBRARY)

    def test_versions_are_the_projects_one_version(self):
        self.assertEqual(_config.VERSION, VERSION)
        self.assertEqual(importlib.metadata.version("ringdrop"), VERSION)  # the dist-info
        self.assertEqual(ringdrop.__version__, VERSION)
        self.assertEqual(ringdrop.version_string(), VERSION)
        major, minor, patch = (int(x) for x in VERSION.split("."))
        self.assertEqual(ringdrop.version(), major * 10000 + minor * 100 + patch)

    def test_typed_marker_is_installed(self):
        self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(ringdrop.__file__), "py.typed")))

    def test_help_shows_the_docstrings(self):
        text = pydoc.render_doc(ringdrop.Producer, renderer=pydoc.plaintext)
        self.assertIn(ringdrop.Producer.__doc__.strip().splitlines()[0], text)
        self.assertIn("send(", text)


if __name__ == "__main__":
    unittest.main()

"""The one dynamic part of pyproject.toml: the version, and the package's
record of it (ringdrop/_config.py, VERSION).

The version's one home is project(ringdrop VERSION x.y.z) in the top-level
CMakeLists.txt. It is taken from, in order: $RINGDROP_VERSION (for a build
from a copy of bindings/python alone), that CMakeLists.txt two folders up (a
checkout), PKG-INFO (an sdist made from a checkout).
"""

import os
import re

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def project_version():
    explicit = os.environ.get("RINGDROP_VERSION")
    if explicit:
        return explicit
    cmake = os.path.join(HERE, "..", "..", "CMakeLists.txt")
    if os.path.exists(cmake):
        with open(cmake, encoding="utf-8") as f:
            m = re.search(r"project\(\s*ringdrop\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", f.read())
        if m:
            return m.group(1)
        # Some other project's CMakeLists.txt: not a ringdrop checkout.
    pkg_info = os.path.join(HERE, "PKG-INFO")
    if os.path.exists(pkg_info):
        with open(pkg_info, encoding="utf-8") as f:
            m = re.search(r"^Version: (\S+)$", f.read(), re.M)
        if m:
            return m.group(1)
    raise SystemExit("setup.py: cannot tell ringdrop's version: set RINGDROP_VERSION, "
                     "or build from a checkout (the top-level CMakeLists.txt has it)")


VERSION = project_version()


class BuildPy(build_py):
    """Writes the version into the built package's _config.py."""

    def run(self):
        super().run()
        path = os.path.join(self.build_lib, "ringdrop", "_config.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write('"""Written by setup.py (pip install): the version; the C library\n'
                    'comes from $RINGDROP_LIBRARY or the dynamic loader."""\n'
                    "VERSION = %r\nLIBRARY = None\n" % VERSION)


setup(version=VERSION, cmdclass={"build_py": BuildPy})

"""What an install of the package recorded about itself; nothing in a source
tree (both None).

``cmake --install`` writes this file into the installed package with both
values; ``pip install`` (setup.py) writes VERSION only, since pip installs
no C library: libringdrop.so.0 then comes from $RINGDROP_LIBRARY or the
dynamic loader (see _lib.py).
"""

# The package's version ("0.2.0"); its one home is the top-level CMakeLists.txt.
VERSION = None
# The absolute path of the libringdrop.so.<major> installed with the package.
LIBRARY = None

# cmake/python_install_dir.cmake — where `cmake --install` puts the Python
# package (cmake/install_python.cmake does it), relative to the prefix:
#
#   RINGDROP_PYTHON_OTHER_DIR   for a prefix other than /usr:
#                               lib/python3.X/dist-packages for Debian's own
#                               python3 (what it searches under /usr/local),
#                               else lib/python3.X/site-packages
#   RINGDROP_PYTHON_PREFIX_DIR  the same, or RINGDROP_PYTHON_INSTALL_DIR if
#                               set (tests/install and the Python tests use it)
#
# Under the prefix /usr (CPack's) it is lib/python3/dist-packages. Included
# before the subfolders: their tests need it.
find_package(Python3 3.8 COMPONENTS Interpreter)
set(RINGDROP_PYTHON_INSTALL_DIR "" CACHE STRING
    "Where the Python package goes, relative to the prefix (empty: chosen at install time, see above)")
if(Python3_Interpreter_FOUND)
  get_filename_component(_python_real "${Python3_EXECUTABLE}" REALPATH)
  set(_python_site "site-packages")
  if(_python_real MATCHES "^/usr/bin/")
    set(_python_site "dist-packages")  # Debian's interpreter
  endif()
  set(RINGDROP_PYTHON_OTHER_DIR "lib/python${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}/${_python_site}")
else()
  set(RINGDROP_PYTHON_OTHER_DIR "lib/python3/dist-packages")
endif()
# For tests/install: where the package lands under a prefix other than /usr.
set(RINGDROP_PYTHON_PREFIX_DIR "${RINGDROP_PYTHON_OTHER_DIR}")
if(RINGDROP_PYTHON_INSTALL_DIR)
  set(RINGDROP_PYTHON_PREFIX_DIR "${RINGDROP_PYTHON_INSTALL_DIR}")
endif()

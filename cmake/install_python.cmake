# cmake/install_python.cmake — run by `cmake --install` (component python),
# after cmake/install.cmake set RINGDROP_* for it: copies the Python package
# into the prefix's Python folder, with a _config.py naming this install's
# version and libringdrop.so.<major>, and a ringdrop-<version>.dist-info
# (METADATA, INSTALLER) so that importlib.metadata and pip see the package. CMAKE_INSTALL_PREFIX is the prefix of
# this install (--prefix, or /usr under CPack); file(INSTALL) applies DESTDIR.
set(_dir "${RINGDROP_PYTHON_INSTALL_DIR}")
if(NOT _dir)
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(_dir "lib/python3/dist-packages")  # Debian's place for packaged modules
  else()
    set(_dir "${RINGDROP_PYTHON_OTHER_DIR}")
  endif()
endif()
set(_libdir "${RINGDROP_LIBDIR}")
if(NOT IS_ABSOLUTE "${_libdir}")
  set(_libdir "${CMAKE_INSTALL_PREFIX}/${_libdir}")
endif()

file(INSTALL "${RINGDROP_SOURCE_DIR}/bindings/python/ringdrop"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/${_dir}"
     FILES_MATCHING PATTERN "*.py" PATTERN "py.typed"
     PATTERN "_config.py" EXCLUDE PATTERN "__pycache__" EXCLUDE)
set(_config "${RINGDROP_BINARY_DIR}/python/ringdrop/_config.py")
file(WRITE "${_config}"
  "\"\"\"Written by cmake --install: this install's version and C library.\"\"\"\n"
  "VERSION = \"${RINGDROP_VERSION}\"\n"
  "LIBRARY = \"${_libdir}/libringdrop.so.${RINGDROP_SOVERSION}\"\n")
file(INSTALL "${_config}" DESTINATION "${CMAKE_INSTALL_PREFIX}/${_dir}/ringdrop")

# The distribution's metadata (the core fields of the packaging spec), as
# pip would write it; no RECORD, so pip will not uninstall what CMake or the
# Debian package installed.
file(GLOB _old_dist_info "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${_dir}/ringdrop-[0-9]*.dist-info")
if(_old_dist_info)
  file(REMOVE_RECURSE ${_old_dist_info})  # an earlier version's, in the same prefix
endif()
set(_dist_info "${RINGDROP_BINARY_DIR}/python/ringdrop-${RINGDROP_VERSION}.dist-info")
file(MAKE_DIRECTORY "${_dist_info}")
file(WRITE "${_dist_info}/METADATA"
  "Metadata-Version: 2.1\n"
  "Name: ringdrop\n"
  "Version: ${RINGDROP_VERSION}\n"
  "Summary: Inter-process messaging on one host: a ctypes binding of libringdrop's C ABI\n"
  "Requires-Python: >=3.8\n")
file(WRITE "${_dist_info}/INSTALLER" "cmake\n")
file(INSTALL "${_dist_info}" DESTINATION "${CMAKE_INSTALL_PREFIX}/${_dir}")

# cmake/install_python.cmake — run by `cmake --install` (component python),
# after cmake/install.cmake set RINGDROP_* for it: copies the Python package
# into the prefix's Python folder, with a _config.py naming this install's
# version and libringdrop.so.<major>. CMAKE_INSTALL_PREFIX is the prefix of
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

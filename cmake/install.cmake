# cmake/install.cmake — install rules, pkg-config file and CMake package config.
#
#   cmake --install <build> --prefix P   gives
#
#   P/include/ringdrop.h                  the C ABI
#   P/include/ringdrop/*.hpp              the C++ API
#   P/include/ringdrop/version.h          the version (generated; C and C++ include it)
#   P/include/ringdrop/error_table.h      the error codes (C and C++ include it)
#   P/include/ringdrop/schema/*.capnp.h   generated from lib/schemas
#   P/lib/libringdrop.so.<ver>, .so.<major>, .so   the C ABI (SONAME .so.<major>)
#   P/lib/libringdrop.a                   the C++ API's library
#   P/lib/pkgconfig/ringdrop.pc           for C: pkg-config --cflags --libs ringdrop
#   P/lib/cmake/ringdrop/                 find_package(ringdrop CONFIG):
#                                           ringdrop::ringdrop (shared, C ABI)
#                                           ringdrop::static   (static, C++ API)
#                                           ringdrop_capnp_library() (your schemas)
#   P/share/ringdrop/schemas/*.capnp      ringdrop's own schemas (envelope.capnp)
#   P/share/ringdrop/cobol/*.cpy          the COBOL copybooks (examples/cobol/CMakeLists.txt)
#   P/share/ringdrop/fortran/ringdrop_c.f90  the Fortran module (examples/fortran/CMakeLists.txt)
#                                         (both installed by the examples: RINGDROP_BUILD_EXAMPLES)
#
#   P/bin/ringdrop                        the operator's command (tools/cli)
#   P/share/doc/ringdrop/cli.md           its manual
#   P/share/doc/ringdrop/console.md       the web console's (`ringdrop console`)
#   P/bin/ringdrop-bridge                 the bridge to RabbitMQ (tools/bridge)
#   P/share/doc/ringdrop/bridge.md        its manual
#   P/<python dir>/ringdrop/              the Python package, with _config.py
#                                         naming P/lib/libringdrop.so.<major>
#     <python dir> is lib/python3/dist-packages when P is /usr (Debian's
#     place for packages), else lib/python3.X/dist-packages for Debian's own
#     python3 (what it searches under /usr/local), else
#     lib/python3.X/site-packages (RINGDROP_PYTHON_INSTALL_DIR sets it).
#
# Components, one Debian package each (cmake/packaging.cmake): `runtime` is
# the versioned shared library alone (libringdrop0: what a program built
# against ringdrop needs at run time); `development` the headers, the static
# library, the CMake and pkg-config files and the schemas (libringdrop-dev);
# `tools` the command (ringdrop-tools); `bridge` the bridge to RabbitMQ
# (ringdrop-bridge); `python` the package (python3-ringdrop).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(RINGDROP_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/ringdrop")

# ---------------------------------------------------------------- targets
#
# Both libraries link the OBJECT library ringdrop_objects PUBLIC, which is
# how they get its objects and its usage requirements in the build tree. An
# exported target may only name exported targets, and exporting
# ringdrop_objects would drag its private link to ringdrop_warnings (our
# -Werror flags) into the export set too. So installed, each library carries
# its requirements itself: ringdrop_objects stays a build-tree detail
# ($<BUILD_INTERFACE:...>), and the third-party targets it links publicly
# (Threads, Boost, CapnProto) are the static library's install
# interface. The shared library needs none of them: it is self-contained C.
#
# Each third-party package named there needs a find_dependency() line in
# ringdropConfig.cmake; RINGDROP_FIND_DEPENDENCIES collects them, and a
# package this file does not know stops the configure step instead of
# producing a config that fails for consumers. RINGDROP_PC_LIBS_PRIVATE is
# the same for a static link through pkg-config.
set(RINGDROP_FIND_DEPENDENCIES "")
set(RINGDROP_PC_LIBS_PRIVATE "")
set(_ringdrop_install_links "")
get_target_property(_ringdrop_object_links ringdrop_objects INTERFACE_LINK_LIBRARIES)
foreach(_link IN LISTS _ringdrop_object_links)
  string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" _name "${_link}")
  if(_name STREQUAL "ringdrop_warnings")
    continue()  # compile flags for ringdrop's own code: nothing to link
  elseif(_name MATCHES "^Threads::")
    set(_find "find_dependency(Threads)")
    set(_pc "-pthread")
  elseif(_name MATCHES "^Boost::")
    set(_find "find_dependency(Boost 1.74)")  # the version the top-level CMakeLists.txt asks for
    set(_pc "")                               # header-only
  elseif(_name MATCHES "^CapnProto::")
    set(_find "find_dependency(CapnProto CONFIG)")
    set(_pc "-lcapnp -lkj")
  else()
    message(FATAL_ERROR "cmake/install.cmake: ringdrop_objects links '${_link}'; "
                        "say how an installed ringdrop finds it (a find_dependency line here)")
  endif()
  list(APPEND _ringdrop_install_links "${_link}")
  string(FIND "${RINGDROP_FIND_DEPENDENCIES}" "${_find}" _seen)
  if(_seen EQUAL -1)
    string(APPEND RINGDROP_FIND_DEPENDENCIES "${_find}\n")
    if(_pc)
      string(APPEND RINGDROP_PC_LIBS_PRIVATE " ${_pc}")
    endif()
  endif()
endforeach()

foreach(_target ringdrop ringdrop_static)
  get_target_property(_links ${_target} INTERFACE_LINK_LIBRARIES)
  list(TRANSFORM _links REPLACE "^ringdrop_objects$" "$<BUILD_INTERFACE:ringdrop_objects>")
  set_property(TARGET ${_target} PROPERTY INTERFACE_LINK_LIBRARIES "${_links}")
endforeach()
foreach(_link IN LISTS _ringdrop_install_links)
  set_property(TARGET ringdrop_static APPEND PROPERTY INTERFACE_LINK_LIBRARIES "$<INSTALL_INTERFACE:${_link}>")
endforeach()
# The C++ headers need C++20 (std::span...); say so to consumers' compilers.
set_property(TARGET ringdrop_static APPEND PROPERTY INTERFACE_COMPILE_FEATURES cxx_std_20)
# ringdrop::static, as in the build tree (not ringdrop::ringdrop_static).
set_property(TARGET ringdrop_static PROPERTY EXPORT_NAME static)

install(TARGETS ringdrop ringdrop_static EXPORT ringdropTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# ---------------------------------------------------------------- headers

install(FILES ${PROJECT_SOURCE_DIR}/bindings/c/include/ringdrop.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/ringdrop
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
  # not version.h.in; *.h: error_table.h, which ringdrop.h includes
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
# Generated headers: everything lib/ generates under <build>/lib/include/ringdrop/:
# version.h, and the Cap'n Proto headers of lib/schemas (ringdrop/schema/*.capnp.h).
# >>> Cap'n Proto: a generated header with another suffix needs its pattern
# >>> here.
install(DIRECTORY ${PROJECT_BINARY_DIR}/lib/include/ringdrop
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
  FILES_MATCHING PATTERN "version.h" PATTERN "*.capnp.h")
# ringdrop's schemas, for a user's schema that imports them, or a tool that
# decodes an envelope (capnp decode envelope.capnp Envelope).
set(RINGDROP_SCHEMA_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/ringdrop/schemas")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/schemas/
  DESTINATION ${RINGDROP_SCHEMA_INSTALL_DIR} COMPONENT development
  FILES_MATCHING PATTERN "*.capnp")

# ---------------------------------------------------------- documents
# The ringdrop command's manual (its --help points here).
install(FILES ${PROJECT_SOURCE_DIR}/docs/cli.md ${PROJECT_SOURCE_DIR}/docs/console.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT tools)
# ringdrop-bridge's manual, beside it (the `bridge` component: ringdrop-bridge).
install(FILES ${PROJECT_SOURCE_DIR}/docs/bridge.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT bridge)

# ---------------------------------------------------------- CMake package

install(EXPORT ringdropTargets NAMESPACE ringdrop::
  DESTINATION ${RINGDROP_CMAKE_DIR} COMPONENT development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ringdropConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ringdropConfig.cmake
  INSTALL_DESTINATION ${RINGDROP_CMAKE_DIR}
  PATH_VARS RINGDROP_SCHEMA_INSTALL_DIR)
# Same major version: the ABI policy of bindings/README.md (within a major
# version things are only added). While the major is 0 this still holds:
# the SONAME is libringdrop.so.0.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ringdropConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
# The schema helper, as the build tree uses it (cmake/ringdrop_capnp.cmake).
install(FILES ${PROJECT_BINARY_DIR}/ringdropConfig.cmake ${PROJECT_BINARY_DIR}/ringdropConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/ringdrop_capnp.cmake
  DESTINATION ${RINGDROP_CMAKE_DIR} COMPONENT development)

# ------------------------------------------------------------ pkg-config
#
# The prefix is only known at install time (`cmake --install --prefix P`
# overrides CMAKE_INSTALL_PREFIX), so the .pc file is written then, from
# ringdrop.pc.in, and installed like any other file (DESTDIR applies).
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(_pc_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(_pc_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
install(CODE "
  set(RINGDROP_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(RINGDROP_PC_LIBDIR [[${_pc_LIBDIR}]])
  set(RINGDROP_PC_INCLUDEDIR [[${_pc_INCLUDEDIR}]])
  set(PROJECT_DESCRIPTION [[${PROJECT_DESCRIPTION}]])
  set(PROJECT_VERSION [[${PROJECT_VERSION}]])
  set(RINGDROP_PC_LIBS_PRIVATE [[${RINGDROP_PC_LIBS_PRIVATE}]])
  configure_file([[${PROJECT_SOURCE_DIR}/cmake/ringdrop.pc.in]] [[${PROJECT_BINARY_DIR}/ringdrop.pc]] @ONLY)
" COMPONENT development)
install(FILES ${PROJECT_BINARY_DIR}/ringdrop.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)

# -------------------------------------------------------- Python package
#
# The package's folder, as it is in bindings/python, and a _config.py that
# records the version and where this install put libringdrop.so.<major>, so
# that `import ringdrop` needs no environment variable. The folder depends on
# the prefix, known only at install time (CPack installs to /usr), so the
# copy is made then.
# RINGDROP_PYTHON_OTHER_DIR: cmake/python_install_dir.cmake.
install(CODE "
  set(RINGDROP_PYTHON_INSTALL_DIR [[${RINGDROP_PYTHON_INSTALL_DIR}]])
  set(RINGDROP_PYTHON_OTHER_DIR [[${RINGDROP_PYTHON_OTHER_DIR}]])
  set(RINGDROP_LIBDIR [[${CMAKE_INSTALL_LIBDIR}]])
  set(RINGDROP_SOURCE_DIR [[${PROJECT_SOURCE_DIR}]])
  set(RINGDROP_BINARY_DIR [[${PROJECT_BINARY_DIR}]])
  set(RINGDROP_VERSION [[${PROJECT_VERSION}]])
  set(RINGDROP_SOVERSION [[${PROJECT_VERSION_MAJOR}]])
" COMPONENT python)
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/install_python.cmake COMPONENT python)

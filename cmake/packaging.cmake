# cmake/packaging.cmake — Debian packages with CPack, one per install
# component (cmake/install.cmake names them):
#
#   libringdrop0       runtime      libringdrop.so.0 (the C ABI); the name
#                                   follows the SONAME's major version
#   libringdrop-dev    development  headers, libringdrop.a, CMake and
#                                   pkg-config files, schemas, the schema
#                                   compiler helper, COBOL/Fortran sources
#   ringdrop-tools     tools        bin/ringdrop and its manual
#   ringdrop-bridge    bridge       bin/ringdrop-bridge (tools/bridge), the
#                                   bridge to RabbitMQ, and its manual; it
#                                   links rabbitmq-c (librabbitmq4)
#   python3-ringdrop   python       the Python package (pure Python, all)
#
#   scripts/package.sh [build dir]  builds them (cpack -G DEB) into
#                                   <build>/packages; tests/package tests them
#
# The version is the project's one version (project(ringdrop VERSION ...)):
# a native Debian version, so each package's changelog.gz is a Debian
# changelog, made here from CHANGELOG.md's heading for this version (the
# configure step fails if CHANGELOG.md has none: a release is described
# before it is built). Shared-library dependencies are computed by
# dpkg-shlibdeps (dpkg-dev), so they name the Cap'n Proto, libstdc++ and
# libc packages the binaries really link.

# The runtime package is named after the SONAME (Debian policy 8.1), so a
# new major version is a new package beside the old one.
set(RINGDROP_RUNTIME_PACKAGE libringdrop${PROJECT_VERSION_MAJOR})

# ------------------------------------------------------------ changelog
file(STRINGS ${PROJECT_SOURCE_DIR}/CHANGELOG.md _heading
     REGEX "^## \\[${PROJECT_VERSION}\\] - [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")
if(NOT _heading)
  message(FATAL_ERROR "CHANGELOG.md has no heading '## [${PROJECT_VERSION}] - YYYY-MM-DD': "
                      "describe version ${PROJECT_VERSION} there (docs/packaging.md)")
endif()
string(REGEX MATCH "[0-9]+-[0-9]+-[0-9]+" _date "${_heading}")
# RFC 2822 date of the release day, noon UTC (reproducible: no build time).
execute_process(COMMAND date -u -R -d "${_date} 12:00" OUTPUT_VARIABLE _rfc2822
                OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)

# The packages' Maintainer field: whoever builds and ships them sets it.
set(RINGDROP_MAINTAINER "ringdrop developers <ringdrop@example.org>" CACHE STRING
    "Maintainer of the Debian packages: \"Name <address>\"")
set(_debian_changelog "${PROJECT_BINARY_DIR}/debian/changelog")
file(WRITE "${_debian_changelog}"
  "ringdrop (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
  "  * Release ${PROJECT_VERSION}: CHANGELOG.md in the source says what it\n"
  "    added, changed and fixed.\n\n"
  " -- ${RINGDROP_MAINTAINER}  ${_rfc2822}\n")
# gzip -n: no name or time stamp in the header (lintian, reproducibility).
execute_process(COMMAND gzip -9nf "${_debian_changelog}" COMMAND_ERROR_IS_FATAL ANY)

# Each package carries /usr/share/doc/<package>/{copyright,changelog.gz}.
# EXCLUDE_FROM_ALL: only CPack, which installs component by component, puts
# them in; a plain `cmake --install` does not.
set(_packages runtime ${RINGDROP_RUNTIME_PACKAGE} development libringdrop-dev tools ringdrop-tools
                bridge ringdrop-bridge python python3-ringdrop)
while(_packages)
  list(POP_FRONT _packages _component _package)
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright ${_debian_changelog}.gz
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_package}
          COMPONENT ${_component} EXCLUDE_FROM_ALL)
  string(TOUPPER ${_component} _upper)
  set(CPACK_DEBIAN_${_upper}_PACKAGE_NAME ${_package})
endwhile()

# ------------------------------------------------------------------ CPack
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ringdrop)
set(CPACK_PACKAGE_VENDOR "ringdrop")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Empty, so that CPack takes each package's synopsis from the first line of
# its own description below (it would put the project's DESCRIPTION first).
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGE_CONTACT "${RINGDROP_MAINTAINER}")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/debian/strip_static.cmake)  # libringdrop.a too
set(CPACK_COMPONENTS_ALL runtime development tools bridge python)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)             # <name>_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# bin/ringdrop and bin/ringdrop-bridge link nothing of libringdrop0 (they
# link ringdrop statically), but say where this build's own shared library
# is, should dpkg-shlibdeps meet it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/lib)

# libringdrop0: a shlibs file, so packages built against it depend on at
# least this version (the ABI only grows within a major version).
# (The shlibs setting is CPack's for every package; only libringdrop0 has a
# shared library.) ldconfig runs through the trigger Debian's libc-bin
# provides, not from maintainer scripts (lintian: lacks-ldconfig-trigger):
# cmake/debian/runtime holds the trigger and the postinst and postrm
# that replace the ones CPack would write to call ldconfig.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/debian/runtime/triggers
    ${PROJECT_SOURCE_DIR}/cmake/debian/runtime/postinst
    ${PROJECT_SOURCE_DIR}/cmake/debian/runtime/postrm)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
"inter-process messaging on one host (C library)
ringdrop carries messages between processes on one Linux host through
lock-free rings in shared memory (one to one, competing consumers,
publish/subscribe) and a watched directory for programs that can only
write files, with deadlines on every wait and dead peers detected.

This package holds libringdrop.so.0, the stable C ABI (ringdrop.h).")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# Cap'n Proto exactly as built against: libringdrop.a holds code generated
# by this capnp, and the generated headers it installs refuse any other
# version (#if CAPNP_VERSION != ...). pkg-config: Debian's CapnProto CMake
# package, which find_package(ringdrop) finds, runs it.
string(REGEX MATCH "^[0-9]+\\.[0-9]+\\.[0-9]+" _capnp "${CapnProto_VERSION}")
if(NOT _capnp)
  message(FATAL_ERROR "cmake/packaging.cmake: no Cap'n Proto version (CapnProto_VERSION '${CapnProto_VERSION}')")
endif()
string(REGEX REPLACE "^([0-9]+\\.[0-9]+\\.)([0-9]+)$" "\\2" _capnp_patch "${_capnp}")
math(EXPR _capnp_next "${_capnp_patch} + 1")
string(REGEX REPLACE "[0-9]+$" "${_capnp_next}" _capnp_next "${_capnp}")
set(_capnp_range "(>= ${_capnp}), %s (<< ${_capnp_next}~)")
string(REPLACE "%s" "libcapnp-dev" _capnp_dev "libcapnp-dev ${_capnp_range}")
string(REPLACE "%s" "capnproto" _capnp_tool "capnproto ${_capnp_range}")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "${RINGDROP_RUNTIME_PACKAGE} (= ${PROJECT_VERSION}), ${_capnp_dev}, ${_capnp_tool}, libboost-dev, pkgconf | pkg-config")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION
"inter-process messaging on one host (development files)
The C header ringdrop.h, the C++20 API's headers and static library
(libringdrop.a), ringdrop's Cap'n Proto schemas and the CMake helper that
compiles an application's own (ringdrop_capnp_library), the CMake package
(find_package(ringdrop)) and pkg-config file, and the COBOL copybooks and
Fortran module for legacy programs.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION
"inter-process messaging on one host (operator's command)
ringdrop, the operator's command: lists rings, drop channels and services,
shows their statistics, tails and sends messages, calls services, looks at
and requeues dead letters, removes what dead processes left, and checks the
host (doctor).")

# The broker usually runs on another host: suggested, not depended on.
# Its Depends are dpkg-shlibdeps' alone (librabbitmq4, Cap'n Proto's, libc
# and libstdc++).
set(CPACK_DEBIAN_BRIDGE_PACKAGE_SECTION net)
set(CPACK_DEBIAN_BRIDGE_PACKAGE_SUGGESTS rabbitmq-server)
set(CPACK_DEBIAN_BRIDGE_DESCRIPTION
"bridge between ringdrop and RabbitMQ (AMQP 0-9-1)
ringdrop-bridge carries messages between ringdrop's rings and drop channels
on this host and a RabbitMQ broker, at-least-once both ways: what it
publishes is released from the ring or channel only once the broker has
confirmed it (publisher confirms), what it consumes is acknowledged only
once it is in the ring or channel (manual acknowledgements), and a dedupe
table kept on disk drops what the broker delivers again.

Its manual is /usr/share/doc/ringdrop/bridge.md.")

set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3:any, ${RINGDROP_RUNTIME_PACKAGE} (= ${PROJECT_VERSION})")
# Byte-compiled on install and cleaned on removal, as dh_python3 does
# (py3compile/py3clean), so no __pycache__ is left behind.
set(CPACK_DEBIAN_PYTHON_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/debian/python/postinst
    ${PROJECT_SOURCE_DIR}/cmake/debian/python/prerm)
set(CPACK_DEBIAN_PYTHON_DESCRIPTION
"inter-process messaging on one host (Python 3 binding)
The ringdrop Python package: rings, the file-drop channel, typed messages
and request/response from Python, over libringdrop.so.0 with ctypes (no
compiled extension).")

include(CPack)

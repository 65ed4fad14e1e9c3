# cmake/debian/strip_static.cmake — run by CPack after it has installed each
# package's files into its staging folder, before it makes the packages
# (CPACK_PRE_BUILD_SCRIPTS): strips the debug information from libringdrop.a,
# as Debian does for static libraries (CPACK_STRIP_FILES only strips
# executables and shared libraries). The C ABI's objects are compiled with
# -g for the ABI check (bindings/c/CMakeLists.txt), which is most of the
# archive's size.
file(GLOB_RECURSE _archives "${CPACK_TEMPORARY_DIRECTORY}/*.a")
foreach(_archive IN LISTS _archives)
  execute_process(COMMAND strip --strip-debug --enable-deterministic-archives "${_archive}"
                  COMMAND_ERROR_IS_FATAL ANY)
endforeach()

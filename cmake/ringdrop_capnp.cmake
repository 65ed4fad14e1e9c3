# ringdrop_capnp_library(<target> <schema>...)
#
# Compiles Cap'n Proto schemas (paths relative to the calling directory, all
# in one directory) into a static library <target>; code that links it
# includes "<name>.capnp.h". How ringdrop's tests, benchmarks and examples
# add their schemas, and how an application adds its own.
function(ringdrop_capnp_library target)
  list(GET ARGN 0 first)
  get_filename_component(CAPNPC_SRC_PREFIX ${first} DIRECTORY)
  get_filename_component(CAPNPC_SRC_PREFIX ${CAPNPC_SRC_PREFIX} ABSOLUTE)
  set(CAPNPC_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/${target})
  file(MAKE_DIRECTORY ${CAPNPC_OUTPUT_DIR})
  capnp_generate_cpp(srcs hdrs ${ARGN})
  # Generated code is Cap'n Proto's, not ours: no warnings-as-errors for it.
  set_source_files_properties(${srcs} PROPERTIES COMPILE_OPTIONS "-w")
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC ${CAPNPC_OUTPUT_DIR})
  target_link_libraries(${target} PUBLIC CapnProto::capnp)
endfunction()

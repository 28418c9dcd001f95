# Shared build settings and two helpers that keep each folder's CMakeLists.txt short.

set(GRIDPACT_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
    -Wno-sign-conversion)
if(GRIDPACT_WERROR)
  list(APPEND GRIDPACT_WARNINGS -Werror)
endif()
if(GRIDPACT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# The allocator of the node and the benchmarks. State keys and values are many small
# strings; jemalloc reuses their memory without glibc malloc's page faults (about 15 % of
# a 100k-agreement billing block). Not with the sanitizers, which bring their own.
set(GRIDPACT_MALLOC "")
if(NOT GRIDPACT_SANITIZE)
  find_library(GRIDPACT_JEMALLOC jemalloc REQUIRED)
  set(GRIDPACT_MALLOC ${GRIDPACT_JEMALLOC})
endif()

# gridpact_library(NAME SOURCES a.cpp b.cpp DEPS x y)
# Declares library gridpact_NAME whose headers are included as "NAME/file.hpp" relative to src/.
function(gridpact_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(gridpact_${name} STATIC ${ARG_SOURCES})
  target_include_directories(gridpact_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(gridpact_${name} PRIVATE ${GRIDPACT_WARNINGS})
  target_link_libraries(gridpact_${name} PUBLIC ${ARG_DEPS})
endfunction()

# gridpact_test(NAME SOURCES a_test.cpp DEPS gridpact_x [LABELS slow])
function(gridpact_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${GRIDPACT_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
include(GoogleTest)

# gridpact_bench(NAME SOURCES a.cpp DEPS x): an executable bench_NAME in build/bench/ that
# prints one line per figure, "METRIC <name> <value> <unit>". bench/run runs them all.
function(gridpact_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT GRIDPACT_BENCH)
    return()
  endif()
  add_executable(bench_${name} ${ARG_SOURCES})
  target_compile_options(bench_${name} PRIVATE ${GRIDPACT_WARNINGS})
  target_link_libraries(bench_${name} PRIVATE ${ARG_DEPS} ${GRIDPACT_MALLOC})
  set_target_properties(bench_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endfunction()

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
  target_link_libraries(bench_${name} PRIVATE ${ARG_DEPS})
  set_target_properties(bench_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endfunction()

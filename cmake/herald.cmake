# Helpers that keep every src/ folder one library target with declared dependencies.

# herald_library(<name> SOURCES ... [DEPS ...] [PUBLIC_DEPS ...])
# Creates target herald_<name>; includes are rooted at src/.
function(herald_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(herald_${name} STATIC ${ARG_SOURCES})
  target_include_directories(herald_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(herald_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
endfunction()

# herald_test(<name> SOURCES ... DEPS ...): a GoogleTest binary registered with ctest,
# one ctest entry per test case, names prefixed with HERALD_TEST_PREFIX.
function(herald_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    HERALD_SHARED_DIR="${HERALD_SHARED_DIR}"
    HERALD_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  include(GoogleTest)
  gtest_discover_tests(${name} TEST_PREFIX "${HERALD_TEST_PREFIX}" DISCOVERY_TIMEOUT 60)
endfunction()

# libtern.so and what `cmake --install` puts under the prefix, so that C and
# C++ programs consume tern like any library (docs/client.md):
#   include/tern/*.h                      the public API (tern/smtp.h for C)
#   lib/libtern.so.X.Y                    with its SONAME link and libtern.so
#   lib/pkgconfig/tern.pc                 pkg-config --cflags --libs tern
#   lib/cmake/tern/ternConfig*.cmake      find_package(tern) -> tern::tern
#   bin/tern                              the server and its commands
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The shared library is made from the same objects as tern_lib. Its own
# dependencies (OpenSSL, libsodium, fmt, unbound...) are private: a program
# using the API links only -ltern.
add_library(tern_shared SHARED)
add_library(tern::tern ALIAS tern_shared)
target_link_libraries(tern_shared PRIVATE tern_objects)
target_include_directories(tern_shared PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(tern_shared INTERFACE cxx_std_20)
# While the major version is 0 every minor release may change the ABI.
set_target_properties(tern_shared PROPERTIES
  OUTPUT_NAME tern EXPORT_NAME tern
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

install(TARGETS tern RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS tern_shared EXPORT ternTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tern DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

# tern.pc finds its prefix from its own location (${pcfiledir}), so the
# tree stays usable wherever `cmake --install --prefix` puts it.
set(TERN_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH TERN_PC_TO_PREFIX /prefix/${TERN_PC_DIR} /prefix)
string(REGEX REPLACE "/$" "" TERN_PC_TO_PREFIX "${TERN_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/tern.pc.in ${PROJECT_BINARY_DIR}/tern.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tern.pc DESTINATION ${TERN_PC_DIR})

set(TERN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tern)
install(EXPORT ternTargets NAMESPACE tern:: DESTINATION ${TERN_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ternConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ternConfig.cmake INSTALL_DESTINATION ${TERN_CMAKE_DIR})
# 0.x: only the same minor version is compatible (see SOVERSION above).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ternConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ternConfig.cmake ${PROJECT_BINARY_DIR}/ternConfigVersion.cmake
  DESTINATION ${TERN_CMAKE_DIR})

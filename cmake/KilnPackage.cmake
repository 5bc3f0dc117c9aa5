# Installs the plugin SDK as a CMake package (included from core/CMakeLists.txt):
# <prefix>/lib/cmake/Kiln/{KilnConfig,KilnConfigVersion,KilnTargets}.cmake, so that a plugin
# built out of tree does find_package(Kiln) and links Kiln::kiln_core.
include(CMakePackageConfigHelpers)

# model.h exposes nlohmann::json, so consumers of the SDK need it too.
target_link_libraries(kiln_core PUBLIC nlohmann_json::nlohmann_json)

set(KILN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Kiln)
set(KILN_PLUGIN_DIR ${CMAKE_INSTALL_LIBDIR}/kiln/plugins)
install(EXPORT KilnTargets NAMESPACE Kiln:: DESTINATION ${KILN_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/KilnConfig.cmake.in
  ${CMAKE_BINARY_DIR}/cmake/KilnConfig.cmake
  INSTALL_DESTINATION ${KILN_CMAKE_DIR}
  PATH_VARS KILN_PLUGIN_DIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/KilnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/KilnConfig.cmake ${CMAKE_BINARY_DIR}/cmake/KilnConfigVersion.cmake
  DESTINATION ${KILN_CMAKE_DIR})
# The plugin directory exists in every installation, even before any plugin is installed.
install(DIRECTORY DESTINATION ${KILN_PLUGIN_DIR})

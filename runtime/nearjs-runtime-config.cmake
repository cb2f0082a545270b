# find_package(nearjs-runtime) support: imports nearjs::nearjs-runtime and the pkg-config targets its
# static library links against (the same names the nearjs build uses).
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
include("${CMAKE_CURRENT_LIST_DIR}/nearjs-runtime-targets.cmake")

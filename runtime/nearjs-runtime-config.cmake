# find_package(nearjs-runtime) support: imports nearjs::nearjs-runtime and the pkg-config targets its
# static library links against (the same names the nearjs build uses).
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl)
include("${CMAKE_CURRENT_LIST_DIR}/nearjs-runtime-targets.cmake")

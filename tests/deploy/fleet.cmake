# The edge fleet's tests (issue 12), against a moto server of their own (skipped, exit 77, where no
# Python has moto and the aws CLI).
# Not in the sanitizer tree: these exercise shell scripts and the packaged (stripped, patchelf'd) edge;
# the edge itself runs under ASan in tests/edge.
if(NEARJS_SANITIZE)
    return()
endif()
# fleet_userdata: the instances' user data run for real under a root prefix, then the edge it installed
# serves a request to nearjs-local start-api --domain.
add_test(NAME fleet_userdata COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fleet_userdata.sh ${CMAKE_BINARY_DIR})
set_tests_properties(fleet_userdata PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
                     REQUIRED_FILES "${CMAKE_BINARY_DIR}/bin/nearjs-edge;${CMAKE_BINARY_DIR}/bin/nearjs-local")

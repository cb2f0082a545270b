# The edge fleet's tests (issue 12), against a moto server of their own (skipped, exit 77, where no
# Python has moto and the aws CLI).
# Not in the sanitizer tree: these exercise shell scripts and the packaged (stripped, patchelf'd) edge;
# the edge itself runs under ASan in tests/edge.
if(NEARJS_SANITIZE)
    return()
endif()
# fleet_userdata: the instances' user data run for real under a root prefix, then the edge it installed
# serves a request to nearjs-local start-api --domain.
nearjs_test(NAME fleet_userdata COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fleet_userdata.sh ${CMAKE_BINARY_DIR})
set_tests_properties(fleet_userdata PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
                     REQUIRED_FILES "${CMAKE_BINARY_DIR}/bin/nearjs-edge;${CMAKE_BINARY_DIR}/bin/nearjs-local")
# fleet_deploy: make deploy MODE=edge in two regions, twice (the exact fleet, nothing created the second
# time), make plan, a new build replaced one instance at a time (a probe reads moto after every change),
# destroy. fleet_switch: edge -> direct -> edge leaves nothing of the other mode; destroy.
foreach(t fleet_deploy fleet_switch)
    nearjs_test(NAME ${t} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/${t}.sh ${CMAKE_BINARY_DIR})
    set_tests_properties(${t} PROPERTIES TIMEOUT 1500 SKIP_RETURN_CODE 77
                         REQUIRED_FILES "${CMAKE_BINARY_DIR}/bin/nearjs-edge;${CMAKE_BINARY_DIR}/bin/bootstrap")
endforeach()

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
set_tests_properties(fleet_userdata PROPERTIES TIMEOUT 400 SKIP_RETURN_CODE 77
                     REQUIRED_FILES "${CMAKE_BINARY_DIR}/bin/nearjs-edge;${CMAKE_BINARY_DIR}/bin/nearjs-local")
# edge_unit: the packaged systemd unit judged by systemd-analyze (security --offline=true at most 2.0, verify).
nearjs_test(NAME edge_unit COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/edge_unit.sh ${CMAKE_BINARY_DIR})
set_tests_properties(edge_unit PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 REQUIRED_FILES "${CMAKE_BINARY_DIR}/bin/nearjs-edge")
# aws_pins: scripts/find-aws-python.sh pins what it installs, at the versions the tests run with.
nearjs_test(NAME aws_pins COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/aws_pins.sh)
set_tests_properties(aws_pins PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77)
# security_inject: hostile values (command substitution, quotes, ;, newline, sed e, ..) into every setting and
# file name that reaches a shell, the user data, sed/awk, JSON or YAML: refused or inert, never run.
nearjs_test(NAME security_inject COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/security_inject.sh ${CMAKE_BINARY_DIR})
set_tests_properties(security_inject PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77 REQUIRED_FILES "${CMAKE_BINARY_DIR}/bin/nearjs-edge")
# fleet_deploy: make deploy MODE=edge in two regions, twice (the exact fleet, nothing created the second
# time), make plan, a new build replaced one instance at a time (a probe reads moto after every change),
# destroy. fleet_switch: edge -> direct -> edge leaves nothing of the other mode; destroy.
foreach(t fleet_deploy fleet_switch)
    nearjs_test(NAME ${t} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/${t}.sh ${CMAKE_BINARY_DIR})
    set_tests_properties(${t} PROPERTIES TIMEOUT 1500 SKIP_RETURN_CODE 77
                         REQUIRED_FILES "${CMAKE_BINARY_DIR}/bin/nearjs-edge;${CMAKE_BINARY_DIR}/bin/bootstrap")
endforeach()

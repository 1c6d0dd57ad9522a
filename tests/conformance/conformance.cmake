# SPDX-License-Identifier: MIT
# Conformance tests (ctest label "conformance"): Autobahn-style cases against
# examples/echo_server (server_suite.py) and examples/client --autobahn
# (client_suite.py). Python 3 standard library only; each test starts its own
# program on a free port and stops it, and fails on any case not OK.
#
# tests/ is added before examples/, so with CMake 3.19 or later the tests are
# registered at the end of the top directory, once the example targets exist;
# older CMake registers them only if the examples came first.

set(WSM_CONFORMANCE_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python 3 that runs the conformance drivers")

function(wsm_add_conformance_tests dir)
  if(NOT EXISTS "${WSM_CONFORMANCE_PYTHON}")
    message(STATUS "wsm: no ${WSM_CONFORMANCE_PYTHON}; conformance tests not added")
    return()
  endif()
  # The examples' targets are named wsm_example_<name>, their files <name>.
  # The _split runs repeat the cases with every write cut at random points
  # (fixed seed: a failure reproduces with the same --split).
  set(py ${WSM_CONFORMANCE_PYTHON})
  foreach(name echo_server wsm_example_echo_server)
    if(TARGET ${name} AND NOT TEST conformance_server)
      set(server --echo-server $<TARGET_FILE:${name}>)
      add_test(NAME conformance_server COMMAND ${py} ${dir}/server_suite.py --quiet ${server})
      add_test(NAME conformance_server_split
               COMMAND ${py} ${dir}/server_suite.py --quiet --split 6455
                       --server-arg=--batch-us --server-arg=50 ${server})
      set_tests_properties(conformance_server conformance_server_split
                           PROPERTIES LABELS conformance TIMEOUT 240)
      # On Linux the server runs on io_uring when the kernel offers it (the
      # split run also with --batch-us); the epoll loop gets the same cases
      # (split) of its own.
      if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
        add_test(NAME conformance_server_epoll
                 COMMAND ${py} ${dir}/server_suite.py --quiet --split 6455
                         --server-arg=--loop --server-arg=epoll ${server})
        set_tests_properties(conformance_server_epoll
                             PROPERTIES LABELS conformance TIMEOUT 240)
      endif()
    endif()
  endforeach()
  foreach(name client wsm_example_client)
    if(TARGET ${name} AND NOT TEST conformance_client)
      set(client --client $<TARGET_FILE:${name}>)
      add_test(NAME conformance_client COMMAND ${py} ${dir}/client_suite.py --quiet ${client})
      add_test(NAME conformance_client_split
               COMMAND ${py} ${dir}/client_suite.py --quiet --split 6455 ${client})
      set_tests_properties(conformance_client conformance_client_split
                           PROPERTIES LABELS conformance TIMEOUT 240)
    endif()
  endforeach()
endfunction()

if(CMAKE_VERSION VERSION_LESS 3.19)
  wsm_add_conformance_tests(${CMAKE_CURRENT_LIST_DIR})
else()
  # EVAL, so that the directory is expanded now rather than when called.
  cmake_language(EVAL CODE "cmake_language(DEFER DIRECTORY [[${PROJECT_SOURCE_DIR}]]
    CALL wsm_add_conformance_tests [[${CMAKE_CURRENT_LIST_DIR}]])")
endif()

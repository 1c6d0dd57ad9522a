# SPDX-License-Identifier: MIT
# Interop tests (ctest label "interop"): the examples against real peers
# (headless Chromium, Node ws, Python websockets) installed by setup.sh.
# A missing peer skips its test (exit 77), or fails it when CI or
# WSM_INTEROP_REQUIRE is set in the environment.
#
# tests/ is added before examples/, so the tests are added at the end of the
# top directory, when the example targets exist (CMake 3.19 or later).

set(WSM_INTEROP_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python that has python3-websockets, for the interop tests")
set(WSM_INTEROP_CHROMIUM /usr/bin/chromium CACHE FILEPATH
    "Chromium for the interop tests")
find_program(WSM_INTEROP_NODE node)
if(NOT WSM_INTEROP_NODE)
  set(WSM_INTEROP_NODE node) # the harness reports it missing
endif()

# The first of names that is a target, in out (empty if none).
function(wsm_interop_target out)
  foreach(name ${ARGN})
    if(TARGET ${name})
      set(${out} ${name} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

function(wsm_add_interop_tests dir)
  if(NOT EXISTS "${WSM_INTEROP_PYTHON}")
    message(STATUS "wsm: no ${WSM_INTEROP_PYTHON}; interop tests not added")
    return()
  endif()
  set(py ${WSM_INTEROP_PYTHON})
  set(added "")
  wsm_interop_target(echo_server wsm_example_echo_server echo_server)
  wsm_interop_target(client wsm_example_client client)
  if(echo_server)
    set(server $<TARGET_FILE:${echo_server}>)
    add_test(NAME interop_chromium
             COMMAND ${py} ${dir}/chromium_test.py ${server} ${WSM_INTEROP_CHROMIUM})
    add_test(NAME interop_python_client COMMAND ${py} ${dir}/py_client.py ${server})
    add_test(NAME interop_node_client
             COMMAND ${py} ${dir}/harness.py --timeout 100 --echo-server ${server}
                     --server-arg=--protocol --server-arg=chat
                     --server-arg=--protocol --server-arg=superchat
                     -- ${WSM_INTEROP_NODE} ${dir}/node/ws_client.mjs {url})
    set_tests_properties(interop_chromium interop_python_client PROPERTIES TIMEOUT 170)
    set_tests_properties(interop_node_client PROPERTIES TIMEOUT 130)
    list(APPEND added interop_chromium interop_python_client interop_node_client)
  endif()
  if(client)
    set(client $<TARGET_FILE:${client}>)
    add_test(NAME interop_python_server COMMAND ${py} ${dir}/py_server.py ${client})
    add_test(NAME interop_node_server
             COMMAND ${py} ${dir}/harness.py --timeout 60
                     -- ${WSM_INTEROP_NODE} ${dir}/node/ws_server.mjs ${client})
    set_tests_properties(interop_python_server interop_node_server PROPERTIES TIMEOUT 120)
    list(APPEND added interop_python_server interop_node_server)
  endif()
  if(added)
    set_tests_properties(${added} PROPERTIES LABELS interop SKIP_RETURN_CODE 77
                         ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
  else()
    message(STATUS "wsm: no echo_server or client target; interop tests not added")
  endif()
endfunction()

if(CMAKE_VERSION VERSION_LESS 3.19)
  wsm_add_interop_tests(${CMAKE_CURRENT_LIST_DIR})
else()
  cmake_language(EVAL CODE "cmake_language(DEFER DIRECTORY [[${PROJECT_SOURCE_DIR}]]
    CALL wsm_add_interop_tests [[${CMAKE_CURRENT_LIST_DIR}]])")
endif()

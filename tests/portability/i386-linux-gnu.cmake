# SPDX-License-Identifier: MIT
# Toolchain file: 32-bit x86 Linux with the host's gcc (or clang) and -m32,
# against Debian's multiarch i386 libraries (libc6-dev-i386, libcmocka-dev:i386).
# Test programs run through qemu-i386-static (when it is installed) unless
# WSM_I386_NATIVE says that this kernel runs 32-bit x86 programs itself.
#
#   cmake -S . -B build-i386 -DCMAKE_TOOLCHAIN_FILE=tests/portability/i386-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER gcc)
endif()
set(CMAKE_LIBRARY_ARCHITECTURE i386-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# Debian's gcc-multilib supplies /usr/include/asm, but it conflicts with the
# cross compilers (gcc-s390x-linux-gnu). Without it, -m32 finds no asm/
# headers; the x86_64 kernel headers serve both word sizes, so a directory
# holding only a link to them stands in.
set(wsm_m32_flags "-m32")
if(NOT EXISTS /usr/include/asm AND EXISTS /usr/include/x86_64-linux-gnu/asm)
  set(wsm_asm_shim ${CMAKE_BINARY_DIR}/wsm-i386-asm)
  file(MAKE_DIRECTORY ${wsm_asm_shim})
  if(NOT EXISTS ${wsm_asm_shim}/asm)
    file(CREATE_LINK /usr/include/x86_64-linux-gnu/asm ${wsm_asm_shim}/asm SYMBOLIC)
  endif()
  string(APPEND wsm_m32_flags " -idirafter ${wsm_asm_shim}")
endif()
set(CMAKE_C_FLAGS_INIT "${wsm_m32_flags}")
set(CMAKE_CXX_FLAGS_INIT "${wsm_m32_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-m32")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-m32")

option(WSM_I386_NATIVE "Run i386 test programs directly, not under qemu-i386-static" OFF)
if(NOT WSM_I386_NATIVE)
  find_program(WSM_QEMU_I386 qemu-i386-static)
endif()
if(WSM_QEMU_I386 AND NOT WSM_I386_NATIVE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WSM_QEMU_I386})
endif()

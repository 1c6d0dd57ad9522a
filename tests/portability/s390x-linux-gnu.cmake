# SPDX-License-Identifier: MIT
# Toolchain file: s390x Linux (64-bit, big-endian) with Debian's cross gcc
# (gcc-s390x-linux-gnu) and the multiarch s390x libraries (libc6:s390x,
# libcmocka-dev:s390x). Test programs run under qemu-s390x-static, which
# finds the s390x loader and libraries under / (Debian's multiarch layout).
#
#   cmake -S . -B build-s390x -DCMAKE_TOOLCHAIN_FILE=tests/portability/s390x-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER s390x-linux-gnu-gcc)
endif()
if(NOT CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER s390x-linux-gnu-g++)
endif()
set(CMAKE_LIBRARY_ARCHITECTURE s390x-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

find_program(WSM_QEMU_S390X qemu-s390x-static)
if(WSM_QEMU_S390X)
  # The multiarch libc6:s390x must be the one the program loads: the cross
  # sysroot's older libc (libc6-s390x-cross) does not match libcmocka0:s390x.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WSM_QEMU_S390X} -L /)
endif()

# SPDX-License-Identifier: MIT
# Toolchain file: AArch64 Linux (64-bit ARM, little-endian, NEON) with Debian's cross gcc
# (gcc-aarch64-linux-gnu) and the multiarch arm64 libraries (libc6:arm64,
# libcmocka-dev:arm64). Test programs run under qemu-aarch64-static, which
# finds the arm64 loader and libraries under / (Debian's multiarch layout).
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=tests/portability/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
endif()
if(NOT CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
endif()
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

find_program(WSM_QEMU_AARCH64 qemu-aarch64-static)
if(WSM_QEMU_AARCH64)
  # The multiarch libc6:arm64 must be the one the program loads: the cross
  # sysroot's older libc (libc6-arm64-cross) may not match libcmocka0:arm64.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WSM_QEMU_AARCH64} -L /)
endif()

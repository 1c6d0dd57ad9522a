#!/bin/sh
# SPDX-License-Identifier: MIT
# One way of using wsm from outside, built and run (ctest label "packaging"):
#
#   route.sh ROUTE SOURCE_DIR BUILD_DIR WORK_DIR CMAKE CC [CONFIG [FLAGS]]
#
#   install        cmake --install BUILD_DIR into WORK_DIR/../prefix, and check
#                  what was installed (files, SONAME, exported symbols, versions)
#   find_package   find_package(wsm) from that prefix: wsm::wsm, wsm::wsm_shared
#   pkgconfig      pkg-config --cflags --libs wsm from that prefix, static and
#                  shared
#   subdirectory   add_subdirectory(SOURCE_DIR) from a consumer project
#   fetchcontent   FetchContent with SOURCE_DIR, then with URL of an archive
#   single_header  BUILD_DIR/single_header/wsm.h: implementation in one file,
#                  then WSM_STATIC (a private copy in each file), and in a
#                  file with names of its own that lib/ uses too
#
# CONFIG is the build tree's configuration (multi-config generators), FLAGS
# are compile and link flags every consumer needs (the sanitizers, when the
# build tree was made with WSM_SANITIZE). Exit 0: passed, 77: skipped.
set -eu

route=$1 src=$2 build=$3 work=$4 cmake=$5 cc=$6
config=${7:-}
flags=${8:-}
prefix=$(dirname "$work")/prefix
here=$(cd "$(dirname "$0")" && pwd)
strict="-std=c99 -Wall -Wextra -Wpedantic -Werror"

say() { printf '%s: %s\n' "$route" "$*"; }
die() { printf '%s: FAILED: %s\n' "$route" "$*" >&2; exit 1; }

# The installed prefix's library directory (lib, lib64, lib/<multiarch>).
libdir_of_prefix() {
  pc=$(find "$prefix" -name wsm.pc -path '*/pkgconfig/*' | head -n 1)
  [ -n "$pc" ] || die "no wsm.pc under $prefix (did the install test run?)"
  dirname "$(dirname "$pc")"
}

header_version() {
  sed -n 's/^#define WSM_VERSION_STRING "\(.*\)"$/\1/p' "$1"
}

# A consumer project configured and built: cmake arguments follow.
consumer_project() {
  dir=$1
  shift
  rm -rf "$dir"
  "$cmake" -S "$here" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$flags" "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; die "configuring the consumer project failed"; }
  "$cmake" --build "$dir" --config Release --parallel 2 >"$dir.build.log" 2>&1 ||
    { cat "$dir.build.log"; die "building the consumer project failed"; }
}

# The built program wherever the generator put it (Release/ for multi-config).
program() {
  for p in "$1/$2" "$1/Release/$2"; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  die "no program $2 in $1"
}

needs_libwsm_so() { readelf -d "$1" | grep -q 'NEEDED.*\[libwsm\.so\.0\]'; }

run_static() { # program: linked statically, must not need libwsm.so
  if needs_libwsm_so "$1"; then die "$1 needs libwsm.so.0 but was linked static"; fi
  "$1" || die "$1 failed"
}

run_shared() { # program, library directory: must load libwsm.so.0 from there
  needs_libwsm_so "$1" || die "$1 does not need libwsm.so.0"
  loaded=$(LD_LIBRARY_PATH="$2" ldd "$1" | sed -n 's/.*libwsm\.so\.0 => \([^ ]*\).*/\1/p')
  case "$loaded" in
    "$2"/*) ;;
    *) die "$1 loads libwsm.so.0 from '$loaded', not from $2" ;;
  esac
  LD_LIBRARY_PATH="$2" "$1" || die "$1 failed"
}

mkdir -p "$work"

case "$route" in
install)
  rm -rf "$prefix"
  "$cmake" --install "$build" --prefix "$prefix" ${config:+--config "$config"} \
    >"$work/install.log" 2>&1 || { cat "$work/install.log"; die "cmake --install failed"; }
  libdir=$(libdir_of_prefix)
  for f in include/wsm.h; do
    [ -f "$prefix/$f" ] || die "$f not installed"
  done
  for f in libwsm.a libwsm.so libwsm.so.0 cmake/wsm/wsmConfig.cmake \
    cmake/wsm/wsmConfigVersion.cmake cmake/wsm/wsmTargets.cmake pkgconfig/wsm.pc; do
    [ -e "$libdir/$f" ] || die "$libdir/$f not installed"
  done
  if find "$prefix" -name wsm_internal.h | grep -q .; then
    die "the private header wsm_internal.h was installed"
  fi
  soname=$(readelf -d "$libdir/libwsm.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = libwsm.so.0 ] || die "SONAME is '$soname', not libwsm.so.0"
  # Exported: exactly the functions the public header declares with WSM_API.
  sed -n 's/^WSM_API[^(]*[ *]\(wsm_[a-z0-9_]*\)(.*/\1/p' "$prefix/include/wsm.h" |
    sort -u >"$work/api.txt"
  nm -D --defined-only "$libdir/libwsm.so" | awk 'NF >= 3 {print $3}' | sed 's/@.*//' |
    sort -u >"$work/exported.txt"
  [ -s "$work/api.txt" ] || die "no WSM_API function found in the installed header"
  if ! cmp -s "$work/api.txt" "$work/exported.txt"; then
    echo "declared WSM_API (<) vs exported by libwsm.so (>):"
    diff "$work/api.txt" "$work/exported.txt" || true
    die "libwsm.so exports something other than the public API"
  fi
  version=$(header_version "$prefix/include/wsm.h")
  pcversion=$(sed -n 's/^Version: *//p' "$libdir/pkgconfig/wsm.pc")
  [ "$version" = "$pcversion" ] || die "wsm.h says $version, wsm.pc says $pcversion"
  [ -e "$libdir/libwsm.so.$version" ] || die "no libwsm.so.$version"
  say "installed into $prefix: $(wc -l <"$work/api.txt") exported functions, SONAME $soname, version $version"
  ;;

find_package)
  libdir=$(libdir_of_prefix)
  consumer_project "$work/build" -DWSM_CONSUMER_ROUTE=find_package \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
  run_static "$(program "$work/build" consumer_static)"
  run_shared "$(program "$work/build" consumer_shared)" "$libdir"
  say "wsm::wsm and wsm::wsm_shared from find_package(wsm) work"
  ;;

pkgconfig)
  command -v pkg-config >/dev/null || die "pkg-config is not installed"
  libdir=$(libdir_of_prefix)
  PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export PKG_CONFIG_PATH
  version=$(header_version "$prefix/include/wsm.h")
  [ "$(pkg-config --modversion wsm)" = "$version" ] ||
    die "pkg-config --modversion wsm is not $version"
  incdir=$(pkg-config --variable=includedir wsm)
  [ -f "$incdir/wsm.h" ] && [ "$incdir/wsm.h" -ef "$prefix/include/wsm.h" ] ||
    die "wsm.pc names includedir '$incdir', not the prefix it was installed into ($prefix)"
  pclibdir=$(pkg-config --variable=libdir wsm)
  [ "$pclibdir" -ef "$libdir" ] ||
    die "wsm.pc names libdir '$pclibdir', not the prefix it was installed into ($libdir)"
  # shellcheck disable=SC2046 # word splitting of pkg-config output is wanted
  $cc $strict $flags $(pkg-config --cflags wsm) "$here/consumer.c" -o "$work/consumer_static" \
    -Wl,-Bstatic $(pkg-config --static --libs wsm) -Wl,-Bdynamic $flags ||
    die "compiling with pkg-config --static failed"
  run_static "$work/consumer_static"
  # shellcheck disable=SC2046
  $cc $strict $flags $(pkg-config --cflags wsm) "$here/consumer.c" -o "$work/consumer_shared" \
    $(pkg-config --libs wsm) $flags || die "compiling with pkg-config failed"
  run_shared "$work/consumer_shared" "$libdir"
  say "pkg-config --cflags --libs wsm works, static and shared"
  ;;

subdirectory)
  consumer_project "$work/build" -DWSM_CONSUMER_ROUTE=subdirectory \
    -DWSM_CONSUMER_SOURCE="$src"
  run_static "$(program "$work/build" consumer_static)"
  "$(program "$work/build" consumer_shared)" || die "consumer_shared failed"
  say "add_subdirectory(wsm) gives wsm::wsm and wsm::wsm_shared that work"
  ;;

fetchcontent)
  consumer_project "$work/dir" -DWSM_CONSUMER_ROUTE=fetchcontent \
    -DWSM_CONSUMER_SOURCE="$src"
  run_static "$(program "$work/dir" consumer_static)"
  "$(program "$work/dir" consumer_shared)" || die "consumer_shared (SOURCE_DIR) failed"
  # An archive of the files a vendored copy needs, fetched by URL (a local
  # file: no network).
  rm -rf "$work/stage"
  mkdir -p "$work/stage/wsm"
  for f in CMakeLists.txt LICENSE README.md cmake include lib; do
    [ -e "$src/$f" ] && cp -R "$src/$f" "$work/stage/wsm/"
  done
  (cd "$work/stage" && "$cmake" -E tar czf ../wsm-src.tar.gz wsm)
  hash=$("$cmake" -E sha256sum "$work/wsm-src.tar.gz" | cut -d' ' -f1)
  consumer_project "$work/url" -DWSM_CONSUMER_ROUTE=fetchcontent \
    -DWSM_CONSUMER_URL="file://$work/wsm-src.tar.gz" -DWSM_CONSUMER_URL_HASH="SHA256=$hash"
  run_static "$(program "$work/url" consumer_static)"
  "$(program "$work/url" consumer_shared)" || die "consumer_shared (URL) failed"
  say "FetchContent by SOURCE_DIR and by URL of a source archive works"
  ;;

single_header)
  dir="$build/single_header"
  if [ ! -f "$dir/wsm.h" ]; then
    say "skipped: $dir/wsm.h was not generated (no Python 3, or WSM_SINGLE_HEADER off)"
    exit 77
  fi
  lib_warnings="-Wconversion -Wsign-conversion -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
  # consumer.c includes it plainly, consumer_impl.c defines WSM_IMPLEMENTATION.
  $cc $strict $lib_warnings $flags -I"$dir" -DCONSUMER_SECOND_TU "$here/consumer.c" \
    "$here/consumer_impl.c" -o "$work/consumer_one_impl" || die "compiling failed"
  "$work/consumer_one_impl" || die "consumer_one_impl failed"
  # WSM_STATIC: each file compiles a private copy; none of it is visible.
  $cc $strict $lib_warnings $flags -I"$dir" -DCONSUMER_SECOND_TU -DWSM_STATIC \
    -DWSM_IMPLEMENTATION "$here/consumer.c" "$here/consumer_impl.c" \
    -o "$work/consumer_static_copies" || die "compiling with WSM_STATIC failed"
  visible=$(nm -g --defined-only "$work/consumer_static_copies" | awk '{print $NF}' |
    grep '^wsm_' || true)
  [ -z "$visible" ] || die "WSM_STATIC left global symbols: $visible"
  "$work/consumer_static_copies" || die "consumer_static_copies failed"
  # The implementation keeps its own names to itself: a file that compiles it
  # may have a fail(), a struct writer, an S_ACCEPT, a CLOSE_SENT of its own.
  for static in "" -DWSM_STATIC; do
    $cc $strict $lib_warnings $flags -I"$dir" $static "$here/consumer_names.c" \
      -o "$work/consumer_names" || die "compiling consumer_names.c $static failed"
    "$work/consumer_names" || die "consumer_names $static failed"
  done
  say "the single header works with one implementation file, with WSM_STATIC, and beside names of the user's that lib/ uses too"
  ;;

*)
  die "unknown route $route"
  ;;
esac

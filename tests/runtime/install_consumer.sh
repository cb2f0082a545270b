#!/usr/bin/env bash
# Installs the runtime into a scratch prefix and builds a handler against it twice, the two ways another
# C project would: pkg-config, and CMake's find_package(nearjs-runtime). Then runs it without
# AWS_LAMBDA_RUNTIME_API to see the installed library answer (exit 2, its one-line message).
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(find "$tmp/prefix" -name nearjs-runtime.pc -printf '%h\n' | head -1)
cat > "$tmp/hello.c" <<'C'
#include <nearjs/runtime.h>
static void handle(const lrt_invocation_t *inv, lrt_response_t *res, void *user)
{
    (void)user;
    lrt_response_set(res, inv->payload, inv->payload_len, NULL);
}
int main(void) { return lrt_main(handle, NULL); }
C
# pkg-config: the static library needs its private dependencies too.
PKG_CONFIG_PATH=$libdir cc -std=gnu11 -Wall -Werror -o "$tmp/hello-pc" "$tmp/hello.c" \
    $(PKG_CONFIG_PATH=$libdir pkg-config --cflags --libs --static nearjs-runtime)
mkdir -p "$tmp/proj"
cat > "$tmp/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(hello C)
find_package(nearjs-runtime REQUIRED)
add_executable(hello-cmake ../hello.c)
target_link_libraries(hello-cmake PRIVATE nearjs::nearjs-runtime)
CM
cmake -S "$tmp/proj" -B "$tmp/proj/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/proj/b" >/dev/null
for exe in "$tmp/hello-pc" "$tmp/proj/b/hello-cmake"; do
    set +e
    msg=$(env -u AWS_LAMBDA_RUNTIME_API "$exe" 2>&1)
    code=$?
    set -e
    if [ $code -ne 2 ] || [[ "$msg" != *"AWS_LAMBDA_RUNTIME_API is not set"* ]]; then
        echo "FAIL: $exe exited $code: $msg" >&2
        exit 1
    fi
done
echo "install_consumer: pkg-config and find_package builds both work"

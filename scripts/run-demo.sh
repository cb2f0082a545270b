#!/usr/bin/env bash
# `make run`: the main job on embedded defaults. Today that is one invocation of the example function
# (build/bin/echo-bootstrap) through the local Lambda emulator, exactly as Lambda would run it; the
# event is on stdin, the answer on stdout, START/END/REPORT lines on stderr.
set -euo pipefail
build=${1:-build}
event='{"path":"/demo/hello.js","greeting":"hello from nearjs"}'
echo "nearjs: invoking $build/bin/echo-bootstrap with $event" >&2
printf '%s' "$event" | "$build/bin/nearjs-local" invoke -e - "$build/bin/echo-bootstrap"
echo

#!/usr/bin/env bash
# deploy/package.sh and deploy/edge-package.sh, wrong uses first: a bootstrap needing glibc 2.36
# (arc4random) is refused naming the file and the symbol, and no zip is written; provided.al2 is refused
# saying its glibc and the version needed; bad PACKAGE_LIBS and RUNTIME values are usage errors (2). Then
# the artifacts: the zip's entries and modes (bootstrap ELF at the root, executable, DT_RPATH $ORIGIN/lib,
# lib/ holding exactly the closure minus the runtime's list), the summary lines, the same bytes on a
# second run; the edge tarball's layout, its unit pointed at the prefix, its RPATH.
# Usage: package_checks.sh BUILD_DIR SOURCE_DIR
set -u
BUILD=$(realpath "$1")
SRC=$(realpath "$2")
. "$SRC/tests/edge/lib.sh"
edge_test_begin package-checks

# A fake build whose bootstrap needs a glibc 2.36 symbol.
mkdir -p new/bin
printf '#include <stdio.h>\n#include <stdlib.h>\nint main(void) { printf("%%u\\n", arc4random()); return 0; }\n' >new.c
gcc -o new/bin/bootstrap new.c
out=$("$SRC/deploy/package.sh" --build new --out new.zip 2>&1)
check "glibc 2.36 symbol refused" "$?" 1
check "names file and symbol" "$(grep -c 'bootstrap needs arc4random@GLIBC_2.36, newer than provided.al2023' <<<"$out")" 1
check "no zip written" "$(ls new.zip 2>&1 >/dev/null | grep -c 'No such file')" 1

out=$("$SRC/deploy/package.sh" --build "$BUILD" --runtime provided.al2 --out al2.zip 2>&1)
check "provided.al2 refused" "$?" 1
check "says why" "$(grep -c 'provided.al2 refused: its glibc is 2.26 and .* needs GLIBC_2.3[4-9]' <<<"$out")" 1
check "bad PACKAGE_LIBS" "$(PACKAGE_LIBS=static "$SRC/deploy/package.sh" --build "$BUILD" --out x.zip >/dev/null 2>&1; echo $?)" 2
check "bad RUNTIME" "$("$SRC/deploy/package.sh" --build "$BUILD" --runtime provided.al3 --out x.zip >/dev/null 2>&1; echo $?)" 2
check "not a store folder" "$("$SRC/deploy/package.sh" --build "$BUILD" --content /nonexistent --out x.zip >/dev/null 2>&1; echo $?)" 2

# The zip.
out=$("$SRC/deploy/package.sh" --build "$BUILD" --out a.zip)
check "packaged" "$?" 0
check "summary: size and runtime" "$(grep -c '^package: .*a.zip: [0-9]* bytes .*provided.al2023, x86_64, PACKAGE_LIBS=system' <<<"$out")" 1
check "summary: relies on" "$(grep -c '^package: relies on provided.al2023 for: glibc <= 2.34.*libcurl.so.4' <<<"$out")" 1
check "entries" "$(unzip -Z1 a.zip | tr '\n' ' ')" "bootstrap lib/libjansson.so.4 "
check "bootstrap mode" "$(unzip -Z a.zip bootstrap | awk '{print $1}')" "-rwxr-xr-x"
unzip -q a.zip -d a
check "bootstrap is the ELF" "$(head -c4 a/bootstrap | od -An -c | tr -d ' ')" "177ELF"
check "DT_RPATH" "$(readelf -d a/bootstrap | grep -c 'RPATH.*\[\$ORIGIN/lib\]')" 1
check "no RUNPATH" "$(readelf -d a/bootstrap | grep -c RUNPATH)" 0
"$SRC/deploy/package.sh" --build "$BUILD" --out b.zip >/dev/null
check "reproducible" "$(cmp -s a.zip b.zip && echo same)" same

# --content: the store's files, never its hidden ones (.git/, .env, .secret.json), a -name like any other.
mkdir -p store/.git store/accounts
echo 'x' >store/loader.js
echo '{}' >store/accounts/a.json
echo 'secret' >store/.git/config
echo 'secret' >store/.env
echo 'secret' >store/accounts/.secret.json
echo 'd' >store/-dash.js
"$SRC/deploy/package.sh" --build "$BUILD" --content store --out c.zip >/dev/null
check "content: packaged" "$?" 0
check "content: hidden files and folders left out" "$(unzip -Z1 c.zip | grep '^content/' | LC_ALL=C sort | tr '\n' ' ')" \
    "content/-dash.js content/accounts/a.json content/loader.js "

# The edge tarball.
out=$("$SRC/deploy/edge-package.sh" --build "$BUILD" --out e.tar.gz)
check "edge packaged" "$?" 0
check "edge: last line is the path" "$(tail -1 <<<"$out")" e.tar.gz
top=$(tar -tzf e.tar.gz | head -1 | cut -d/ -f1)
check "edge: folder name" "$(grep -cE '^nearjs-edge-[0-9]+\.[0-9]+\.[0-9]+-(x86_64|arm64)$' <<<"$top")" 1
tar -xzf e.tar.gz
check "edge: files" "$(cd "$top" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" \
    "./RELIES_ON ./bin/nearjs-edge ./edge.yaml.template ./lib/libh2o-evloop.so.0.13 ./lib/libjansson.so.4 ./lib/libwslay.so.1 ./lib/libyaml-0.so.2 ./nearjs-edge-logrotate.service ./nearjs-edge-logrotate.timer ./nearjs-edge.logrotate ./nearjs-edge.service "
check "edge: RPATH" "$(readelf -d "$top/bin/nearjs-edge" | grep -c 'RPATH.*\[\$ORIGIN/../lib\]')" 1
check "edge: unit at the prefix" "$(grep -c '^ExecStart=/opt/nearjs-edge/bin/nearjs-edge -c' "$top/nearjs-edge.service")" 1
"$SRC/deploy/edge-package.sh" --build "$BUILD" --out f.tar.gz >/dev/null
check "edge: reproducible" "$(cmp -s e.tar.gz f.tar.gz && echo same)" same
check "edge: bad prefix" "$("$SRC/deploy/edge-package.sh" --build "$BUILD" --prefix rel --out g.tar.gz >/dev/null 2>&1; echo $?)" 2

[ "$FAILS" -eq 0 ] && echo "package_checks: all passed" || echo "package_checks: $FAILS failed"
exit $((FAILS > 0))

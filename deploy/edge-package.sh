#!/usr/bin/env bash
# deploy/edge-package.sh: the edge instances' artifact, build/nearjs-edge-<version>-<arch>.tar.gz
# (`make edge-package`). One top folder nearjs-edge-<version>-<arch>/ holding:
#   bin/nearjs-edge          stripped copy of BUILD/bin/nearjs-edge, DT_RPATH $ORIGIN/../lib (runs from
#                            wherever the folder is unpacked; a symlink to it works too)
#   lib/                     the shared libraries an Amazon Linux 2023 AMI lacks (ldd's closure minus
#                            glibc minus deploy/runtime/al2023-ami.txt)
#   nearjs-edge.service      edge/deploy's systemd unit, ExecStart pointed at PREFIX (default /opt/nearjs-edge)
#   edge.yaml.template       edge/deploy's per-region config template
#   nearjs-edge.logrotate, nearjs-edge-logrotate.{service,timer}   the access log's rotation
#   RELIES_ON                what the AMI must provide (glibc <= 2.34 and the sonames of al2023-ami.txt)
# Reproducible like the function's zip (same inputs, same bytes). Same checks: glibc <= 2.34 and OpenSSL
# symbol versions <= 3.0.0, each offender named.
# Usage: deploy/edge-package.sh [--build DIR] [--prefix /opt/nearjs-edge] [--out FILE]
# Exit: 0 packaged (the tarball's path is the last line of stdout), 1 a check failed, 2 usage.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
ELF_WHO=edge-package
. "$here/lib/elf.sh"

build=build prefix=${EDGE_PREFIX:-/opt/nearjs-edge} out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# Exit/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    *) echo "edge-package: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
bin="$build/bin/nearjs-edge"
[ -x "$bin" ] || { echo "edge-package: $bin not built: run make first" >&2; exit 2; }
case "$prefix" in /*) ;; *) echo "edge-package: --prefix '$prefix': want an absolute path" >&2; exit 2 ;; esac
for tool in patchelf readelf objdump strip tar gzip; do
    command -v $tool >/dev/null || { echo "edge-package: $tool missing: run scripts/setup.sh" >&2; exit 2; }
done
version=$(awk -F= '/^CMAKE_PROJECT_VERSION:/ {print $2}' "$build/CMakeCache.txt" 2>/dev/null)
[ -n "$version" ] || { echo "edge-package: no project version in $build/CMakeCache.txt: run make first" >&2; exit 2; }
arch=$(elf_arch "$bin") || exit 1
name="nearjs-edge-$version-$arch"
out=${out:-$build/$name.tar.gz}
ami_list="$here/runtime/al2023-ami.txt"

work=$(mktemp -d "$build/.edge-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/$name"
mkdir -p "$stage/bin" "$stage/lib"
elf_provided_list "$ami_list" >"$work/provided"
elf_closure "$work/provided" "$bin" >"$work/closure"
elf_copy_closure "$stage/lib" "$work/closure"
strip --strip-unneeded -o "$stage/bin/nearjs-edge" "$bin"
elf_set_rpath "$stage/bin/nearjs-edge" '$ORIGIN/../lib'

elfs=("$stage/bin/nearjs-edge" "$stage"/lib/*)
ok=1
elf_version_check GLIBC_ 2.34 "Amazon Linux 2023" "${elfs[@]}" || ok=0
elf_version_check OPENSSL_ 3.0.0 "Amazon Linux 2023" "${elfs[@]}" || ok=0
[ $ok -eq 1 ] || { echo "edge-package: $out not written" >&2; exit 1; }

# The prefix by bash replacement, never inside a sed program (a | or newline in it would be one).
unit=$(<"$root/edge/deploy/nearjs-edge.service")
printf '%s\n' "${unit//\/usr\/local\/bin\/nearjs-edge/"$prefix/bin/nearjs-edge"}" >"$stage/nearjs-edge.service"
cp "$root/edge/deploy/edge.yaml.template" "$stage/edge.yaml.template"
# The access log's rotation (logrotate config, and a timer running it every 10 minutes).
cp "$root/edge/deploy/nearjs-edge.logrotate" "$root/edge/deploy/nearjs-edge-logrotate.service" \
    "$root/edge/deploy/nearjs-edge-logrotate.timer" "$stage/"
{
    echo "# $name relies on the host (Amazon Linux 2023) for these; everything else is in lib/."
    echo "glibc 2.34"
    sed -e 's/#.*//' "$ami_list" | awk 'NF'
} >"$stage/RELIES_ON"
find "$stage/lib" -type f -exec chmod a-x {} +
chmod 0755 "$stage/bin/nearjs-edge"
stage_normalize "$stage"
mkdir -p "$(dirname "$out")"
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00:00 UTC' -cf - "$name" |
    gzip -9 -n >"$out.tmp"
mv "$out.tmp" "$out"

size=$(stat -c %s "$out")
echo "edge-package: $name, $size bytes ($(awk -v s="$size" 'BEGIN {printf "%.2f MB", s / 1048576}')), sha256 $(sha256sum "$out" | cut -c1-16)"
(cd "$work" && find "$name" -type f | LC_ALL=C sort | while read -r f; do printf '  %-50s %9d\n' "$f" "$(stat -c %s "$f")"; done)
echo "edge-package: relies on Amazon Linux 2023 for: glibc <= 2.34, $(elf_provided_list "$ami_list" | paste -sd, | sed 's/,/, /g')"
echo "edge-package: install: tar -xzf $(basename "$out") && mv $name $prefix; the unit runs $prefix/bin/nearjs-edge"
echo "$out"

#!/usr/bin/env bash
# deploy/package.sh: the function's Lambda package, build/function.zip (`make package`).
#   bootstrap        the ELF itself (stripped copy of BUILD/bin/bootstrap), DT_RPATH $ORIGIN/lib
#   lib/             the shared libraries the runtime lacks (ldd's closure minus glibc minus
#                    deploy/runtime/<runtime>.txt); with --libs bundle also libcurl.so.4 and its whole
#                    closure (then the package relies on glibc alone)
#   content/         only with --content DIR: a folder store, the function's default NEARJS_STORE
# and the same files in a folder beside the zip (build/function-package/: template.yaml's CodeUri).
# The zip is reproducible: the same inputs give the same bytes (fixed times, sorted entries, no extra
# fields), so a deploy that names it by its hash uploads and publishes nothing when nothing changed.
# Fails (exit 1), naming the file and symbol, when an ELF needs glibc newer than the runtime's (2.34) or
# an OpenSSL symbol version the runtime's openssl-libs lacks; refuses provided.al2 (glibc 2.26), saying why.
# Usage: deploy/package.sh [--build DIR] [--libs system|bundle] [--runtime provided.al2023] [--content DIR]
#                          [--out FILE]
# Exit: 0 packaged, 1 a check failed (nothing written), 2 usage.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ELF_WHO=package
. "$here/lib/elf.sh"

build=build libs=${PACKAGE_LIBS:-system} runtime=${RUNTIME:-provided.al2023} content=${PACKAGE_CONTENT:-} out=""
usage() {
    sed -n '2,/^# Exit/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --libs) libs=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --content) content=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "package: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
out=${out:-$build/function.zip}
bin="$build/bin/bootstrap"
[ -x "$bin" ] || { echo "package: $bin not built: run make first" >&2; exit 2; }
case "$libs" in system | bundle) ;; *)
    echo "package: PACKAGE_LIBS='$libs': want system (rely on the runtime's libcurl) or bundle (carry libcurl's closure)" >&2
    exit 2 ;;
esac
[ -z "$content" ] || [ -f "$content/loader.js" ] || {
    echo "package: content '$content': not a store folder (no loader.js): see function/README.md" >&2
    exit 2
}
for tool in patchelf zip readelf objdump strip; do
    command -v $tool >/dev/null || { echo "package: $tool missing: run scripts/setup.sh (or apt-get install $tool)" >&2; exit 2; }
done

arch=$(elf_arch "$bin") || exit 1

case "$runtime" in
provided.al2023) glibc_max=2.34 ;;
provided.al2)
    # Evidence rather than a flat no: the newest glibc symbol the bootstrap needs.
    need=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -V | tail -1)
    echo "package: RUNTIME=provided.al2 refused: its glibc is 2.26 and $bin needs $need (built against this" \
        "machine's glibc $(ldd --version | awk 'NR==1 {print $NF}')); use provided.al2023 (glibc 2.34), or build on Amazon Linux 2" >&2
    exit 1 ;;
*) echo "package: RUNTIME='$runtime': want provided.al2023 (provided.al2's glibc 2.26 is too old)" >&2; exit 2 ;;
esac

# A scratch folder of its own: two packagings (a test, a user's make package) may run at once.
work=$(mktemp -d "$build/.package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/stage"
mkdir -p "$stage/lib"
provided="$work/provided"
if [ "$libs" = system ]; then
    elf_provided_list "$here/runtime/$runtime.txt" >"$provided"
else
    : >"$provided"
fi

strip --strip-unneeded -o "$stage/bootstrap" "$bin"
elf_set_rpath "$stage/bootstrap" '$ORIGIN/lib'
roots=("$bin")
if [ "$libs" = bundle ]; then
    curl=$(ldconfig -p | awk -v m="$(uname -m)" '$1 == "libcurl.so.4" && $0 ~ (m == "x86_64" ? "x86-64" : "AArch64") && !found++ {print $NF}')
    [ -n "$curl" ] || { echo "package: PACKAGE_LIBS=bundle: libcurl.so.4 not found here (apt-get install libcurl4)" >&2; exit 1; }
    roots+=("$curl")
    echo "libcurl.so.4 $curl" >"$work/closure"
else
    : >"$work/closure"
fi
elf_closure "$provided" "${roots[@]}" >>"$work/closure"
elf_copy_closure "$stage/lib" "$work/closure"

elfs=("$stage/bootstrap")
for f in "$stage"/lib/*; do [ -e "$f" ] && elfs+=("$f"); done
ok=1
elf_version_check GLIBC_ "$glibc_max" "$runtime" "${elfs[@]}" || ok=0
# With the runtime's openssl-libs, no symbol may be newer than what AL2023 shipped at GA (3.0.8).
[ "$libs" = bundle ] || elf_version_check OPENSSL_ 3.0.0 "$runtime" "${elfs[@]}" || ok=0
if [ $ok -eq 0 ]; then
    echo "package: $out not written: build against an older glibc/OpenSSL (e.g. on Amazon Linux 2023)" >&2
    exit 1
fi

# The store's files, never its hidden ones (.git/, an editor's .swp, .aws/credentials): what publish
# leaves out, package leaves out too.
if [ -n "$content" ]; then
    mkdir -p "$stage/content"
    (cd "$content" && find . -mindepth 1 -name '.*' -prune -o -type f -print0 | xargs -0r cp --parents -t "$stage/content")
fi
find "$stage" -type f ! -path "$stage/bootstrap" -exec chmod a-x {} +
chmod 0755 "$stage/bootstrap"
stage_normalize "$stage"
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
out_tmp=$(realpath -m "$out.tmp")
(cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | TZ=UTC zip -q -X -D "$out_tmp" -@)
mv "$out.tmp" "$out"
# The same files unzipped beside it (build/function-package/: template.yaml's CodeUri, which `sam deploy`
# zips and `nearjs-local start-api -t template.yaml` runs). Not build/function/: CMake's folder of function/.
dir=${out%.zip}-package
rm -rf "$dir"
cp -a "$stage" "$dir"

# What the user sees: the zip, its files, and what it takes from the runtime.
size=$(stat -c %s "$out")
echo "package: $out: $size bytes ($(awk -v s="$size" 'BEGIN {printf "%.2f MB", s / 1048576}')), $runtime, $arch, PACKAGE_LIBS=$libs, sha256 $(sha256sum "$out" | cut -c1-16)"
(cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | while read -r f; do
    printf '  %-40s %9d\n' "$f" "$(stat -c %s "$f")"
done) | awk 'NR <= 40 {print} NR == 41 {print "  ..."}'
echo "package: the same files unzipped in $dir/ (template.yaml's CodeUri)"
if [ "$libs" = system ]; then
    echo "package: relies on $runtime for: glibc <= 2.34 (libc.so.6, libm.so.6, ld-linux)," \
        "$(awk '!/^#/ && NF {printf "%s%s (%s)", sep, $1, $2; sep=", "}' "$here/runtime/$runtime.txt");" \
        "libcurl.so.4 only for an s3:// store (dlopen()ed)"
else
    echo "package: relies on $runtime for glibc <= 2.34 only (libc.so.6, libm.so.6, ld-linux); libcurl and its closure are in lib/"
fi

# deploy/lib/elf.sh: what the packagers (package.sh, edge-package.sh) know about ELF files, in one place.
# Sourced, not run. Needs binutils (readelf, objdump), ldd and patchelf.
#   elf_is_glibc SONAME              0 when SONAME is part of glibc (never packaged: the runtime's own)
#   elf_provided_list FILE           the sonames a runtime list (deploy/runtime/*.txt) says it provides
#   elf_closure PROVIDED FILE...     "soname path" of every shared library FILE... need, transitively,
#                                    that is neither glibc nor in PROVIDED (a file from elf_provided_list)
#   elf_version_check PFX MAX WHO FILE...  fails (1), naming each file and symbol, when a file needs a
#                                    symbol version PFX<v> with v > MAX (e.g. GLIBC_ 2.34); WHO names the
#                                    target in the message
#   elf_set_rpath FILE RPATH         sets DT_RPATH (not RUNPATH) on FILE
#   elf_arch FILE                    x86_64 or arm64 (AWS's names) from the ELF header; 1 for anything else
#   elf_copy_closure DIR CLOSURE     copies each "soname path" line of CLOSURE to DIR/soname
#   stage_normalize DIR              fixed modes and times under DIR, so archives of it are reproducible
# Invariant: every message is one line on stderr starting with "$ELF_WHO: " (the caller's name).

ELF_WHO=${ELF_WHO:-package}

elf_is_glibc() {
    case "$1" in
    ld-linux*.so.* | ld64.so.* | linux-vdso.so.* | linux-gate.so.* | libc.so.6 | libm.so.6 | libdl.so.2 | \
        libpthread.so.0 | librt.so.1 | libresolv.so.2 | libutil.so.1 | libanl.so.1 | libmvec.so.1 | \
        libnss_*.so.2 | libBrokenLocale.so.1 | libthread_db.so.1 | libc_malloc_debug.so.0)
        return 0 ;;
    esac
    return 1
}

elf_provided_list() {
    # One soname per line as the first field; '#' starts a comment.
    sed -e 's/#.*//' "$1" | awk 'NF { print $1 }'
}

elf_closure() {
    local provided=$1
    shift
    local f line soname path
    for f in "$@"; do
        # ldd prints the whole transitive closure; "not found" is a build machine problem, named here.
        if ! ldd "$f" >/dev/null 2>&1; then
            echo "$ELF_WHO: ldd $f failed: not a dynamic ELF for this machine?" >&2
            return 1
        fi
        while IFS= read -r line; do
            case "$line" in
            *"=> not found"*)
                echo "$ELF_WHO: $f needs ${line%% *} (ldd: not found): install it, then package again" >&2
                return 1 ;;
            *" => /"*)
                soname=$(awk '{print $1}' <<<"$line")
                path=$(awk '{print $3}' <<<"$line") ;;
            *) continue ;;
            esac
            elf_is_glibc "$soname" && continue
            grep -qxF "$soname" "$provided" && continue
            echo "$soname $path"
        done < <(ldd "$f")
    done | awk '!seen[$1]++'
}

# Prints "file: symbol@PFXv" for every needed symbol version above max; returns 1 when there is one.
elf_version_check() {
    local pfx=$1 max=$2 who=$3
    shift 3
    local f bad=0 found
    for f in "$@"; do
        # objdump -T: undefined dynamic symbols carry their version, e.g. "(GLIBC_2.34) __libc_start_main".
        found=$(objdump -T "$f" 2>/dev/null | awk -v pfx="$pfx" -v max="$max" '
            function newer(a, b,   x, y, n, i) {
                n = split(a, x, "."); split(b, y, ".")
                for (i = 1; i <= n || i in y; i++) {
                    if ((x[i] + 0) > (y[i] + 0)) return 1
                    if ((x[i] + 0) < (y[i] + 0)) return 0
                }
                return 0
            }
            /\*UND\*/ {
                for (i = 1; i <= NF; i++) if (index($i, pfx) == 1 || index($i, "(" pfx) == 1) {
                    v = $i; gsub(/[()]/, "", v); sub(pfx, "", v)
                    if (newer(v, max)) print $NF "@" pfx v
                }
            }' | sort -u)
        if [ -n "$found" ]; then
            while IFS= read -r sym; do
                echo "$ELF_WHO: $(basename "$f") needs $sym, newer than $who's ${pfx%_} $max" >&2
            done <<<"$found"
            bad=1
        fi
    done
    return $bad
}

elf_set_rpath() {
    # DT_RPATH, not DT_RUNPATH: it is searched before LD_LIBRARY_PATH (Lambda puts /lib64 there ahead of
    # /var/task/lib), and it also serves the dependencies of the libraries beside it and of what the
    # program dlopen()s (RUNPATH applies only to the object's own direct needs).
    patchelf --force-rpath --set-rpath "$2" "$1"
}

elf_arch() {
    case "$(readelf -h "$1" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')" in
    *X86-64*) echo x86_64 ;;
    *AArch64*) echo arm64 ;;
    *) echo "$ELF_WHO: $1: not x86_64 or aarch64, the two architectures AWS runs it on" >&2; return 1 ;;
    esac
}

elf_copy_closure() {
    local soname path
    while read -r soname path; do
        cp -L "$path" "$1/$soname"
    done < <(awk '!seen[$1]++' "$2")
}

stage_normalize() {
    # Executables (by their x bit) 0755, other files 0644, folders 0755; every time 2020-01-01 UTC.
    find "$1" -type d -exec chmod 0755 {} +
    find "$1" -type f -perm -u+x -exec chmod 0755 {} +
    find "$1" -type f ! -perm -u+x -exec chmod 0644 {} +
    find "$1" -exec env TZ=UTC touch -h -d '2020-01-01 00:00:00' {} +
}

#!/usr/bin/env bash
# Makes an otherwise empty root filesystem laid out like Amazon Linux 2023 (/usr/lib64, /lib64 -> usr/lib64,
# /tmp, /proc for in_root.sh, and an /etc/ld.so.cache of /usr/lib64 made by ldconfig, as AL2023's loader
# finds its libraries there while Debian's loader, standing in for it, has other default folders) holding glibc from this machine (the loader, libc, libm, libdl, libpthread, librt, libresolv, the NSS
# modules: every shared object of Debian's libc6) and the shared libraries named, each resolved with
# ldconfig -p. Names after --closure also bring their own dependencies (ldd), as a runtime package would
# (Debian's libcurl standing in for Amazon Linux's libcurl-minimal). Nothing else: no shell, no /etc.
# Usage: make_root.sh ROOT [SONAME...] [--closure SONAME...]
# Exit: 0 made, 1 a library not found here, 2 usage.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: make_root.sh ROOT [SONAME...] [--closure SONAME...]" >&2; exit 2; }
root=$1
shift
lib="$root/usr/lib64"
mkdir -p "$lib" "$root/tmp" "$root/var/task" "$root/proc"
chmod 1777 "$root/tmp"
ln -sfn usr/lib64 "$root/lib64"
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
for f in $(dpkg -L libc6 | grep -E "^(/usr)?/lib/$multiarch/[^/]+\.so(\.[0-9]+)+$"); do
    cp -L "$f" "$lib/"
done

resolve() { # soname -> path of this machine's copy
    ldconfig -p | awk -v n="$1" '$1 == n && /x86-64|AArch64/ && !found++ {print $NF}'
}
closure=0
for name in "$@"; do
    [ "$name" = --closure ] && { closure=1; continue; }
    path=$(resolve "$name")
    [ -n "$path" ] || { echo "make_root: $name not found on this machine" >&2; exit 1; }
    cp -L "$path" "$lib/$name"
    if [ $closure -eq 1 ]; then
        ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r so p; do
            [ -e "$lib/$so" ] || cp -L "$p" "$lib/$so"
        done
    fi
done

# The loader's cache, as the distribution has one: /usr/lib64 is no default folder of Debian's ld.so.
mkdir -p "$root/etc"
echo /usr/lib64 >"$root/etc/ld.so.conf"
ldconfig -r "$root"

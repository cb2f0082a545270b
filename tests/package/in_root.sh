#!/bin/sh
# Runs CMD chrooted in ROOT with /proc mounted there, as on Lambda or an instance (glibc finds $ORIGIN, the
# folder of an RPATH like $ORIGIN/lib, through /proc/self/exe), in a mount namespace of its own so that the
# mount ends with it. As root the process keeps its pid (unshare, sh and chroot each exec the next); as
# another user it runs in a user and pid namespace (a child, another pid).
# Usage: in_root.sh ROOT CMD [ARG...]
root=$1
shift
if [ "$(id -u)" -eq 0 ]; then
    exec /usr/bin/unshare -m /bin/sh -c 'mount -t proc proc "$0/proc" && exec /usr/sbin/chroot "$0" "$@"' "$root" "$@"
fi
exec /usr/bin/unshare -r -m -p -f --mount-proc="$root/proc" /usr/sbin/chroot "$root" "$@"

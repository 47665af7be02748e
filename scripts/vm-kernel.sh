#!/bin/sh
# Fetches the guest kernel of berth-vm: Debian's cloud kernel (virtio and
# virtiofs as modules, no 9p), downloaded with apt-get and unpacked with
# dpkg-deb into /var/cache/berth/vm/<kernel-version>/ without installing it on
# the host. Idempotent: a complete cache is left alone.
# Usage: scripts/vm-kernel.sh [package]   (default: what linux-image-cloud-amd64 depends on)
set -eu
CACHE=${BERTH_VM_CACHE:-/var/cache/berth/vm}
PKG=${1:-}
if [ -z "$PKG" ]; then
  PKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n1)
fi
[ -n "$PKG" ] || { echo "vm-kernel: cannot find the cloud kernel package (apt-get update?)" >&2; exit 1; }
VER=${PKG#linux-image-}
DEST="$CACHE/$VER"
# The uncompressed ELF vmlinux next to the bzImage: qemu's microvm boots it
# directly (PVH entry), which skips the in-guest decompression that costs
# 1-2 s under TCG. Debian compresses with LZ4 (legacy frame, magic 02 21 4c 18).
extract_vmlinux() {
  [ -f "$DEST/boot/vmlinux-$VER" ] && return 0
  command -v lz4 >/dev/null 2>&1 || return 0
  off=$(grep -abo "$(printf '\002\041\114\030')" "$DEST/boot/vmlinuz-$VER" | head -n1 | cut -d: -f1)
  [ -n "$off" ] || return 0
  tail -c +$((off + 1)) "$DEST/boot/vmlinuz-$VER" | lz4 -dc > "$DEST/boot/vmlinux-$VER.tmp" 2>/dev/null || true
  # a valid ELF header, or nothing: the bzImage stays the fallback
  if [ "$(head -c 4 "$DEST/boot/vmlinux-$VER.tmp" | od -An -c | tr -d ' ')" = "177ELF" ]; then
    mv "$DEST/boot/vmlinux-$VER.tmp" "$DEST/boot/vmlinux-$VER"
  else
    rm -f "$DEST/boot/vmlinux-$VER.tmp"
  fi
}
if [ -f "$DEST/.complete" ]; then
  extract_vmlinux
  echo "$DEST"
  exit 0
fi
TMP=$(mktemp -d)
chmod 755 "$TMP"  # apt-get download drops to the _apt user
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && apt-get download -q "$PKG" >&2)
mkdir -p "$TMP/x"
dpkg-deb -x "$TMP"/*.deb "$TMP/x"
mkdir -p "$CACHE"
rm -rf "$DEST.partial"
mkdir -p "$DEST.partial"
# only what a guest needs: the kernel image, its config, and the modules tree
mv "$TMP/x/boot" "$DEST.partial/boot"
mkdir -p "$DEST.partial/lib"
mv "$TMP/x/lib/modules" "$DEST.partial/lib/modules" 2>/dev/null || mv "$TMP/x/usr/lib/modules" "$DEST.partial/lib/modules"
touch "$DEST.partial/.complete"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
extract_vmlinux
echo "$DEST"

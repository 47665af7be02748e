#!/usr/bin/env bash
# The root filesystem of Berth's default image, the Debian nginx: made by
# `mmdebstrap --variant=minbase --include=nginx-light bookworm` from Debian's
# own packages (the apt sources this machine uses), cached as a tar under
# $BERTH_CACHE (default /var/cache/berth) named by a hash of the recipe,
# built only when absent (about 16 s and 186 MB), under a lock so two callers
# never build it at once. Prints the tar's path.
# Used by scripts/demo.sh and tests/helpers/nginx-image.ts.
set -euo pipefail
cache=${BERTH_CACHE:-/var/cache/berth}
variant=minbase suite=bookworm include=nginx-light
# the same text the test helper hashed before this script existed: old caches stay valid
recipe="{\"tool\":\"mmdebstrap\",\"variant\":\"$variant\",\"suite\":\"$suite\",\"include\":[\"$include\"]}"
hash=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
tar="$cache/nginx-rootfs-$hash.tar"
mkdir -p "$cache"
if [ ! -f "$tar" ]; then
  command -v mmdebstrap >/dev/null || { echo "nginx-image: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }
  # mmdebstrap picks its output format from the name: the temp name ends in .tar too
  tmp="$cache/nginx-rootfs-$hash.building.tar"
  flock "$cache/.nginx.lock" sh -c "test -e '$tar' || { rm -f '$tmp' && mmdebstrap --quiet --variant=$variant --include=$include $suite '$tmp' && mv '$tmp' '$tar'; }" >&2
fi
echo "$tar"

#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): install what Berth
# needs, build it, start berthd, make the default image (the Debian nginx)
# when absent, run it as `web` with port 8080 published, fetch its page and
# show `berth ps` and `berth logs web`. Safe to run again: it reuses a running
# berthd, the cached image and the build, and replaces an old `web`.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
port=${PORT:-8080}
log=${BERTHD_LOG:-/var/log/berthd.log}

# 1. the system packages of .ci/run (the same list), only those missing
need=$(sed -n 's/^need=(\(.*\))$/\1/p' .ci/run)
missing=()
for p in $need; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. the node modules and the build
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -x bin/berthd ] && [ -f dist/berthd.cjs ] && [ -x bin/berth-shim ] || flock /tmp/berth-build.lock npm run build

berth() { bin/berth "$@"; }

# 3. berthd as a background daemon with its own log; reused when it answers
if ! berth version >/dev/null 2>&1; then
  echo "starting berthd (log: $log)"
  setsid bin/berthd >>"$log" 2>&1 </dev/null &
  for _ in $(seq 100); do berth version >/dev/null 2>&1 && break; sleep 0.2; done
  berth version >/dev/null || { echo "berthd did not start; see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi

# 4. the default image when absent: the Debian nginx root filesystem (cached), its logs on stdout/stderr
if ! berth image inspect nginx:latest >/dev/null 2>&1; then
  tar=$(scripts/nginx-image.sh)
  echo "importing $tar as nginx:latest"
  berth import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["sh","-c","ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log && exec nginx -g \"daemon off;\""]' \
    -c 'EXPOSE 80' -c 'STOPSIGNAL SIGQUIT' \
    "$tar" nginx:latest
fi

# 5. the web server, replacing an old one
berth rm -f web >/dev/null 2>&1 || true
berth run -d -p "$port:80" --name web nginx

# 6. its page (busybox wget: busybox-static is in the list), then what berth shows about it
for _ in $(seq 100); do
  if page=$(busybox wget -q -O - "http://127.0.0.1:$port/" 2>/dev/null); then
    echo "GET http://127.0.0.1:$port/ ->"
    echo "$page"
    echo
    berth ps
    echo
    echo "berth logs web:"
    berth logs web
    exit 0
  fi
  sleep 0.1
done
echo "the web server did not answer on port $port" >&2
berth logs web >&2 || true
exit 1

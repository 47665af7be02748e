#!/usr/bin/env bash
# The main job on a fresh machine: install what Berth needs, build it, and run
# a web server container with berth-runtime, then show it answering.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! command -v busybox >/dev/null || [ ! -x /bin/busybox ]; then
  apt-get update -q && apt-get install -y -q --no-install-recommends busybox-static
fi
[ -d node_modules ] && [ -x bin/berth-runtime ] || npm ci --no-audit --no-fund

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
id=berth-demo-$$
port=${PORT:-8080}
cleanup() { bin/berth-runtime delete -f "$id" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

# A busybox root filesystem with a page to serve.
mkdir -p "$work/rootfs/bin" "$work/rootfs/www"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh httpd echo cat ls; do ln -s busybox "$work/rootfs/bin/$a"; done
echo "<h1>Hello from a Berth container</h1>" > "$work/rootfs/www/index.html"

# An OCI bundle: the default spec, running httpd in the foreground on the host's network.
bin/berth-runtime spec --bundle "$work"
node -e '
  const fs = require("fs"); const f = process.argv[1]; const c = JSON.parse(fs.readFileSync(f));
  c.process.terminal = false;
  c.process.args = ["httpd", "-f", "-p", process.argv[2], "-h", "/www"];
  c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== "network");
  fs.writeFileSync(f, JSON.stringify(c, null, 2));' "$work/config.json" "$port"

bin/berth-runtime run -d --bundle "$work" "$id"
bin/berth-runtime state "$id"
for _ in $(seq 50); do
  if out=$(busybox wget -q -O - "http://127.0.0.1:$port/" 2>/dev/null); then
    echo "GET http://127.0.0.1:$port/ -> $out"
    exit 0
  fi
  sleep 0.1
done
echo "the web server did not answer" >&2
exit 1

#!/usr/bin/env bash
# ui-screenshot.sh: headless-browser check of the web UI against a real cluster.
# Starts `localstorm up --demo --cluster ui`, serves the UI (nimbus's API URL, or
# UI_URL if the UI is served elsewhere), takes screenshots of the cluster page and
# of the demo topology's page (with its live charts) and of its assignment in
# the ZooKeeper explorer with Debian's chromium, and stops the cluster.
# Not part of `make test` (the UI's tests there are daemons/nimbus/ui/browsertest).
# Look at the PNGs afterwards.
#
#   scripts/ui-screenshot.sh [OUT_DIR]      (default: ./ui-screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-ui-screenshots}
mkdir -p "$out"
command -v chromium >/dev/null || { echo "chromium not found: apt-get install -y chromium" >&2; exit 1; }
make build >/dev/null
log=$(mktemp)
./bin/localstorm up --demo --cluster ui >"$log" 2>&1 &
pid=$!
cleanup() { ./bin/localstorm down --cluster ui >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT
for _ in $(seq 1 120); do grep -q 'is up' "$log" && break; sleep 0.5; done
grep -q 'is up' "$log" || { cat "$log" >&2; echo "cluster did not come up in 60 s" >&2; exit 1; }
api=$(awk '/^  api /{print $2}' "$log")
topo=$(awk '/^  demo /{print $2}' "$log")
ui=${UI_URL:-$api}
if ! curl -fsS -o /dev/null -w '%{content_type}' "$ui/" 2>/dev/null | grep -q text/html; then
	echo "no UI at $ui/: nimbus does not mount ui.Handler yet (set UI_URL to where it is served)" >&2
	exit 1
fi
sleep 4 # let the demo topology run and report stats
shot() { timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	--virtual-time-budget=4000 --window-size=1280,900 --screenshot="$1" "$2" 2>/dev/null; }
shot "$out/cluster.png" "$ui/"
shot "$out/topology.png" "$ui/#/topology/$topo"
shot "$out/zookeeper.png" "$ui/#/zk/assignments/$topo"
echo "screenshots in $out: cluster.png, topology.png, zookeeper.png (UI at $ui)"

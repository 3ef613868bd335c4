#!/usr/bin/env bash
# Times `localstorm up` to ready, natively or in the localstorm image, the same
# way for both: from the command's start until the API, reached from this
# host, reports every supervisor; prints the milliseconds, then stops the
# cluster (SIGTERM to the up process, or `docker rm -f` of the container).
#
#   scripts/up-ready.sh native [BINARY]    default bin/localstorm
#   scripts/up-ready.sh container [IMAGE]  default localstorm/localstorm:latest
# Environment: PORT (host port of the API, default 18181), SUPERVISORS (3).
# Needs curl. docs/benchmarks.md quotes it.
set -euo pipefail
mode=${1:?usage: up-ready.sh native|container [BINARY|IMAGE]}
PORT=${PORT:-18181}
SUPERVISORS=${SUPERVISORS:-3}
now_ms() { date +%s%3N; }

start=$(now_ms)
case $mode in
native)
	state=$(mktemp -d /tmp/up-ready.XXXXXX)
	XDG_STATE_HOME=$state "${2:-bin/localstorm}" up --cluster "up-ready-$$" --supervisors "$SUPERVISORS" \
		--api-addr "127.0.0.1:$PORT" >/dev/null 2>&1 &
	pid=$!
	stop() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true; rm -rf "$state"; }
	;;
container)
	cid=$(docker run -d --rm -p "127.0.0.1:$PORT:8080" "${2:-localstorm/localstorm:latest}" \
		up --supervisors "$SUPERVISORS" --api-addr 0.0.0.0:8080)
	stop() { docker rm -f "$cid" >/dev/null; }
	;;
*)
	echo "usage: up-ready.sh native|container [BINARY|IMAGE]" >&2
	exit 2
	;;
esac
trap stop EXIT

until curl -fs "http://127.0.0.1:$PORT/api/v1/cluster/summary" 2>/dev/null | grep -q "\"supervisors\":$SUPERVISORS,"; do
	(($(now_ms) - start < 60000)) || { echo "up-ready: not ready within 60 s" >&2; exit 1; }
	sleep 0.005
done
echo "$mode up to ready: $(($(now_ms) - start)) ms"

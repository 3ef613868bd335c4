#!/bin/sh
# A CI job for a topology written in any language: start a cluster in the
# background, submit a Flux topology of Python shell components, wait until
# it has done real work, keep every log if a step failed, stop the cluster.
# cmd/localstorm/ci_recipe_test.go runs this script in CI.
#
# Environment (all optional):
#   LOCALSTORM    the localstorm command (default: localstorm on PATH)
#   CLUSTER       the cluster's name (default: ci)
#   ARTIFACTS     where the logs go on failure (default: ./localstorm-logs)
#   ACKED         how many sentences must be acked (default: 100)
#   WAIT_TIMEOUT  how long to wait for them (default: 2m)
set -eu

LOCALSTORM=${LOCALSTORM:-localstorm}
CLUSTER=${CLUSTER:-ci}
ARTIFACTS=${ARTIFACTS:-localstorm-logs}
ACKED=${ACKED:-100}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-2m}
here=$(cd "$(dirname "$0")" && pwd)

finish() {
	status=$?
	if [ "$status" -ne 0 ]; then
		echo "step failed (exit $status): exporting logs to $ARTIFACTS" >&2
		$LOCALSTORM export logs "$ARTIFACTS" --cluster "$CLUSTER" || true
	fi
	$LOCALSTORM down --cluster "$CLUSTER" >/dev/null 2>&1 || true
	exit "$status"
}
trap finish EXIT

# The four lines a CI job needs:
$LOCALSTORM up --detach --cluster "$CLUSTER" --supervisors 2
$LOCALSTORM submit "$here/../flux/wordcount.yaml" --cluster "$CLUSTER"
$LOCALSTORM wait topology flux-wordcount --cluster "$CLUSTER" --active --acked "$ACKED" --no-errors --timeout "$WAIT_TIMEOUT"
# (and `localstorm down`, in finish.)

# The results, through the REST API, as a test suite would check them.
$LOCALSTORM topology flux-wordcount --cluster "$CLUSTER"

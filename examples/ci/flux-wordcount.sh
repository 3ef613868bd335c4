#!/bin/sh
# A CI job for a topology written in any language: install localstorm if
# needed, start a cluster in the background, submit a Flux topology of Python
# shell components, wait until it has done real work, keep every log if a
# step failed, stop the cluster. docs/ci.md has the same steps as a GitHub
# Actions workflow; cmd/localstorm/ci_e2e_test.go (TestCIRecipe) runs this
# script in CI.
#
# Environment (all optional):
#   LOCALSTORM          the localstorm command (default: localstorm on PATH,
#                       else one installed into LOCALSTORM_BIN, see below)
#   LOCALSTORM_ARCHIVE  install from this release archive (a URL or a file,
#                       localstorm_VERSION_OS_ARCH.tar.gz) instead of `go install`
#   LOCALSTORM_VERSION  the version `go install` fetches (default: latest)
#   LOCALSTORM_BIN      where it is installed (default: ./.localstorm/bin)
#   CLUSTER             the cluster's name (default: ci)
#   ARTIFACTS           where the logs go on failure (default: ./localstorm-logs)
#   ACKED               how many sentences must be acked (default: 100)
#   WAIT_TIMEOUT        how long to wait for them (default: 2m)
set -eu

CLUSTER=${CLUSTER:-ci}
ARTIFACTS=${ARTIFACTS:-localstorm-logs}
ACKED=${ACKED:-100}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-2m}
here=$(cd "$(dirname "$0")" && pwd)

# install_localstorm sets LOCALSTORM: the given one, the one on PATH, or one
# installed from the release archive or with `go install`.
install_localstorm() {
	if [ -n "${LOCALSTORM:-}" ]; then
		return
	fi
	if [ -z "${LOCALSTORM_ARCHIVE:-}" ] && command -v localstorm >/dev/null 2>&1; then
		LOCALSTORM=localstorm
		return
	fi
	bin=${LOCALSTORM_BIN:-$PWD/.localstorm/bin}
	mkdir -p "$bin"
	case "${LOCALSTORM_ARCHIVE:-}" in
	"") GOBIN=$bin go install "github.com/localstorm/localstorm/cmd/localstorm@${LOCALSTORM_VERSION:-latest}" ;;
	http://* | https://*) curl -fsSL "$LOCALSTORM_ARCHIVE" | tar -xzf - -C "$bin" --strip-components=1 ;;
	*) tar -xzf "$LOCALSTORM_ARCHIVE" -C "$bin" --strip-components=1 ;;
	esac
	LOCALSTORM=$bin/localstorm
	$LOCALSTORM version
}

finish() {
	status=$?
	if [ "$status" -ne 0 ]; then
		echo "step failed (exit $status): exporting logs to $ARTIFACTS" >&2
		$LOCALSTORM export logs "$ARTIFACTS" --cluster "$CLUSTER" || true
	fi
	$LOCALSTORM down --cluster "$CLUSTER" >/dev/null 2>&1 || true
	exit "$status"
}

install_localstorm
trap finish EXIT

# The four lines a CI job needs:
$LOCALSTORM up --detach --cluster "$CLUSTER" --supervisors 2
$LOCALSTORM submit "$here/../flux/wordcount.yaml" --cluster "$CLUSTER"
$LOCALSTORM wait topology flux-wordcount --cluster "$CLUSTER" --active --acked "$ACKED" --no-errors --timeout "$WAIT_TIMEOUT"
# (and `localstorm down`, in finish.)

# The results, through the REST API, as a test suite would check them.
$LOCALSTORM topology flux-wordcount --cluster "$CLUSTER"

#!/usr/bin/env bash
# Builds the local Docker image localstorm/localstorm:VERSION (and :latest):
# the static localstorm binary (scripts/lib/gobuild.sh, VERSION stamped) on a
# minimal Debian bookworm with Python 3 for multilang shell components. No
# image registry is used: the base is made with debootstrap from the Debian
# mirror apt already uses and `docker import`ed, as build-zk-image.sh does.
#
#   docker run --rm -p 8080:8080 localstorm/localstorm up --demo --api-addr 0.0.0.0:8080
#   localstorm submit --api http://127.0.0.1:8080 examples/flux/wordcount.yaml
#
# Two images, each idempotent:
#   localstorm/localstorm-base:bookworm  the rootfs (minbase + python3, tini), rebuilt
#                                        only when its RECIPE label is older
#   localstorm/localstorm:VERSION        the base + /usr/local/bin/localstorm,
#                                        rebuilt when the binary's SHA-256 changes
# Needs root, debootstrap and a reachable Docker engine (the base only); Go.
# Environment:
#   VERSION        default: git describe --tags --always --dirty
#   IMAGE          repository of the image (default localstorm/localstorm)
#   DEBIAN_MIRROR  mirror for debootstrap (default: the one in apt's sources)
#   FORCE=1        rebuild the base too
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localstorm/localstorm}
BASE=$IMAGE-base:bookworm
# Bumped whenever the base's content changes, so that a base built by an
# older version of this script is rebuilt rather than reused.
RECIPE=2
NAME=build-image
# shellcheck source=lib/debian-image.sh
. scripts/lib/debian-image.sh
# shellcheck source=lib/gobuild.sh
. scripts/lib/gobuild.sh

have_base() { [[ $(label "$BASE" io.localstorm.recipe) == "$RECIPE" ]]; }
base_up_to_date() { [[ ${FORCE:-0} != 1 ]] && have_base; }

build_base() {
	lock_builds build-image-base
	base_up_to_date && return
	local start
	start=$(date +%s)
	# python3, not python3-minimal: storm.py's json and collections are in
	# the standard library proper. tini runs as PID 1 (see the entrypoint).
	debootstrap_rootfs python3,tini
	[[ -x $rootfs/usr/bin/tini ]] || die "tini missing from the rootfs"
	trim_rootfs
	tar -C "$rootfs" -c . | docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'WORKDIR /' \
		--change "LABEL io.localstorm.recipe=$RECIPE" \
		--message "Debian $SUITE minbase + python3, tini (localstorm scripts/build-image.sh)" \
		- "$BASE" >/dev/null
	cleanup_work
	trap - EXIT
	log "built $BASE in $(($(date +%s) - start)) s"
}

# main is the whole build. Being one function, it is parsed before it runs,
# so editing this file during a build cannot derail that build.
main() {
	local sum
	# tmp and cid are global: the EXIT trap reads them after main returned.
	tmp=$(mktemp -d /tmp/build-image-bin.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	build_localstorm "$tmp/localstorm" linux "$(${GO:-go} env GOARCH)"
	sum=$(sha256sum "$tmp/localstorm" | cut -d' ' -f1)
	# Up to date: this binary on a base of this recipe.
	if base_up_to_date && [[ $(label "$IMAGE:$VERSION" io.localstorm.binary-sha256) == "$sum" &&
		$(label "$IMAGE:$VERSION" io.localstorm.recipe) == "$RECIPE" ]]; then
		docker tag "$IMAGE:$VERSION" "$IMAGE:latest"
		log "$IMAGE:$VERSION holds this binary; nothing to do (FORCE=1 rebuilds the base)"
		return
	fi
	base_up_to_date || (build_base)
	have_base || die "$BASE is missing after its build"

	# The entrypoint is localstorm under tini: PID 1 inherits every orphan (the
	# multilang subprocess of a worker killed with -9, for one) and must reap
	# it, which localstorm does not do; tini reaps and forwards signals, so
	# `docker stop` still reaches `up` as a SIGTERM.
	# The binary goes in through a created (never started) container and
	# `docker commit`: no Dockerfile, so no FROM that could reach for a registry.
	cid=$(docker create "$BASE" /usr/local/bin/localstorm version)
	trap 'rm -rf "$tmp"; docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT
	chmod 0755 "$tmp/localstorm"
	docker cp "$tmp/localstorm" "$cid:/usr/local/bin/localstorm" >/dev/null
	docker commit \
		--change 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/localstorm"]' \
		--change 'CMD ["up", "--demo", "--api-addr", "0.0.0.0:8080"]' \
		--change 'EXPOSE 8080' \
		--change "LABEL io.localstorm.recipe=$RECIPE io.localstorm.version=$VERSION io.localstorm.binary-sha256=$sum" \
		--message "localstorm $VERSION (scripts/build-image.sh)" \
		"$cid" "$IMAGE:$VERSION" >/dev/null
	docker tag "$IMAGE:$VERSION" "$IMAGE:latest"
	log "built $IMAGE:$VERSION (and :latest), $(docker image inspect --format '{{.Size}}' "$IMAGE:$VERSION" | awk '{ printf "%.1f MB", $1 / 1e6 }')"
}

main "$@"
exit

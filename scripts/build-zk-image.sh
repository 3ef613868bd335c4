#!/usr/bin/env bash
# Builds the local Docker image localstorm/zookeeper:3.8: Apache ZooKeeper 3.8
# from Debian bookworm's packages, run in the foreground by
# ZooKeeperServerMain. No image registry is used: the root filesystem is
# made with debootstrap from the Debian mirror apt already uses, then
# imported with `docker import`.
#
# Idempotent: does nothing when the image exists. Needs root, debootstrap
# and a reachable Docker engine. Environment:
#   IMAGE          image name (default localstorm/zookeeper:3.8)
#   DEBIAN_MIRROR  mirror for debootstrap (default: the one in apt's sources)
#   FORCE=1        rebuild even when the image exists
set -euo pipefail

IMAGE=${IMAGE:-localstorm/zookeeper:3.8}
SUITE=bookworm

log() { printf 'build-zk-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ ${FORCE:-0} != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
	log "$IMAGE exists; nothing to do (FORCE=1 rebuilds)"
	exit 0
fi
[[ $(id -u) == 0 ]] || die "debootstrap needs root; run with sudo"
command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
docker info >/dev/null 2>&1 || die "no reachable Docker engine (docker info failed)"

# find_mirror prints the URI apt uses for the $SUITE main archive, from
# deb822 .sources files or one-line sources.list entries.
find_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		# A blank line ends a stanza; print URIs of a stanza listing $SUITE.
		awk -v suite="$SUITE" '
			function flush() { if (uris != "" && has) { split(uris, u, " "); print u[1]; exit } uris = ""; has = 0 }
			/^[[:space:]]*$/ { flush(); next }
			/^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
			END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		# Options in brackets ("[signed-by=...]") are dropped first.
		awk -v suite="$SUITE" '$1 == "deb" { sub(/\[[^]]*\][[:space:]]*/, ""); if ($3 == suite) { print $2; exit } }' "$f"
	done
}

MIRROR=${DEBIAN_MIRROR:-$(find_mirror | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
log "building $IMAGE from Debian $SUITE via $MIRROR"

start=$(date +%s)
work=$(mktemp -d /tmp/build-zk-image.XXXXXX)
rootfs=$work/rootfs
cleanup() {
	# debootstrap mounts proc and sys inside the chroot; a failed run can
	# leave them mounted, and rm -rf must not descend into them.
	local m
	for m in $(awk -v r="$rootfs" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

debootstrap --variant=minbase --include=default-jre-headless,zookeeper \
	"$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
	tail -n 30 "$work/debootstrap.log" >&2
	die "debootstrap failed (log above)"
}

[[ -f $rootfs/usr/share/java/zookeeper.jar ]] || die "zookeeper.jar missing from the rootfs"
mkdir -p "$rootfs/data" "$rootfs/var/log/zookeeper"
cat >"$rootfs/etc/zookeeper/conf/zoo.cfg" <<'CFG'
# localstorm: standalone ZooKeeper for local clusters and tests.
tickTime=2000
dataDir=/data
clientPort=2181
4lw.commands.whitelist=*
admin.enableServer=false
CFG
# Keep the image small: package caches and docs are not needed at run time.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
	"$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

cmd='["java","-Xmx256m","-XX:+UseSerialGC","-Dzookeeper.log.dir=/var/log/zookeeper","-Dzookeeper.root.logger=INFO,CONSOLE","-cp","/etc/zookeeper/conf:/usr/share/java/*","org.apache.zookeeper.server.ZooKeeperServerMain","/etc/zookeeper/conf/zoo.cfg"]'
tar -C "$rootfs" -c . | docker import \
	--change "CMD $cmd" \
	--change 'EXPOSE 2181' \
	--change 'WORKDIR /' \
	--message "ZooKeeper 3.8 from Debian $SUITE (localstorm scripts/build-zk-image.sh)" \
	- "$IMAGE" >/dev/null

log "built $IMAGE in $(($(date +%s) - start)) s"

#!/usr/bin/env bash
# Builds the local Docker image localstorm/zookeeper:3.8: Apache ZooKeeper 3.8
# from Debian bookworm's packages, run in the foreground by
# ZooKeeperServerMain. No image registry is used: the root filesystem is
# made with debootstrap from the Debian mirror apt already uses, then
# imported with `docker import`.
#
# Idempotent: does nothing when the image exists and was built by this
# version of the script. Needs root, debootstrap
# and a reachable Docker engine. Environment:
#   IMAGE          image name (default localstorm/zookeeper:3.8)
#   DEBIAN_MIRROR  mirror for debootstrap (default: the one in apt's sources)
#   FORCE=1        rebuild even when the image exists
set -euo pipefail

IMAGE=${IMAGE:-localstorm/zookeeper:3.8}
SUITE=bookworm
# Bumped whenever the image's content changes, so that an image built by an
# older version of this script is rebuilt rather than reused.
RECIPE=2

log() { printf 'build-zk-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

have=$(docker image inspect --format '{{ index .Config.Labels "io.localstorm.recipe" }}' "$IMAGE" 2>/dev/null || true)
if [[ ${FORCE:-0} != 1 && $have == "$RECIPE" ]]; then
	log "$IMAGE exists (recipe $RECIPE); nothing to do (FORCE=1 rebuilds)"
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
# Configure inside a chroot: the rootfs holds absolute symlinks (for one,
# /etc/zookeeper/conf -> /etc/alternatives/...) that would lead writes made
# from outside onto the host's own files.
chroot "$rootfs" /bin/sh -eu -c '
	mkdir -p /etc/localstorm /data /var/log/zookeeper
	cat >/etc/localstorm/zoo.cfg
	# Package caches and docs are not needed at run time.
	rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
' <<'CFG'
# localstorm: standalone ZooKeeper for local clusters and tests.
tickTime=2000
dataDir=/data
clientPort=2181
4lw.commands.whitelist=*
admin.enableServer=false
CFG

# Only the jars the server needs: Debian's /usr/share/java holds hundreds
# (Jetty, Tomcat, ...) and a wildcard classpath made the JVM start ~15x slower.
J=/usr/share/java
cp=/etc/zookeeper/conf
for jar in zookeeper zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2 metrics-core snappy-java \
	commons-cli netty-handler netty-transport netty-common netty-buffer netty-codec netty-resolver \
	netty-transport-native-epoll netty-transport-native-unix-common; do
	chroot "$rootfs" test -e "$J/$jar.jar" || die "$J/$jar.jar missing from the rootfs"
	cp+=:$J/$jar.jar
done

cmd='["java","-Xmx256m","-XX:+UseSerialGC","-XX:TieredStopAtLevel=1","-Dzookeeper.log.dir=/var/log/zookeeper","-Dzookeeper.root.logger=INFO,CONSOLE","-cp","'$cp'","org.apache.zookeeper.server.ZooKeeperServerMain","/etc/localstorm/zoo.cfg"]'
tar -C "$rootfs" -c . | docker import \
	--change "CMD $cmd" \
	--change 'EXPOSE 2181' \
	--change 'WORKDIR /' \
	--change "LABEL io.localstorm.recipe=$RECIPE" \
	--message "ZooKeeper 3.8 from Debian $SUITE (localstorm scripts/build-zk-image.sh)" \
	- "$IMAGE" >/dev/null

log "built $IMAGE in $(($(date +%s) - start)) s"

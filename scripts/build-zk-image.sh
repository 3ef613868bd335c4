#!/usr/bin/env bash
# Builds the local Docker image localstorm/zookeeper:3.8: Apache ZooKeeper 3.8
# from Debian bookworm's packages (libzookeeper-java), run in the foreground by
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
# Bumped whenever the image's content changes, so that an image built by an
# older version of this script is rebuilt rather than reused.
RECIPE=3
NAME=build-zk-image
# shellcheck source=lib/debian-image.sh
. "$(dirname "$0")/lib/debian-image.sh"

up_to_date() { [[ ${FORCE:-0} != 1 && $(label "$IMAGE" io.localstorm.recipe) == "$RECIPE" ]]; }

# main is the whole build. Being one function, it is parsed before it runs,
# so editing this file during a build cannot derail that build.
main() {
if up_to_date; then
	log "$IMAGE exists (recipe $RECIPE); nothing to do (FORCE=1 rebuilds)"
	exit 0
fi
lock_builds build-zk-image
if up_to_date; then
	log "$IMAGE was built meanwhile (recipe $RECIPE)"
	exit 0
fi
log "building $IMAGE"
start=$(date +%s)
# libzookeeper-java holds the server (zookeeper.jar and its libraries); the
# `zookeeper` package adds only init scripts, a sample config and a Swing
# inspector whose dependency on the full default-jre pulls in GTK.
debootstrap_rootfs default-jre-headless,libzookeeper-java

[[ -f $rootfs/usr/share/java/zookeeper.jar ]] || die "zookeeper.jar missing from the rootfs"
# Configure inside a chroot: the rootfs holds absolute symlinks (for one,
# /etc/zookeeper/conf -> /etc/alternatives/...) that would lead writes made
# from outside onto the host's own files.
# The whole setup script is one quoted here-document run by the chroot's
# shell, so nothing in it is ever expanded or run by this (host) shell.
chroot "$rootfs" /bin/sh -eu <<'SETUP'
mkdir -p /etc/localstorm /data /var/log/zookeeper
cat >/etc/localstorm/zoo.cfg <<'CFG'
# localstorm: standalone ZooKeeper for local clusters and tests.
tickTime=2000
dataDir=/data
clientPort=2181
4lw.commands.whitelist=*
admin.enableServer=false
CFG
# ZooKeeper 3.8 logs through slf4j-log4j12; log4j 1.2 finds this file on the
# classpath. The server logs to the container's stdout.
cat >/etc/localstorm/log4j.properties <<'LOG4J'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
LOG4J
# Package caches and docs are not needed at run time.
rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
SETUP

# Only the jars the server needs: Debian's /usr/share/java holds hundreds
# (Jetty, Tomcat, ...) and a wildcard classpath made the JVM start ~15x slower.
J=/usr/share/java
cp=/etc/localstorm
for jar in zookeeper zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2 metrics-core snappy-java \
	commons-cli netty-handler netty-transport netty-common netty-buffer netty-codec netty-resolver \
	netty-transport-native-epoll netty-transport-native-unix-common; do
	chroot "$rootfs" test -e "$J/$jar.jar" || die "$J/$jar.jar missing from the rootfs"
	cp+=:$J/$jar.jar
done

cmd='["java","-Xmx256m","-XX:+UseSerialGC","-XX:TieredStopAtLevel=1","-Dzookeeper.log.dir=/var/log/zookeeper","-cp","'$cp'","org.apache.zookeeper.server.ZooKeeperServerMain","/etc/localstorm/zoo.cfg"]'
tar -C "$rootfs" -c . | docker import \
	--change "CMD $cmd" \
	--change 'EXPOSE 2181' \
	--change 'WORKDIR /' \
	--change "LABEL io.localstorm.recipe=$RECIPE" \
	--message "ZooKeeper 3.8 from Debian $SUITE (localstorm scripts/build-zk-image.sh)" \
	- "$IMAGE" >/dev/null

log "built $IMAGE in $(($(date +%s) - start)) s"
}

main "$@"
exit

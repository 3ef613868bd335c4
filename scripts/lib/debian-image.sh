# Shared by the scripts that build localstorm's Docker images without a
# registry (build-zk-image.sh, build-image.sh): a root filesystem made with
# debootstrap from the Debian mirror apt already uses, then `docker import`ed.
# Sourced; the caller sets NAME (its log prefix) first.

SUITE=bookworm

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# label IMAGE KEY prints the image's label KEY (empty when the image or the
# label is missing).
label() {
	docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# lock_builds KEY serialises builds of one image: test suites of several
# packages may call a build script at once; one builds, the others wait for
# it (and then find the image up to date).
lock_builds() {
	exec 9>"${TMPDIR:-/tmp}/localstorm-$1.lock"
	flock -w 1200 9 || die "another build of $1 held the lock for 20 minutes"
}

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

# debootstrap_rootfs PACKAGES makes a minbase $SUITE root filesystem with the
# comma-separated PACKAGES in $rootfs, inside a work dir $work that is
# removed when the script exits.
debootstrap_rootfs() {
	[[ $(id -u) == 0 ]] || die "debootstrap needs root; run with sudo"
	command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
	docker info >/dev/null 2>&1 || die "no reachable Docker engine (docker info failed)"
	local mirror=${DEBIAN_MIRROR:-$(find_mirror | head -n1)}
	mirror=${mirror:-http://deb.debian.org/debian}
	log "debootstrap of Debian $SUITE (minbase + $1) via $mirror"
	work=$(mktemp -d "/tmp/$NAME.XXXXXX")
	rootfs=$work/rootfs
	trap cleanup_work EXIT
	# A signal must end the script through exit, so the EXIT trap cleans up.
	trap 'exit 130' INT
	trap 'exit 143' TERM
	debootstrap --variant=minbase --include="$1" "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
		tail -n 30 "$work/debootstrap.log" >&2
		die "debootstrap failed (log above)"
	}
}

cleanup_work() {
	# debootstrap mounts proc and sys inside the chroot; a failed run can
	# leave them mounted, and rm -rf must not descend into them.
	local m
	for m in $(awk -v r="$rootfs" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" || true
	done
	rm -rf "$work"
}

# trim_rootfs removes what no program needs at run time: package caches and
# lists, documentation, manual pages and translations. It runs in the chroot:
# the rootfs holds absolute symlinks that, followed from outside, would lead
# onto the host's own files.
trim_rootfs() {
	chroot "$rootfs" /bin/sh -eu -c 'rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* \
		/usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*'
}

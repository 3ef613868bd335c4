#!/usr/bin/env bash
# Builds localstorm's release into dist/ (`make release`):
#   localstorm_VERSION_OS_ARCH.tar.gz   linux and darwin, amd64 and arm64
#   localstorm_VERSION_windows_amd64.zip
#   SHA256SUMS                          of every archive (sha256sum -c SHA256SUMS)
# Each archive holds one directory, localstorm_VERSION_OS_ARCH/, with the
# static binary (VERSION stamped; `localstorm version` prints it) and README.md.
#
# Reproducible: the same commit, Go toolchain and VERSION give byte-identical
# archives. Binaries are built with -trimpath -buildvcs=false and no build id;
# archive entries are sorted, owned by 0:0, dated SOURCE_DATE_EPOCH (default:
# the time of the last commit), and gzip stores no name or time.
#
# Environment:
#   VERSION            default: git describe --tags --always --dirty
#   SOURCE_DATE_EPOCH  default: git log -1 --format=%ct
#   TARGETS            default: "linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64"
#   DIST               output dir (default dist; emptied first)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/gobuild.sh
. scripts/lib/gobuild.sh

TARGETS=${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}
DIST=${DIST:-dist}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export TZ=UTC LC_ALL=C

log() { printf 'release: %s\n' "$*" >&2; }

[[ " $TARGETS " != *" windows/"* ]] || command -v zip >/dev/null || { log "error: zip not found (for the windows archive): apt-get install zip"; exit 1; }

rm -rf "$DIST"
mkdir -p "$DIST"
dist=$(cd "$DIST" && pwd)
stage=$(mktemp -d /tmp/localstorm-release.XXXXXX)
trap 'rm -rf "$stage"' EXIT

for target in $TARGETS; do
	os=${target%/*} arch=${target#*/}
	base=localstorm_${VERSION}_${os}_${arch}
	exe=localstorm
	[[ $os == windows ]] && exe=localstorm.exe
	log "$target: building $base"
	mkdir -p "$stage/$base"
	build_localstorm "$stage/$base/$exe" "$os" "$arch"
	cp README.md "$stage/$base/README.md"
	# Modes and times come from here, not from the umask or the clock.
	chmod 0755 "$stage/$base" "$stage/$base/$exe"
	chmod 0644 "$stage/$base/README.md"
	touch -d "@$SOURCE_DATE_EPOCH" "$stage/$base" "$stage/$base"/*
	if [[ $os == windows ]]; then
		# zip stores entries in the order given, times in local time (TZ is
		# UTC) and, without -X, owner ids; -D: no separate directory entries.
		(cd "$stage" && find "$base" -type f | sort | zip -q -X -D -@ "$dist/$base.zip")
	else
		tar -C "$stage" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
			--format=gnu -cf - "$base" | gzip -n -9 >"$dist/$base.tar.gz"
	fi
done

(cd "$dist" && find . -maxdepth 1 -type f -name 'localstorm_*' -printf '%f\n' | sort | xargs sha256sum >SHA256SUMS)
log "wrote $DIST/ ($VERSION, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH):"
cat "$dist/SHA256SUMS" >&2

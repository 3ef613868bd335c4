# Shared by release.sh and build-image.sh: how a release binary of localstorm
# is built. Sourced, from the repository's root.

# VERSION is stamped into the binary (internal/version); a tag when HEAD has
# one, else the commit, "-dirty" when the work tree has changes.
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}

# build_localstorm OUT GOOS GOARCH builds a static, reproducible localstorm:
# the same source, toolchain and VERSION give the same bytes (no cgo, no
# absolute paths, no VCS stamp, no build id; -s -w drop the symbol tables).
build_localstorm() {
	CGO_ENABLED=0 GOOS=$2 GOARCH=$3 ${GO:-go} build -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= -X github.com/localstorm/localstorm/internal/version.stamped=$VERSION" \
		-o "$1" ./cmd/localstorm
}

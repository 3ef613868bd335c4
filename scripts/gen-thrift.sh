#!/usr/bin/env bash
# Regenerates daemons/nimbusthrift/storm (Go) from daemons/nimbusthrift/storm.thrift
# with Debian's thrift-compiler (apt-get install thrift-compiler). The Go
# library in go.mod (github.com/apache/thrift) must be the compiler's version:
# the generated code calls the library's API of that release.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(go list -m -f '{{.Version}}' github.com/apache/thrift)
have=$(thrift --version | awk '{print "v"$3}')
if [ "$want" != "$have" ]; then
  echo "gen-thrift: thrift-compiler is $have but go.mod has github.com/apache/thrift $want; use matching versions" >&2
  exit 1
fi
dir=daemons/nimbusthrift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
thrift -gen go:package_prefix=github.com/localstorm/localstorm/$dir/,skip_remote -out "$out" "$dir/storm.thrift"
rm -rf "$dir/storm"
mv "$out/storm" "$dir/storm"
gofmt -w "$dir/storm"

// Package version holds localstorm's one version string: the CLI prints it,
// nimbus reports it as stormVersion and each supervisor writes it into its
// heartbeat.
//
// A release build stamps it with
//
//	-ldflags '-X github.com/localstorm/localstorm/internal/version.stamped=v1.2.3'
//
// (scripts/release.sh does). Without a stamp, the version is the module's as
// the Go toolchain recorded it in the binary's build info: `go install
// github.com/localstorm/localstorm/cmd/localstorm@v1.2.3` gives "v1.2.3", a
// build in a git checkout gives a pseudo-version ("v0.0.0-2026...-abcdef+dirty").
package version

import "runtime/debug"

// stamped is set at link time; empty when the build stamped nothing.
var stamped string

// Unknown is the version of a build that carries neither a stamp nor a
// module version (for example `go build -buildvcs=false` in a checkout).
const Unknown = "devel"

// String returns localstorm's version.
func String() string {
	info, ok := debug.ReadBuildInfo()
	return resolve(stamped, info, ok)
}

// resolve picks the version: the link-time stamp first, then the main
// module's version from the build info; "(devel)" is what the toolchain
// records when it knows none.
func resolve(stamp string, info *debug.BuildInfo, ok bool) string {
	if stamp != "" {
		return stamp
	}
	if ok && info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return Unknown
}

// Package scaletest holds the scale test of issue 18 (64 supervisors and 50
// topologies of 2 workers come up and run), in a package of its own so that
// `go test ./...` runs it in parallel with the other packages. It has no
// code besides its test.
package scaletest

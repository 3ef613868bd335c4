// Package fiftytests holds 50 CompleteTopology tests of word count, each on
// its own cluster with 2 workers (real subprocesses), for testkit's benchmark
// of issue 6's target: 50 such tests in one package, `go test` with default
// parallelism, in under 30 s. It has no code of its own.
package fiftytests

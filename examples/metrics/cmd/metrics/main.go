// Command metrics is the metrics example as a topology binary.
package main

import (
	"github.com/localstorm/localstorm/examples/metrics"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("metrics", metrics.Builder()) }

// Command exclamation is Storm's ExclamationTopology as a topology binary.
package main

import (
	"github.com/localstorm/localstorm/examples/exclamation"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("exclamation", exclamation.Builder()) }

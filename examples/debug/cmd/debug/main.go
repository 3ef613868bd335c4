// Command debug is the debug example as a topology binary.
package main

import (
	"github.com/localstorm/localstorm/examples/debug"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("debug", debug.Builder()) }

// Command reliable is the at-least-once example as a topology binary: 10% of
// the tuples fail at random and are replayed until acked.
package main

import (
	"github.com/localstorm/localstorm/examples/reliable"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("reliable", reliable.Builder(0, 0.1)) }

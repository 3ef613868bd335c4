// Command persistentsum is the moving sum with a persistent window as a
// topology binary (see movingaverage.PersistentBuilder).
package main

import (
	"github.com/localstorm/localstorm/examples/movingaverage"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("persistentsum", movingaverage.PersistentBuilder()) }

// Command multilang is the Go + Python topology as a topology binary; the
// Python scripts travel inside the binary.
package main

import (
	"github.com/localstorm/localstorm/examples/multilang"
	"github.com/localstorm/localstorm/topology/run"
	// Shell bolts need the multilang runtime linked in.
	_ "github.com/localstorm/localstorm/topology/shell"
)

func main() { run.MainWithResources("multilang", multilang.Builder(), multilang.Resources()) }

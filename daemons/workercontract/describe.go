package workercontract

import "github.com/localstorm/localstorm/topology"

// DescribeCommand is the subcommand of a topology binary that prints its
// Description as JSON; submit runs it to read the binary's topology.
const DescribeCommand = "describe"

// Description is what a topology binary's `describe` prints.
type Description struct {
	Name       string               `json:"name"`
	Definition *topology.Definition `json:"definition"`
}

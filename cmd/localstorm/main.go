// Command localstorm boots and drives a local Apache Storm cluster: `localstorm
// up` runs ZooKeeper, nimbus and supervisors with real worker processes in one
// command; the other commands submit and observe topologies.
package main

import (
	"context"

	"github.com/localstorm/localstorm/internal/cli"
)

func main() { program.Main() }

// Run runs the localstorm command line args; tests call it in process.
func Run(ctx context.Context, s cli.Streams, args []string) error {
	return program.Run(ctx, s, args)
}

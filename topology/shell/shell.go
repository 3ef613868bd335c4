// Package shell runs spouts and bolts written in any language as
// subprocesses speaking Apache Storm's multilang protocol
// (docs/Multilang-protocol.md): JSON messages each followed by a line "end"
// on the subprocess's stdin and stdout. Storm's own storm.py, storm.js and
// storm.rb components run unchanged.
//
// Importing the package makes the topology package able to run shell
// components declared with Builder.SetShellSpout and SetShellBolt.
package shell

import (
	"github.com/localstorm/localstorm/topology"
)

func init() {
	topology.RegisterShell(topology.ShellFactory{
		Spout: func(command []string, outputs map[string]topology.StreamDef) topology.Spout {
			return NewSpout(command, outputs)
		},
		Bolt: func(command []string, outputs map[string]topology.StreamDef) topology.Bolt {
			return NewBolt(command, outputs)
		},
	})
}

package shell

import (
	"errors"
	"fmt"

	"github.com/localstorm/localstorm/topology"
)

// updateMetric handles a subprocess's "metrics" command as Storm's ShellBolt
// and ShellSpout do: the host component registered a ShellMetric under the
// name (Context.RegisterMetric, in Open or Prepare) and the params update it.
// An empty name, a name never registered or a metric that is not a
// ShellMetric is an error that kills the component, with Storm's messages.
func updateMetric(ctx *topology.Context, msg shellMsg) error {
	if msg.Name == "" {
		return errors.New("Receive Metrics name is empty") //nolint:staticcheck // Storm's message
	}
	m := ctx.RegisteredMetric(msg.Name)
	if m == nil {
		return fmt.Errorf("Could not find metric by name[%s] ", msg.Name) //nolint:staticcheck // Storm's message
	}
	sm, ok := m.(topology.ShellMetric)
	if !ok {
		return fmt.Errorf("Metric[%s] is not IShellMetric, can not call by RPC", msg.Name) //nolint:staticcheck // Storm's message
	}
	if err := sm.UpdateMetricFromRPC(msg.Params); err != nil {
		return fmt.Errorf("update metric %q: %w", msg.Name, err)
	}
	return nil
}

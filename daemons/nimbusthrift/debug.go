package nimbusthrift

import (
	"context"
	"errors"
	"fmt"
)

// Debugger is the part of nimbus's Service behind Storm's debug method
// (*nimbus.Nimbus satisfies it).
type Debugger interface {
	Debug(ctx context.Context, id, component string, enable bool, samplingPct float64) error
}

// Debug is debug: enable or disable the event logger's sampling of the
// tuples a component emits (component "" = the whole topology), with
// samplingPercentage bounded to [0, 100] by nimbus. A name not alive is
// NotAliveException; a component the topology lacks is an error naming it
// (Storm stores any key; localstorm says what is wrong).
func (h *Handler) Debug(ctx context.Context, name, component string, enable bool, samplingPercentage float64) error {
	d, ok := h.b.(Debugger)
	if !ok {
		return errors.New("debug: this nimbus has no event logger")
	}
	return h.nameAction(ctx, name, func(id string) error {
		if component != "" {
			def, err := h.b.TopologyDefinition(ctx, id)
			if err != nil {
				return err
			}
			if def.Spouts[component] == nil && def.Bolts[component] == nil {
				return fmt.Errorf("debug %s: topology %q has no component %q", name, name, component)
			}
		}
		return d.Debug(ctx, id, component, enable, samplingPercentage)
	})
}

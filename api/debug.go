package api

import (
	"context"
	"net/url"
	"strconv"
)

// Debug enables or disables the event logger's sampling of the tuples a
// component emits (component "" = every component of the topology), with
// samplingPct percent of them sampled when enabling: Storm UI's
// POST /api/v1/topology/:id[/component/:component]/debug/:action/:spct.
func (c *Client) Debug(ctx context.Context, id, component string, enable bool, samplingPct int) error {
	action := "disable"
	if enable {
		action = "enable"
	}
	path := topologyPath(id, "debug", action, strconv.Itoa(samplingPct))
	if component != "" {
		path = topologyPath(id, "component", url.PathEscape(component), "debug", action, strconv.Itoa(samplingPct))
	}
	return c.action(ctx, id, "debug/"+action, path, nil)
}

package api

import (
	"context"
	"net/url"
)

// ComponentPage returns GET /api/v1/topology/<id>/component/<component>,
// Storm UI's component page, over window ("" = all time); sys lists the
// system streams too.
func (c *Client) ComponentPage(ctx context.Context, id, component, window string, sys bool) (*ComponentPage, error) {
	q := url.Values{}
	if window != "" {
		q.Set("window", window)
	}
	if sys {
		q.Set("sys", "1")
	}
	path := topologyPath(id, "component", url.PathEscape(component))
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var page ComponentPage
	if err := c.get(ctx, "component "+component+" of "+id, path, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

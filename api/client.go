package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/localstorm/localstorm/topology"
)

// maxErrorBody bounds how much of an error body the client reads.
const maxErrorBody = 64 << 10

// Client talks to a nimbus API. The zero value is not usable; use NewClient.
type Client struct {
	base string
	// HTTP is the client used for every request; replace it to set timeouts or
	// a transport. Contexts bound each call.
	HTTP *http.Client
}

// NewClient returns a client for the API at baseURL, e.g. "http://127.0.0.1:PORT".
func NewClient(baseURL string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), HTTP: http.DefaultClient}
}

// BaseURL returns the API's base URL.
func (c *Client) BaseURL() string { return c.base }

// do sends a request and decodes a JSON reply into out (when non-nil). Error
// replies become *Error.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, header http.Header, out any) error {
	resp, err := c.send(ctx, method, path, body, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode reply: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns a successful response; the caller closes its body.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	apiErr := &Error{StatusCode: resp.StatusCode, Kind: kindOf(resp.StatusCode)}
	var reply ErrorReply
	if json.Unmarshal(raw, &reply) == nil && (reply.ErrorMessage != "" || reply.Error != "") {
		apiErr.Message = reply.ErrorMessage
		if apiErr.Message == "" {
			apiErr.Message = reply.Error
		}
	} else {
		apiErr.Message = strings.TrimSpace(string(raw))
	}
	return nil, fmt.Errorf("%s %s: %w", method, path, apiErr)
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {ContentTypeJSON}} }

func jsonBody(v any) (io.Reader, http.Header, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, nil, err
	}
	return bytes.NewReader(b), jsonHeader(), nil
}

// Upload streams code to nimbus's inbox and returns its upload id. sha256Hex is
// the hex SHA-256 of the whole stream; nimbus rejects the upload when it differs.
func (c *Client) Upload(ctx context.Context, r io.Reader, sha256Hex string) (string, error) {
	h := http.Header{HeaderChecksum: {sha256Hex}, "Content-Type": {ContentTypeUpload}}
	var reply UploadReply
	if err := c.do(ctx, http.MethodPost, PathUploads, r, h, &reply); err != nil {
		return "", fmt.Errorf("upload code: %w", err)
	}
	return reply.UploadID, nil
}

// Submit submits a topology whose code was uploaded and returns its id.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (string, error) {
	reply, err := c.SubmitWithReply(ctx, req)
	if err != nil {
		return "", err
	}
	return reply.TopologyID, nil
}

// SubmitWithReply is Submit with nimbus's whole answer (the keys it
// accepted but does not use among them).
func (c *Client) SubmitWithReply(ctx context.Context, req SubmitRequest) (*SubmitReply, error) {
	body, h, err := jsonBody(req)
	if err != nil {
		return nil, fmt.Errorf("submit %q: encode request: %w", req.Name, err)
	}
	var reply SubmitReply
	if err := c.do(ctx, http.MethodPost, PathTopologies, body, h, &reply); err != nil {
		return nil, fmt.Errorf("submit %q: %w", req.Name, err)
	}
	return &reply, nil
}

func topologyPath(id string, rest ...string) string {
	p := PathTopology + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func (c *Client) action(ctx context.Context, id, op string, path string, body any) error {
	// Bodiless actions are JSON too: nimbus refuses a POST of any other type.
	var r io.Reader
	h := jsonHeader()
	if body != nil {
		var err error
		if r, h, err = jsonBody(body); err != nil {
			return fmt.Errorf("%s %s: encode request: %w", op, id, err)
		}
	}
	var reply ActionReply
	if err := c.do(ctx, http.MethodPost, path, r, h, &reply); err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	return nil
}

// Kill kills the topology after waitSecs seconds; -1 means the topology's
// topology.message.timeout.secs, as in Storm.
func (c *Client) Kill(ctx context.Context, id string, waitSecs int) error {
	path := topologyPath(id, "kill")
	if waitSecs >= 0 {
		path = topologyPath(id, "kill", strconv.Itoa(waitSecs))
	}
	return c.action(ctx, id, "kill", path, nil)
}

// Activate activates the topology's spouts.
func (c *Client) Activate(ctx context.Context, id string) error {
	return c.action(ctx, id, "activate", topologyPath(id, "activate"), nil)
}

// Deactivate deactivates the topology's spouts.
func (c *Client) Deactivate(ctx context.Context, id string) error {
	return c.action(ctx, id, "deactivate", topologyPath(id, "deactivate"), nil)
}

// Rebalance redistributes the topology after waitSecs (-1: its message
// timeout), with numWorkers workers (0: unchanged) and the given component
// parallelism (nil: unchanged).
func (c *Client) Rebalance(ctx context.Context, id string, waitSecs, numWorkers int, executors map[string]int) error {
	return c.RebalanceWith(ctx, id, waitSecs, RebalanceOptions{NumWorkers: numWorkers, Executors: executors})
}

// RebalanceWith is Rebalance with every option, including the topology
// configuration keys to change (o.TopologyConf).
func (c *Client) RebalanceWith(ctx context.Context, id string, waitSecs int, o RebalanceOptions) error {
	path := topologyPath(id, "rebalance")
	if waitSecs >= 0 {
		path = topologyPath(id, "rebalance", strconv.Itoa(waitSecs))
	}
	return c.action(ctx, id, "rebalance", path, RebalanceRequest{o})
}

func (c *Client) get(ctx context.Context, what, path string, out any) error {
	if err := c.do(ctx, http.MethodGet, path, nil, nil, out); err != nil {
		return fmt.Errorf("get %s: %w", what, err)
	}
	return nil
}

// ClusterSummary returns GET /api/v1/cluster/summary.
func (c *Client) ClusterSummary(ctx context.Context) (*ClusterSummary, error) {
	var s ClusterSummary
	return &s, c.get(ctx, "cluster summary", PathClusterSummary, &s)
}

// SupervisorSummary returns GET /api/v1/supervisor/summary.
func (c *Client) SupervisorSummary(ctx context.Context) (*SupervisorSummary, error) {
	var s SupervisorSummary
	return &s, c.get(ctx, "supervisor summary", PathSupervisorSummary, &s)
}

// NimbusSummary returns GET /api/v1/nimbus/summary.
func (c *Client) NimbusSummary(ctx context.Context) (*NimbusSummary, error) {
	var s NimbusSummary
	return &s, c.get(ctx, "nimbus summary", PathNimbusSummary, &s)
}

// TopologySummary returns GET /api/v1/topology/summary.
func (c *Client) TopologySummary(ctx context.Context) (*TopologySummary, error) {
	var s TopologySummary
	return &s, c.get(ctx, "topology summary", PathTopologySummary, &s)
}

// Topology returns GET /api/v1/topology/<id> over the all-time window.
func (c *Client) Topology(ctx context.Context, id string) (*TopologyInfo, error) {
	return c.TopologyWindow(ctx, id, "")
}

// TopologyWindow returns GET /api/v1/topology/<id>?window=W; component stats
// cover that window ("" = all time).
func (c *Client) TopologyWindow(ctx context.Context, id, window string) (*TopologyInfo, error) {
	return c.TopologyView(ctx, id, window, false)
}

// TopologyView returns GET /api/v1/topology/<id>?window=W&sys=S: with sys,
// the system components (__acker, __system) are listed among the spouts,
// bolts and workers' tasks too, as Storm UI's "show system stats" does.
func (c *Client) TopologyView(ctx context.Context, id, window string, sys bool) (*TopologyInfo, error) {
	q := url.Values{}
	if window != "" {
		q.Set("window", window)
	}
	if sys {
		q.Set("sys", "1")
	}
	path := topologyPath(id)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var info TopologyInfo
	if err := c.get(ctx, "topology "+id, path, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// TopologyIDByName returns the id of the live topology named name; the error
// wraps ErrNotFound when there is none.
func (c *Client) TopologyIDByName(ctx context.Context, name string) (string, error) {
	s, err := c.TopologySummary(ctx)
	if err != nil {
		return "", err
	}
	for _, t := range s.Topologies {
		if t.Name == name {
			return t.ID, nil
		}
	}
	return "", fmt.Errorf("topology %q: %w: no live topology has that name", name, ErrNotFound)
}

// TopologyConf returns the topology's stored configuration (stormconf.json).
func (c *Client) TopologyConf(ctx context.Context, id string) (map[string]any, error) {
	return c.getConf(ctx, "configuration of "+id, topologyPath(id, "conf"))
}

// TopologyDefinition returns the topology's definition (stormtopology.json).
func (c *Client) TopologyDefinition(ctx context.Context, id string) (*topology.Definition, error) {
	var def topology.Definition
	if err := c.get(ctx, "definition of "+id, topologyPath(id, "definition"), &def); err != nil {
		return nil, err
	}
	return &def, nil
}

// ComponentErrors returns a component's recent errors, newest first.
func (c *Client) ComponentErrors(ctx context.Context, id, component string) (*ComponentErrors, error) {
	var errs ComponentErrors
	if err := c.get(ctx, "errors of "+id+"/"+component, topologyPath(id, "component", url.PathEscape(component), "errors"), &errs); err != nil {
		return nil, err
	}
	return &errs, nil
}

// ClusterConfiguration returns nimbus's configuration.
func (c *Client) ClusterConfiguration(ctx context.Context) (map[string]any, error) {
	return c.getConf(ctx, "cluster configuration", PathClusterConfiguration)
}

func (c *Client) getConf(ctx context.Context, what, path string) (map[string]any, error) {
	var conf map[string]any
	if err := c.get(ctx, what, path, &conf); err != nil {
		return nil, err
	}
	return conf, nil
}

// DownloadCode writes the topology's code (stormcode, or stormcode.tgz for
// Flux), stormconf.json and stormtopology.json into destDir, creating it. Each
// file is written to a temporary file in destDir and renamed into place, so a
// reader never sees a partial file; the code's checksum is verified when nimbus
// sends one.
func (c *Client) DownloadCode(ctx context.Context, topologyID, destDir string) error {
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return fmt.Errorf("download code of %s: %w", topologyID, err)
	}
	for _, file := range []string{CodeFileConf, CodeFileDefinition, CodeFileBinary} {
		if err := c.downloadFile(ctx, topologyID, file, destDir); err != nil {
			return fmt.Errorf("download code of %s: %w", topologyID, err)
		}
	}
	return nil
}

func (c *Client) downloadFile(ctx context.Context, id, file, destDir string) (err error) {
	path := topologyPath(id, "code", file)
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	name := file
	if file == CodeFileBinary {
		if n := resp.Header.Get(HeaderCodeFile); n == CodeFileArchive {
			name = n
		}
	}
	tmp, err := os.CreateTemp(destDir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sum := sha256.New()
	if _, err = io.Copy(io.MultiWriter(tmp, sum), resp.Body); err != nil {
		return fmt.Errorf("%s: read: %w", name, err)
	}
	if want := resp.Header.Get(HeaderChecksum); want != "" {
		if got := hex.EncodeToString(sum.Sum(nil)); !strings.EqualFold(got, want) {
			return fmt.Errorf("%s: checksum %s, nimbus announced %s", name, got, want)
		}
	}
	mode := os.FileMode(0o644)
	if name == CodeFileBinary {
		mode = 0o755
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(destDir, name)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// IsNotFound reports whether err says that a topology or upload does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

package nimbus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/timeline"
	"github.com/localstorm/localstorm/topology"
)

// maxNameLen bounds topology names: the id <name>-<counter>-<secs> names a
// directory, and file names are at most 255 bytes; 200 leaves room for the
// suffix.
const maxNameLen = 200

// disallowedNameChars are the characters Storm rejects in topology names
// (Nimbus.validateTopologyName: they break paths and ZooKeeper node names).
const disallowedNameChars = `/.:\`

// ValidateTopologyName checks a topology name as Storm does.
func ValidateTopologyName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("%w: topology name is empty: give the topology a name", api.ErrInvalid)
	case strings.ContainsAny(name, disallowedNameChars):
		return fmt.Errorf("%w: topology name %q contains one of %s, which Storm does not allow", api.ErrInvalid, name, strings.Join(strings.Split(disallowedNameChars, ""), " "))
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: topology name is %d bytes long, at most %d are allowed", api.ErrInvalid, len(name), maxNameLen)
	case strings.ContainsFunc(name, zkRefuses):
		r := []rune(name)[slices.IndexFunc([]rune(name), zkRefuses)]
		return fmt.Errorf("%w: topology name %q contains %U, which ZooKeeper refuses in a node name: %s", api.ErrInvalid, name, r, zkAllowedChars)
	}
	return nil
}

// zkAllowedChars says which characters zkRefuses lets through.
const zkAllowedChars = "use characters of Unicode's Basic Multilingual Plane (up to U+FFFF) except control characters (U+0000-U+001F, U+007F-U+009F), U+D800-U+F8FF and U+FFF0-U+FFFF; emoji and other characters above U+FFFF are refused"

// zkRefuses reports whether ZooKeeper refuses r in a node name (Java's
// PathUtils.validatePath, which checks UTF-16 code units: a character above
// U+FFFF is a surrogate pair, in the refused range U+D800-U+F8FF). Invalid
// UTF-8 decodes to U+FFFD, refused too.
func zkRefuses(r rune) bool {
	return r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0xd800 && r <= 0xf8ff || r >= 0xfff0
}

// maxTasks bounds the tasks of one topology: task ids are materialised per
// task by nimbus and workers, so an absurd count would exhaust memory.
const maxTasks = 1 << 16

func checkTaskCount(def *topology.Definition) error {
	total := 0
	for _, comps := range []map[string]*topology.ComponentDef{def.Spouts, def.Bolts} {
		for id, c := range comps {
			n := max(c.NumTasks, c.Parallelism)
			if n > maxTasks {
				return fmt.Errorf("%w: component %q: %d tasks, at most %d are allowed", api.ErrInvalid, id, n, maxTasks)
			}
			total += n
		}
	}
	if total > maxTasks {
		return fmt.Errorf("%w: topology has %d tasks, at most %d are allowed", api.ErrInvalid, total, maxTasks)
	}
	return nil
}

// validateTopologyConf checks the merged topology configuration with the
// project's rules (config.Validate): topology.workers at least 1, a positive
// topology.message.timeout.secs, acker count and max spout pending in range...
func validateTopologyConf(c config.Conf) error {
	return config.Validate(c)
}

// Submit validates and starts a topology whose code was uploaded, and returns
// its id. Every validation error comes before anything is written: an empty
// or invalid name, a name already alive, an invalid definition, an invalid
// configuration, missing code or a wrong checksum. Then, as Storm: the code
// moves to stormdist/<id>, heartbeats are set up, the storm base is written
// (ACTIVE, or INACTIVE on request) and executors are assigned at once.
func (n *Nimbus) Submit(ctx context.Context, req api.SubmitRequest) (string, error) {
	id, err := n.submit(req)
	if err != nil {
		return "", fmt.Errorf("submit %q: %w", req.Name, err)
	}
	return id, nil
}

// submitKind reads the request's initial status and the kind of its code.
func submitKind(req api.SubmitRequest) (cluster.TopologyStatus, string, error) {
	status := cluster.StatusActive
	switch cluster.TopologyStatus(req.InitialStatus) {
	case "", cluster.StatusActive:
	case cluster.StatusInactive:
		status = cluster.StatusInactive
	default:
		return "", "", fmt.Errorf("%w: initial status %q: use %s or %s", api.ErrInvalid, req.InitialStatus, cluster.StatusActive, cluster.StatusInactive)
	}
	switch req.Kind {
	case api.KindBinary, "":
		return status, api.CodeFileBinary, nil
	case api.KindFlux:
		return status, api.CodeFileArchive, nil
	}
	return "", "", fmt.Errorf("%w: code kind %q: use %q or %q", api.ErrInvalid, req.Kind, api.KindBinary, api.KindFlux)
}

// checkConfWithDefinition checks a topology's configuration against its
// definition, at submit and when a rebalance changes the configuration:
// what the executors refuse (checkExecutors) and metrics consumers the
// worker cannot make, refused as Storm's submit fails on a class it cannot
// load.
func checkConfWithDefinition(def *topology.Definition, conf config.Conf) error {
	if err := checkExecutors(def, conf); err != nil {
		return err
	}
	if err := topology.ValidateMetricsConsumers(def, conf); err != nil {
		return fmt.Errorf("%w: invalid topology configuration: %w", api.ErrInvalid, err)
	}
	return nil
}

// checkExecutors refuses at submit what Storm's executors refuse in the
// worker: a window longer than the message timeout (WindowedBoltExecutor,
// with Storm's reason) and an unknown state provider or a bad configuration
// of it (StateFactory).
func checkExecutors(def *topology.Definition, conf map[string]any) error {
	if err := topology.ValidateWindows(def, conf); err != nil {
		return fmt.Errorf("%w: invalid topology: %w", api.ErrInvalid, err)
	}
	if err := topology.ValidateState(def, conf); err != nil {
		return fmt.Errorf("%w: invalid topology: %w", api.ErrInvalid, err)
	}
	return nil
}

func (n *Nimbus) submit(req api.SubmitRequest) (string, error) {
	if n.closing.Load() {
		return "", api.ErrShutdown
	}
	status, codeFile, def, conf, err := n.checkSubmission(req)
	if err != nil {
		return "", err
	}
	numWorkers, _ := conf.Int(config.TopologyWorkers)

	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.checkNameFree(req.Name); err != nil {
		return "", err
	}
	uploadPath, err := n.checkUpload(req.UploadID, req.SHA256)
	if err != nil {
		return "", err
	}

	// Storm stores the acker count explicitly so that workers and nimbus
	// agree on task ids whatever the defaults are where they run.
	numAckers := topology.NumAckers(conf, numWorkers)
	conf[config.TopologyAckerExecutors] = numAckers
	conf[config.TopologyName] = req.Name
	launch := n.nowSecs()
	var id string
	for {
		n.counter++
		id = fmt.Sprintf("%s-%d-%d", req.Name, n.counter, launch)
		if _, err := os.Stat(filepath.Join(n.distDir, id)); os.IsNotExist(err) {
			break
		}
	}
	conf["storm.id"] = id
	confSum, err := n.writeStormdist(id, uploadPath, codeFile, conf, def)
	if err != nil {
		return "", fmt.Errorf("store code of %s: %w", id, err)
	}
	n.infoMu.Lock()
	n.codes[id] = &topologyCode{Definition: def, Conf: conf, ConfSHA256: confSum, CodeFile: codeFile, SHA256: strings.ToLower(req.SHA256)}
	n.infoMu.Unlock()

	base := &cluster.StormBase{
		V: cluster.SchemaVersion, Name: req.Name, Status: status, NumWorkers: numWorkers,
		ComponentExecutors: componentExecutors(def, numAckers), LaunchTimeSecs: launch,
	}
	if err := n.activateStorm(id, base, conf); err != nil {
		return "", err
	}
	n.log.Info("topology submitted", "id", id, "status", status, "workers", numWorkers, "ackers", numAckers)
	for _, key := range NotUsedKeys(req) {
		n.log.Warn(config.NotUsedMessage(key), "id", id)
	}
	n.record(timeline.TopologySubmitted, id, "", fmt.Sprintf("topology %s submitted (%s, %d workers)", id, status, numWorkers))
	if err := n.mkAssignments(""); err != nil {
		// The topology exists; the next monitor round assigns it.
		n.log.Warn("assign after submit failed", "id", id, "err", err)
	}
	return id, nil
}

// checkSubmission validates a submission before nimbus takes its lock: the
// name, the kind of code, the definition and the merged configuration
// (tasks normalized as Storm's normalize-topology does). It returns the
// initial status, the code file's name, the normalized definition and the
// configuration the topology will run with.
func (n *Nimbus) checkSubmission(req api.SubmitRequest) (status cluster.TopologyStatus, codeFile string, def *topology.Definition, conf config.Conf, err error) {
	if err := ValidateTopologyName(req.Name); err != nil {
		return "", "", nil, nil, err
	}
	status, codeFile, err = submitKind(req)
	if err != nil {
		return "", "", nil, nil, err
	}
	def = req.Definition
	if def == nil {
		return "", "", nil, nil, fmt.Errorf("%w: no topology definition in the request", api.ErrInvalid)
	}
	if err := def.Validate(); err != nil {
		return "", "", nil, nil, fmt.Errorf("%w: invalid topology: %w", api.ErrInvalid, err)
	}
	conf = withDefaults(n.conf).Merge(def.Conf).Merge(req.Conf)
	if err := validateTopologyConf(conf); err != nil {
		return "", "", nil, nil, fmt.Errorf("%w: invalid topology configuration: %w", api.ErrInvalid, err)
	}
	def = normalizeTasks(def, conf)
	if err := checkTaskCount(def); err != nil {
		return "", "", nil, nil, err
	}
	if err := checkConfWithDefinition(def, conf); err != nil {
		return "", "", nil, nil, err
	}
	// With ZooKeeper authentication the topology gets its own digest
	// identity (Storm's submitter), its workers authenticate with it, and
	// its nodes carry Storm's topology ACLs.
	if err := cluster.PrepareTopologyAuth(n.conf, conf); err != nil {
		return "", "", nil, nil, fmt.Errorf("%w: invalid topology configuration: %w", api.ErrInvalid, err)
	}
	return status, codeFile, def, conf, nil
}

// componentExecutors is the storm base's executor count per component,
// the ackers included.
func componentExecutors(def *topology.Definition, numAckers int) map[string]int {
	executors := map[string]int{}
	for _, comps := range []map[string]*topology.ComponentDef{def.Spouts, def.Bolts} {
		for cid, c := range comps {
			executors[cid] = c.Parallelism
		}
	}
	if numAckers > 0 {
		executors[topology.AckerComponent] = numAckers
	}
	return executors
}

// activateStorm creates the topology's heartbeat and error roots and its
// storm base, with Storm's topology ACLs; on a failure it undoes what it
// did and forgets the stored code.
func (n *Nimbus) activateStorm(id string, base *cluster.StormBase, conf config.Conf) error {
	readWrite := cluster.TopologyACL(conf, cluster.PermAll)
	if err := n.state.SetupHeartbeats(id, readWrite...); err != nil {
		n.forgetCode(id)
		return fmt.Errorf("set up heartbeats of %s: %w", id, err)
	}
	if err := n.state.SetupErrors(id, readWrite...); err != nil {
		n.forgetCode(id)
		_ = n.state.TeardownHeartbeats(id)
		return fmt.Errorf("set up errors of %s: %w", id, err)
	}
	if err := n.state.ActivateStorm(id, base, cluster.TopologyACL(conf, cluster.PermRead)...); err != nil {
		n.forgetCode(id)
		_ = n.state.TeardownHeartbeats(id)
		_ = n.state.TeardownTopologyErrors(id)
		return fmt.Errorf("activate %s: %w", id, err)
	}
	return nil
}

// NotUsedKeys are the keys that the submission sets (in its topology's,
// its components' or its own configuration) and that localstorm accepts
// but does not use (config.NotUsed): nimbus logs them at submit and the
// API's answer names them.
func NotUsedKeys(req api.SubmitRequest) []string {
	var confs []map[string]any
	if def := req.Definition; def != nil {
		confs = append(confs, def.Conf)
		for _, comps := range []map[string]*topology.ComponentDef{def.Spouts, def.Bolts} {
			for _, c := range comps {
				if c != nil {
					confs = append(confs, c.Conf)
				}
			}
		}
	}
	return config.NotUsed(append(confs, req.Conf)...)
}

// forgetCode removes a topology's stormdist directory and cached code.
func (n *Nimbus) forgetCode(id string) {
	n.infoMu.Lock()
	delete(n.codes, id)
	n.infoMu.Unlock()
	if validTopologyID(id) {
		_ = os.RemoveAll(filepath.Join(n.distDir, id))
	}
}

// checkNameFree fails when a live topology has the name (Storm's
// check-storm-active!). Called under mu.
func (n *Nimbus) checkNameFree(name string) error {
	ids, err := n.state.ActiveStorms()
	if err != nil {
		return fmt.Errorf("list topologies: %w", err)
	}
	for _, id := range ids {
		base, err := n.state.StormBase(id, nil)
		if err != nil {
			return fmt.Errorf("read topology %s: %w", id, err)
		}
		if base != nil && base.Name == name {
			return fmt.Errorf("%w: topology %q is already alive as %s: kill it first or choose another name", api.ErrConflict, name, id)
		}
	}
	return nil
}

// executorsOf computes the executors of a topology from its definition, its
// conf (the explicit acker count) and the parallelism in its storm base
// (Storm's compute-executors): each component's tasks split into as many
// contiguous ranges as it has executors.
func executorsOf(code *topologyCode, base *cluster.StormBase) []cluster.ExecutorInfo {
	numAckers := topology.NumAckers(code.Conf, base.NumWorkers)
	tasks := code.Definition.ComponentTasks(numAckers)
	var out []cluster.ExecutorInfo
	for comp, parallelism := range base.ComponentExecutors {
		for _, r := range topology.Executors(tasks[comp], parallelism) {
			out = append(out, cluster.ExecutorInfo{Start: r[0], End: r[1]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return executorLess(out[i], out[j]) })
	return out
}

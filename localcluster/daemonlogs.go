package localcluster

import (
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/localstorm/localstorm/internal/daemonlog"
)

// The daemons' log files, as Storm's: nimbus.log and supervisor.log in
// storm.log.dir (default: the data dir's logs), written besides the
// cluster's logger, for nimbus's logviewer (daemonlog) and Storm UI's log
// links.

// daemonLogDir is the daemons' log dir.
func (c *Cluster) daemonLogDir() string {
	return daemonlog.Dir(c.conf, filepath.Join(c.dataDir, "logs"))
}

// openDaemonLogs opens nimbus.log and supervisor.log.
func (c *Cluster) openDaemonLogs() error {
	var err error
	if c.nimbusLog, err = daemonlog.Open(c.daemonLogDir(), daemonlog.NimbusFile); err != nil {
		return err
	}
	c.supervisorLog, err = daemonlog.Open(c.daemonLogDir(), daemonlog.SupervisorFile)
	return err
}

// daemonLogger is the logger of daemon who ("nimbus", "supervisor-N"): the
// cluster's, and its daemon log file.
func (c *Cluster) daemonLogger(who string) *slog.Logger {
	f := c.nimbusLog
	if strings.HasPrefix(who, "supervisor") {
		f = c.supervisorLog
	}
	return f.Tee(c.opts.Logger).With("daemon", who)
}

package nimbus

import (
	"fmt"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
)

// MaxUploadBytes is the key bounding the size of uploaded code (localstorm's
// own; Storm bounds its Thrift frames instead).
const MaxUploadBytes = "nimbus.max.upload.bytes"

// HistorySecs is the key of the live history's length in seconds
// (localstorm's own; 0 turns the history off). Nimbus samples every
// topology once a second and keeps this many samples (history.go).
const HistorySecs = "localstorm.nimbus.history.secs"

// defaultHistorySecs keeps 15 minutes; maxHistorySecs (a day) bounds what
// a configuration may ask for.
const defaultHistorySecs, maxHistorySecs = 900, 86400

// defaultMaxUploadBytes is 512 MiB.
const defaultMaxUploadBytes = 512 << 20

// settings are the nimbus keys read once at startup, already validated.
type settings struct {
	monitorFreq       time.Duration
	taskTimeout       time.Duration
	supervisorTimeout time.Duration
	taskLaunch        time.Duration
	inboxCleanupFreq  time.Duration
	inboxExpiration   time.Duration
	maxUploadBytes    int64
	// reassign is nimbus.reassign: the monitor round runs mk-assignments
	// (Storm's default true); false leaves assignments to submit and
	// rebalance.
	reassign bool
	// watchSupervisors is localstorm.nimbus.watch.supervisors: reassign as
	// soon as /supervisors changes, besides the monitor round.
	watchSupervisors bool
	// historySecs is HistorySecs: samples kept per figure.
	historySecs int
}

// withDefaults returns c over Storm's defaults (config.Defaults) and the
// defaults of localstorm's own nimbus keys.
func withDefaults(c config.Conf) config.Conf {
	out := config.Defaults()
	out[MaxUploadBytes] = defaultMaxUploadBytes
	for k, v := range c {
		out[k] = v
	}
	return out
}

// readSettings validates c (every key config.Validate knows, then the ones
// nimbus reads), naming every bad one.
func readSettings(c config.Conf) (settings, error) {
	r := config.NewReader(c)
	r.Validate()
	s := settings{
		monitorFreq:       r.PositiveSecs(config.NimbusMonitorFreqSecs),
		taskTimeout:       r.PositiveSecs(config.NimbusTaskTimeoutSecs),
		supervisorTimeout: r.PositiveSecs(config.NimbusSupervisorTimeoutSecs),
		taskLaunch:        r.Secs(config.NimbusTaskLaunchSecs),
		inboxCleanupFreq:  r.PositiveSecs(config.NimbusCleanupInboxFreqSecs),
		inboxExpiration:   r.PositiveSecs(config.NimbusInboxJarExpirationSecs),
		maxUploadBytes:    int64(r.PositiveInt(MaxUploadBytes)),
		reassign:          r.BoolOr(config.NimbusReassign, true),
		watchSupervisors:  r.BoolOr(config.LocalstormNimbusWatchSupervisors, true),
		historySecs:       r.IntOr(HistorySecs, defaultHistorySecs),
	}
	r.Expect(HistorySecs, s.historySecs >= 0 && s.historySecs <= maxHistorySecs, fmt.Sprintf("a number of seconds from 0 (no history) to %d", maxHistorySecs))
	return s, r.Err()
}

package nimbus

import (
	"errors"
	"fmt"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
)

// MaxUploadBytes is the key bounding the size of uploaded code (localstorm's
// own; Storm bounds its Thrift frames instead).
const MaxUploadBytes = "nimbus.max.upload.bytes"

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
	var s settings
	var errs []error
	if err := config.Validate(c); err != nil {
		errs = append(errs, err)
	}
	positive := func(key string, dst *time.Duration) {
		d, err := c.Secs(key)
		switch {
		case err != nil:
			errs = append(errs, err)
		case d <= 0:
			errs = append(errs, fmt.Errorf("config %s: must be more than 0 seconds, got %v", key, c[key]))
		default:
			*dst = d
		}
	}
	positive(config.NimbusMonitorFreqSecs, &s.monitorFreq)
	positive(config.NimbusTaskTimeoutSecs, &s.taskTimeout)
	positive(config.NimbusSupervisorTimeoutSecs, &s.supervisorTimeout)
	positive(config.NimbusCleanupInboxFreqSecs, &s.inboxCleanupFreq)
	positive(config.NimbusInboxJarExpirationSecs, &s.inboxExpiration)
	if d, err := c.Secs(config.NimbusTaskLaunchSecs); err != nil {
		errs = append(errs, err)
	} else {
		s.taskLaunch = d
	}
	if n, err := c.Int(MaxUploadBytes); err != nil {
		errs = append(errs, err)
	} else if n <= 0 {
		errs = append(errs, fmt.Errorf("config %s: must be a positive number of bytes, got %d", MaxUploadBytes, n))
	} else {
		s.maxUploadBytes = int64(n)
	}
	return s, errors.Join(errs...)
}

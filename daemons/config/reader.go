package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/localstorm/localstorm/internal/errlist"
)

// Reader reads a daemon's settings from a Conf and collects every problem
// instead of stopping at the first: a daemon reads all its keys, then asks
// Err once, and its user sees every bad key in one message. Each accessor
// returns the zero value for a bad key. The ...Or accessors return def
// when the key is unset or null (Storm's null means "use the default").
//
//	r := config.NewReader(conf)
//	s.monitor = r.PositiveSecs(config.NimbusMonitorFreqSecs)
//	s.maxPending = r.IntOr(config.TopologyMaxSpoutPending, 0)
//	if err := r.Err(); err != nil { ... }
type Reader struct {
	conf Conf
	errs *multierror.Error
	bad  map[string]bool // keys with a problem, each reported once
}

// NewReader returns a Reader of c.
func NewReader(c Conf) *Reader { return &Reader{conf: c} }

// Validate adds every problem Validate(c) finds to the reader's.
func (r *Reader) Validate() {
	if list := validate(r.conf); list != nil {
		for _, err := range list.Errors {
			r.fail(err.(*TypeError).Key, err)
		}
	}
}

// Err returns every problem found so far as one error, nil when none.
func (r *Reader) Err() error {
	if err := errlist.Err(r.errs); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	return nil
}

// fail records a problem, unless its key already has one (Validate and an
// accessor may both find the same bad value).
func (r *Reader) fail(key string, err error) {
	if r.bad[key] {
		return
	}
	if r.bad == nil {
		r.bad = map[string]bool{}
	}
	r.bad[key] = true
	r.errs = errlist.Append(r.errs, err)
}

// read returns get(key), recording its error.
func read[T any](r *Reader, key string, get func(string) (T, error)) T {
	v, err := get(key)
	if err != nil {
		r.fail(key, err)
	}
	return v
}

// readOr is read, or def when key is unset or null.
func readOr[T any](r *Reader, key string, def T, get func(string) (T, error)) T {
	if r.conf.IsNil(key) {
		return def
	}
	return read(r, key, get)
}

// check records that key's value is not what was expected unless ok, and
// returns v when ok, the zero value otherwise.
func check[T any](r *Reader, key string, v T, ok bool, expected string) T {
	if !ok {
		r.fail(key, &TypeError{Key: key, Value: r.conf[key], Expected: expected})
		var zero T
		return zero
	}
	return v
}

// Secs reads a non-negative number of seconds.
func (r *Reader) Secs(key string) time.Duration { return read(r, key, r.conf.Secs) }

// SecsOr reads a non-negative number of seconds, def when unset.
func (r *Reader) SecsOr(key string, def time.Duration) time.Duration {
	return readOr(r, key, def, r.conf.Secs)
}

// PositiveSecs reads a number of seconds greater than 0 (a period or a
// timeout, which 0 would make a busy loop or an instant failure).
func (r *Reader) PositiveSecs(key string) time.Duration {
	f, err := r.conf.Float(key)
	return check(r, key, time.Duration(f*float64(time.Second)), err == nil && f > 0, "a positive number of seconds")
}

// Millis reads a non-negative number of milliseconds.
func (r *Reader) Millis(key string) time.Duration { return read(r, key, r.conf.Millis) }

// MillisOr reads a non-negative number of milliseconds, def when unset.
func (r *Reader) MillisOr(key string, def time.Duration) time.Duration {
	return readOr(r, key, def, r.conf.Millis)
}

// PortOr reads a TCP port number, def when unset.
func (r *Reader) PortOr(key string, def int) int {
	if r.conf.IsNil(key) {
		return def
	}
	n, err := r.conf.Int(key)
	return check(r, key, n, err == nil && n >= 1 && n <= 65535, "a port number in 1..65535")
}

// Expect records that key's value is not what was expected unless ok: the
// check of a rule no accessor knows (a path's shape, a lower bound).
func (r *Reader) Expect(key string, ok bool, expected string) {
	check(r, key, ok, ok, expected)
}

// Int reads a whole number.
func (r *Reader) Int(key string) int { return read(r, key, r.conf.Int) }

// IntOr reads a whole number, def when unset.
func (r *Reader) IntOr(key string, def int) int { return readOr(r, key, def, r.conf.Int) }

// PositiveInt reads a whole number greater than 0.
func (r *Reader) PositiveInt(key string) int {
	n, err := r.conf.Int(key)
	return check(r, key, n, err == nil && n > 0, "a positive integer")
}

// FloatOr reads a number, def when unset.
func (r *Reader) FloatOr(key string, def float64) float64 {
	return readOr(r, key, def, r.conf.Float)
}

// BoolOr reads a boolean, def when unset.
func (r *Reader) BoolOr(key string, def bool) bool { return readOr(r, key, def, r.conf.Bool) }

// String reads a string.
func (r *Reader) String(key string) string { return read(r, key, r.conf.String) }

// StringOr reads a string, def when unset.
func (r *Reader) StringOr(key, def string) string { return readOr(r, key, def, r.conf.String) }

// Ints reads a list of whole numbers.
func (r *Reader) Ints(key string) []int { return read(r, key, r.conf.Ints) }

// Strings reads a list of strings.
func (r *Reader) Strings(key string) []string { return read(r, key, r.conf.Strings) }

// HostPorts reads a non-empty list of host names as "host:port" addresses:
// a host that names no port gets port (Storm's storm.zookeeper.servers
// with storm.zookeeper.port).
func (r *Reader) HostPorts(key string, port int) []string {
	hosts, err := r.conf.Strings(key)
	ok := err == nil && len(hosts) > 0
	for _, h := range hosts {
		ok = ok && strings.TrimSpace(h) != ""
	}
	if !check(r, key, ok, ok, "a non-empty list of non-empty host names") {
		return nil
	}
	out := make([]string, len(hosts))
	for i, h := range hosts {
		if !strings.Contains(h, ":") {
			h += ":" + strconv.Itoa(port)
		}
		out[i] = h
	}
	return out
}

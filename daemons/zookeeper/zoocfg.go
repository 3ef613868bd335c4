package zookeeper

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// ParseZooCfg reads a ZooKeeper zoo.cfg (a Java properties file) into Options,
// the way a standalone ZooKeeper 3.8 reads it:
//
//   - clientPort, clientPortAddress (default 127.0.0.1: localstorm binds loopback),
//     dataDir, tickTime (milliseconds) are required as ZooKeeper requires them,
//     except clientPortAddress;
//   - minSessionTimeout and maxSessionTimeout (milliseconds; -1 = default),
//     4lw.commands.whitelist (comma-separated, "*" for all), snapCount;
//   - ZooKeeper turns keys it does not know into "zookeeper."-prefixed system
//     properties, which is how extendedTypesEnabled,
//     DigestAuthenticationProvider.superDigest and forceSync (=no: leave flushing
//     to the OS) take effect; they are read here too.
//
// Keys that mean nothing to one embedded server (server.N, initLimit,
// syncLimit, dataLogDir, ...) and unknown keys are ignored, each with a
// warning. A malformed value is an error naming its line and key.
func ParseZooCfg(r io.Reader) (Options, []string, error) {
	props, err := readProperties(r)
	if err != nil {
		return Options{}, nil, fmt.Errorf("read zoo.cfg: %w", err)
	}
	var (
		opts           Options
		warnings       []string
		port           = -1
		host           = "127.0.0.1"
		haveHost       bool
		tickTimeWasSet bool
	)
	millis := func(p property) (time.Duration, error) {
		n, err := strconv.Atoi(p.value)
		if err != nil {
			return 0, p.errorf("want a whole number of milliseconds")
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	for _, p := range props {
		switch p.key {
		case "clientPort":
			n, err := strconv.Atoi(p.value)
			if err != nil || n < 0 || n > 65535 {
				return Options{}, nil, p.errorf("want a port number 0-65535")
			}
			port = n
		case "clientPortAddress":
			host, haveHost = p.value, true
		case "dataDir":
			opts.DataDir = p.value
		case "tickTime":
			d, err := millis(p)
			if err != nil {
				return Options{}, nil, err
			}
			if d <= 0 {
				return Options{}, nil, p.errorf("tickTime must be positive")
			}
			opts.TickTime, tickTimeWasSet = d, true
		case "minSessionTimeout", "maxSessionTimeout":
			d, err := millis(p)
			if err != nil {
				return Options{}, nil, err
			}
			if d < 0 { // -1: ZooKeeper's "use the default"
				d = 0
			}
			if p.key == "minSessionTimeout" {
				opts.MinSessionTimeout = d
			} else {
				opts.MaxSessionTimeout = d
			}
		case "4lw.commands.whitelist":
			words := []string{}
			for _, w := range strings.Split(p.value, ",") {
				if w = strings.TrimSpace(w); w != "" {
					words = append(words, w)
				}
			}
			opts.FourLetterWords = words
		case "snapCount":
			n, err := strconv.Atoi(p.value)
			if err != nil || n < 2 {
				return Options{}, nil, p.errorf("want a whole number of transactions, at least 2")
			}
			opts.SnapCount = n
		case "extendedTypesEnabled":
			// Java's Boolean.parseBoolean: "true" in any case, everything else false.
			opts.ExtendedTypes = strings.EqualFold(p.value, "true")
		case "DigestAuthenticationProvider.superDigest":
			if user, digest, ok := strings.Cut(p.value, ":"); !ok || user == "" || digest == "" {
				return Options{}, nil, p.errorf(`want "user:base64(sha1(user:password))"`)
			}
			opts.SuperDigest = p.value
		case "forceSync":
			// FileTxnLog reads zookeeper.forceSync; only "no" turns fsync off.
			if p.value == "no" {
				opts.Fsync = FsyncNever
			} else {
				opts.Fsync = FsyncAlways
			}
		default:
			warnings = append(warnings, ignoredKeyWarning(p))
		}
	}
	if err := checkZooCfg(opts, tickTimeWasSet, port, haveHost); err != nil {
		return Options{}, nil, err
	}
	opts.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	return opts, warnings, nil
}

// checkZooCfg refuses a zoo.cfg that lacks what ZooKeeper requires or whose
// session timeouts contradict each other (port < 0: clientPort not set).
func checkZooCfg(opts Options, tickTimeWasSet bool, port int, haveHost bool) error {
	if opts.DataDir == "" {
		return fmt.Errorf("zoo.cfg: dataDir is not set")
	}
	if !tickTimeWasSet {
		return fmt.Errorf("zoo.cfg: tickTime is not set")
	}
	if port < 0 {
		if haveHost {
			return fmt.Errorf("zoo.cfg: clientPortAddress is set but clientPort is not set")
		}
		return fmt.Errorf("zoo.cfg: clientPort is not set")
	}
	if opts.MinSessionTimeout != 0 && opts.MaxSessionTimeout != 0 && opts.MinSessionTimeout > opts.MaxSessionTimeout {
		return fmt.Errorf("zoo.cfg: minSessionTimeout %v is larger than maxSessionTimeout %v",
			opts.MinSessionTimeout, opts.MaxSessionTimeout)
	}
	return nil
}

// ignoredKeyWarning explains why a key has no effect here.
func ignoredKeyWarning(p property) string {
	switch {
	case strings.HasPrefix(p.key, "server.") || strings.HasPrefix(p.key, "group.") || strings.HasPrefix(p.key, "weight.") ||
		p.key == "initLimit" || p.key == "syncLimit" || p.key == "electionAlg" || p.key == "peerType" ||
		p.key == "standaloneEnabled" || p.key == "reconfigEnabled" || p.key == "dynamicConfigFile" ||
		p.key == "quorumListenOnAllIPs" || strings.HasPrefix(p.key, "quorum."):
		return fmt.Sprintf("zoo.cfg line %d: %s ignored: the embedded server runs alone (no quorum, no reconfig)", p.line, p.key)
	case p.key == "dataLogDir":
		return fmt.Sprintf("zoo.cfg line %d: dataLogDir ignored: the transaction log is kept in dataDir", p.line)
	case strings.HasPrefix(p.key, "admin.") || strings.HasPrefix(p.key, "metricsProvider.") ||
		strings.HasPrefix(p.key, "autopurge.") || strings.HasPrefix(p.key, "ssl.") ||
		p.key == "secureClientPort" || p.key == "secureClientPortAddress" || p.key == "maxClientCnxns" ||
		p.key == "clientPortListenBacklog" || p.key == "preAllocSize" || p.key == "globalOutstandingLimit" ||
		strings.HasPrefix(p.key, "authProvider.") || p.key == "serverCnxnFactory":
		return fmt.Sprintf("zoo.cfg line %d: %s ignored: not supported by the embedded server", p.line, p.key)
	default:
		return fmt.Sprintf("zoo.cfg line %d: unknown key %s ignored (ZooKeeper would set system property zookeeper.%s)", p.line, p.key, p.key)
	}
}

// property is one key=value of a properties file.
type property struct {
	key, value string
	line       int
}

func (p property) errorf(format string, args ...any) error {
	return fmt.Errorf("zoo.cfg line %d: %s=%q: %s", p.line, p.key, p.value, fmt.Sprintf(format, args...))
}

// readProperties reads the subset of java.util.Properties syntax zoo.cfg files
// use: "#" and "!" comments, "key=value", "key: value" or "key value", a
// trailing backslash continuing a line. Values are trimmed, as ZooKeeper trims
// them. A later key overrides an earlier one, as in Java.
func readProperties(r io.Reader) ([]property, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var (
		props   []property
		index   = map[string]int{}
		lineNo  int
		pending strings.Builder
		start   int
	)
	for sc.Scan() {
		lineNo++
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if pending.Len() == 0 {
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			start = lineNo
		}
		if continued := strings.TrimSuffix(line, `\`); continued != line && !strings.HasSuffix(continued, `\`) {
			pending.WriteString(continued)
			continue
		}
		pending.WriteString(line)
		full := pending.String()
		pending.Reset()
		key, value := splitProperty(full)
		p := property{key: key, value: strings.TrimSpace(value), line: start}
		if i, ok := index[key]; ok {
			props[i] = p
			continue
		}
		index[key] = len(props)
		props = append(props, p)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if pending.Len() > 0 {
		return nil, fmt.Errorf("line %d: file ends inside a continued line", start)
	}
	return props, nil
}

// splitProperty splits at the first unescaped '=', ':' or whitespace.
func splitProperty(s string) (key, value string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=', ':':
			return strings.TrimSpace(s[:i]), s[i+1:]
		case ' ', '\t', '\f':
			rest := strings.TrimLeft(s[i:], " \t\f")
			if rest != "" && (rest[0] == '=' || rest[0] == ':') {
				rest = rest[1:]
			}
			return s[:i], rest
		}
	}
	return s, ""
}

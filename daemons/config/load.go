package config

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load builds a configuration the way Storm does: Defaults, then the
// storm.yaml at stormYAMLPath on top (an empty path means none), then each
// "-c key=value" override in order, its value parsed as YAML. It does not
// validate; call Validate on the result.
func Load(stormYAMLPath string, overrides []string) (Conf, error) {
	conf := Defaults()
	if stormYAMLPath != "" {
		fromFile, err := ReadYAML(stormYAMLPath)
		if err != nil {
			return nil, err
		}
		conf = conf.Merge(fromFile)
	}
	for _, o := range overrides {
		key, value, err := ParseOverride(o)
		if err != nil {
			return nil, err
		}
		conf[key] = value
	}
	return conf, nil
}

// ReadYAML reads a storm.yaml file: a YAML mapping of key → value. An empty
// file is an empty configuration.
func ReadYAML(path string) (Conf, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	conf, err := ParseYAML(data)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return conf, nil
}

// ParseYAML decodes the text of a storm.yaml.
func ParseYAML(data []byte) (Conf, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc == nil {
		return Conf{}, nil
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse YAML: the document is %s, want a mapping of key: value", describe(doc))
	}
	return Conf(m), nil
}

// ParseOverride parses one "-c key=value" argument. The value is YAML, so
// "topology.workers=3" gives the int 3, "supervisor.slots.ports=[6700,6701]"
// a list, "topology.debug=true" a bool, "storm.local.dir=/x" a string and
// "topology.max.spout.pending=" (nothing after '=') null.
func ParseOverride(s string) (key string, value any, err error) {
	key, raw, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok {
		return "", nil, fmt.Errorf("config override %q: want key=value, e.g. topology.workers=2", s)
	}
	if key == "" {
		return "", nil, fmt.Errorf("config override %q: empty key before '='", s)
	}
	if err := yaml.Unmarshal([]byte(raw), &value); err != nil {
		return "", nil, fmt.Errorf("config override %s: value %q is not valid YAML (quote a plain string): %w", key, raw, err)
	}
	return key, value, nil
}

// describe names a decoded YAML value's kind for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}

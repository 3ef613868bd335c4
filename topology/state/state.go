// Package state is the state of stateful bolts, as Storm's
// org.apache.storm.state: a KeyValueState with Storm's two-phase commit
// (PrepareCommit, Commit, Rollback) and the providers that make it, chosen by
// topology.state.provider and configured by topology.state.provider.config.
//
// Keys are strings and values are bytes; Map gives typed access with JSON
// values. Puts and deletes stay in the state until PrepareCommit stages them
// for txid and Commit makes them durable; Rollback drops everything not
// committed.
package state

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Storm's configuration keys and provider class names.
const (
	ConfProvider       = "topology.state.provider"
	ConfProviderConfig = "topology.state.provider.config"

	InMemoryProvider = "org.apache.storm.state.InMemoryKeyValueStateProvider"
	RedisProvider    = "org.apache.storm.redis.state.RedisKeyValueStateProvider"
)

// State is what the checkpoint protocol drives (Storm's State).
type State interface {
	// PrepareCommit stages the changes made since the last prepare as
	// transaction txid.
	PrepareCommit(txid int64) error
	// Commit makes transaction txid (prepared before) the committed state.
	Commit(txid int64) error
	// Rollback drops every change not committed.
	Rollback() error
}

// KeyValueState is a key/value State (Storm's KeyValueState).
type KeyValueState interface {
	State
	// Get returns the value of key, seeing uncommitted changes.
	Get(key string) (value []byte, ok bool, err error)
	// Put sets key to value (a copy is kept).
	Put(key string, value []byte)
	// Delete removes key.
	Delete(key string)
	// Range calls fn for every key and value, uncommitted changes
	// included, in no particular order, until fn returns false.
	Range(fn func(key string, value []byte) bool) error
	// CommitNow commits the current changes without a transaction id
	// (Storm's commit(), used by the checkpoint spout for its own state).
	CommitNow() error
	// Close releases the state's connections.
	Close() error
}

// Map is typed access to a KeyValueState: values are stored as JSON.
type Map[V any] struct{ State KeyValueState }

// Get returns the value of key decoded into a V; ok is false when key is absent.
func (m Map[V]) Get(key string) (v V, ok bool, err error) {
	raw, ok, err := m.State.Get(key)
	if err != nil || !ok {
		return v, false, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, false, fmt.Errorf("state: value of key %q: %w", key, err)
	}
	return v, true, nil
}

// Put sets key to v encoded as JSON.
func (m Map[V]) Put(key string, v V) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state: value of key %q: %w", key, err)
	}
	m.State.Put(key, raw)
	return nil
}

// Delete removes key.
func (m Map[V]) Delete(key string) { m.State.Delete(key) }

// New makes the state of namespace with the provider conf names (Storm's
// StateFactory.getState): in memory unless topology.state.provider says
// otherwise.
func New(namespace string, conf map[string]any) (KeyValueState, error) {
	provider, raw, err := providerOf(conf)
	if err != nil {
		return nil, err
	}
	switch provider {
	case InMemoryProvider:
		return NewInMemory(), nil
	case RedisProvider:
		rc, err := ParseRedisConfig(raw)
		if err != nil {
			return nil, err
		}
		return newRedis(namespace, rc)
	}
	return nil, unknownProvider(provider)
}

// Validate checks topology.state.provider and its configuration without
// connecting anywhere: nimbus calls it at submit.
func Validate(conf map[string]any) error {
	provider, raw, err := providerOf(conf)
	if err != nil {
		return err
	}
	switch provider {
	case InMemoryProvider:
		return nil
	case RedisProvider:
		_, err := ParseRedisConfig(raw)
		return err
	}
	return unknownProvider(provider)
}

func providerOf(conf map[string]any) (provider, config string, err error) {
	provider = InMemoryProvider
	if v, ok := conf[ConfProvider]; ok && v != nil {
		s, isString := v.(string)
		if !isString {
			return "", "", fmt.Errorf("%s: %v is not a class name (a string)", ConfProvider, v)
		}
		if s = strings.TrimSpace(s); s != "" {
			provider = s
		}
	}
	if v, ok := conf[ConfProviderConfig]; ok && v != nil {
		switch c := v.(type) {
		case string:
			config = c
		default: // a YAML or JSON map given as such
			b, err := json.Marshal(c)
			if err != nil {
				return "", "", fmt.Errorf("%s: %w", ConfProviderConfig, err)
			}
			config = string(b)
		}
	}
	return provider, config, nil
}

func unknownProvider(name string) error {
	return fmt.Errorf("%s: unknown state provider %q: use %s (the default) or %s", ConfProvider, name, InMemoryProvider, RedisProvider)
}

package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

// RedisConfig is topology.state.provider.config for Redis, in Storm's JSON
// shape. keyClass, valueClass and the serializer classes are accepted and
// unused: keys are strings and values bytes here.
type RedisConfig struct {
	KeyClass             string           `json:"keyClass,omitempty"`
	ValueClass           string           `json:"valueClass,omitempty"`
	KeySerializerClass   string           `json:"keySerializerClass,omitempty"`
	ValueSerializerClass string           `json:"valueSerializerClass,omitempty"`
	JedisPoolConfig      *JedisPoolConfig `json:"jedisPoolConfig,omitempty"`
	JedisClusterConfig   json.RawMessage  `json:"jedisClusterConfig,omitempty"`
}

// JedisPoolConfig is where the Redis server is (Storm's JedisPoolConfig and
// its defaults: localhost:6379, database 0, timeout 2000 ms).
type JedisPoolConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Timeout  int    `json:"timeout"` // ms
	Database int    `json:"database"`
	Password string `json:"password,omitempty"`
}

// ParseRedisConfig reads Storm's JSON provider configuration ("" means
// all defaults).
func ParseRedisConfig(raw string) (RedisConfig, error) {
	var c RedisConfig
	if raw != "" {
		d := json.NewDecoder(bytes.NewReader([]byte(raw)))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			return c, fmt.Errorf("%s for %s: %w (expected JSON such as {\"jedisPoolConfig\":{\"host\":\"127.0.0.1\",\"port\":6379}})", ConfProviderConfig, RedisProvider, err)
		}
	}
	if len(c.JedisClusterConfig) > 0 && string(c.JedisClusterConfig) != "null" {
		return c, fmt.Errorf("%s: jedisClusterConfig (Redis Cluster) is not supported by localstorm: use jedisPoolConfig", ConfProviderConfig)
	}
	if c.JedisPoolConfig == nil {
		c.JedisPoolConfig = &JedisPoolConfig{}
	}
	p := c.JedisPoolConfig
	if p.Host == "" {
		p.Host = "localhost"
	}
	if p.Port == 0 {
		p.Port = 6379
	}
	if p.Timeout == 0 {
		p.Timeout = 2000
	}
	if p.Port < 0 || p.Port > 65535 || p.Timeout < 0 || p.Database < 0 {
		return c, fmt.Errorf("%s: jedisPoolConfig port %d, timeout %d or database %d out of range", ConfProviderConfig, p.Port, p.Timeout, p.Database)
	}
	return c, nil
}

// redisFactory makes Redis states; package redisstate installs it.
var (
	redisMu      sync.Mutex
	redisFactory func(namespace string, c RedisConfig) (KeyValueState, error)
)

// RegisterRedis installs the maker of Redis states (called by package
// redisstate's init). A topology binary that uses the Redis provider
// imports that package, as a Storm topology jar bundles storm-redis: the
// other binaries do not carry a Redis client.
func RegisterRedis(f func(namespace string, c RedisConfig) (KeyValueState, error)) {
	redisMu.Lock()
	defer redisMu.Unlock()
	redisFactory = f
}

func newRedis(namespace string, c RedisConfig) (KeyValueState, error) {
	redisMu.Lock()
	f := redisFactory
	redisMu.Unlock()
	if f == nil {
		return nil, fmt.Errorf("%s: the Redis state provider is not linked into this topology binary: add import _ \"github.com/localstorm/localstorm/topology/state/redisstate\" to it", ConfProvider)
	}
	return f(namespace, c)
}

package state_test

import (
	"strings"
	"testing"

	"github.com/localstorm/localstorm/topology/state"
	"github.com/localstorm/localstorm/topology/state/statetest"
)

func TestInMemoryTwoPhase(t *testing.T) { statetest.TwoPhase(t, state.NewInMemory()) }

func TestProviderChoice(t *testing.T) {
	if err := state.Validate(map[string]any{}); err != nil {
		t.Fatalf("default provider: %v", err)
	}
	err := state.Validate(map[string]any{state.ConfProvider: "org.example.NoSuchProvider"})
	if err == nil || !strings.Contains(err.Error(), "unknown state provider") || !strings.Contains(err.Error(), state.RedisProvider) {
		t.Fatalf("unknown provider: %v", err)
	}
	err = state.Validate(map[string]any{state.ConfProvider: state.RedisProvider, state.ConfProviderConfig: `{"jedisPoolConfig":{"hots":"x"}}`})
	if err == nil || !strings.Contains(err.Error(), "hots") {
		t.Fatalf("bad redis config: %v", err)
	}
	c, err := state.ParseRedisConfig("")
	if err != nil || c.JedisPoolConfig.Host != "localhost" || c.JedisPoolConfig.Port != 6379 || c.JedisPoolConfig.Timeout != 2000 {
		t.Fatalf("defaults: %+v %v", c.JedisPoolConfig, err)
	}
	if _, err := state.New("x", map[string]any{state.ConfProvider: state.InMemoryProvider}); err != nil {
		t.Fatal(err)
	}
	if _, err := state.New("x", map[string]any{state.ConfProvider: state.RedisProvider}); err == nil || !strings.Contains(err.Error(), "redisstate") {
		t.Fatalf("redis without package redisstate linked: %v", err)
	}
}

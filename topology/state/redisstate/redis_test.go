package redisstate

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology/state"
	"github.com/localstorm/localstorm/topology/state/statetest"
)

func redisConfig(t *testing.T, addr string) state.RedisConfig {
	host, port, _ := net.SplitHostPort(addr)
	c, err := state.ParseRedisConfig(fmt.Sprintf(`{"keyClass":"java.lang.String","valueClass":"java.lang.Long",
		"jedisPoolConfig":{"host":%q,"port":%s,"database":2,"timeout":2000}}`, host, port))
	statetest.Must(t, err)
	return c
}

func TestRedisTwoPhase(t *testing.T) {
	addr := testutil.StartRedis(t)
	s, err := New("count-3", redisConfig(t, addr))
	statetest.Must(t, err)
	defer s.Close()
	statetest.TwoPhase(t, s)
}

// Storm's layout: the committed hash under the namespace, the txids under
// <namespace>$txid, and the prepared changes under <namespace>$prepare,
// which a new instance (a restarted worker) commits when told to.
func TestRedisLayoutAndRecovery(t *testing.T) {
	addr := testutil.StartRedis(t)
	ctx := context.Background()
	raw := redis.NewClient(&redis.Options{Addr: addr, DB: 2})
	defer raw.Close()
	c := redisConfig(t, addr)

	s, err := New("count-3", c)
	statetest.Must(t, err)
	s.Put("cow", []byte("7"))
	statetest.Must(t, s.PrepareCommit(0))
	statetest.Must(t, s.Commit(0))
	s.Put("cow", []byte("8"))
	s.Delete("moon")
	statetest.Must(t, s.PrepareCommit(1))
	s.Close() // the worker dies between PREPARE and COMMIT

	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	committed, _ := raw.HGetAll(ctx, "count-3").Result()
	prepared, _ := raw.HGetAll(ctx, "count-3$prepare").Result()
	txids, _ := raw.HGetAll(ctx, "count-3$txid").Result()
	if committed[b64("cow")] != b64("7") || prepared[b64("cow")] != b64("8") || prepared[b64("moon")] != tombstone {
		t.Fatalf("layout: committed %v prepared %v", committed, prepared)
	}
	if txids["commit"] != "0" || txids["prepare"] != "1" {
		t.Fatalf("txids %v, want commit 0 prepare 1", txids)
	}

	again, err := New("count-3", c)
	statetest.Must(t, err)
	defer again.Close()
	statetest.WantValue(t, again, "cow", "8") // the prepared value is seen before its commit
	statetest.Must(t, again.Commit(1))        // recovery resumes the commit
	committed, _ = raw.HGetAll(ctx, "count-3").Result()
	if committed[b64("cow")] != b64("8") {
		t.Fatalf("after recovered commit: %v", committed)
	}
	if n, _ := raw.Exists(ctx, "count-3$prepare").Result(); n != 0 {
		t.Fatal("prepare hash left after commit")
	}
	if err := again.PrepareCommit(1); err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Fatalf("prepare of a committed txid: %v", err)
	}
}

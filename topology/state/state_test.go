package state

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/localstorm/localstorm/internal/testutil"
)

func mustGet(t *testing.T, s KeyValueState, key string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v), ok
}

func wantValue(t *testing.T, s KeyValueState, key, want string) {
	t.Helper()
	got, ok := mustGet(t, s, key)
	if want == "" && ok {
		t.Fatalf("Get(%q) = %q, want absent", key, got)
	}
	if want != "" && got != want {
		t.Fatalf("Get(%q) = %q (present %v), want %q", key, got, ok, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testTwoPhase is what every provider must do: changes are seen at once,
// survive a rollback only once committed, and a rollback drops a prepared
// transaction.
func testTwoPhase(t *testing.T, s KeyValueState) {
	s.Put("a", []byte("1"))
	s.Put("b", []byte("2"))
	wantValue(t, s, "a", "1")
	must(t, s.PrepareCommit(0))
	must(t, s.Commit(0))

	s.Put("a", []byte("10"))
	s.Delete("b")
	s.Put("c", []byte("3"))
	wantValue(t, s, "b", "")
	must(t, s.PrepareCommit(1))
	must(t, s.Rollback()) // a failed checkpoint: transaction 1 is dropped
	wantValue(t, s, "a", "1")
	wantValue(t, s, "b", "2")
	wantValue(t, s, "c", "")

	s.Put("a", []byte("11"))
	s.Delete("b")
	must(t, s.PrepareCommit(1))
	must(t, s.Commit(1))
	must(t, s.Rollback()) // nothing uncommitted: no change
	wantValue(t, s, "a", "11")
	wantValue(t, s, "b", "")

	got := map[string]string{}
	must(t, s.Range(func(k string, v []byte) bool { got[k] = string(v); return true }))
	if fmt.Sprint(got) != "map[a:11]" {
		t.Fatalf("Range = %v, want map[a:11]", got)
	}
	m := Map[int]{s}
	must(t, m.Put("n", 41))
	if n, ok, err := m.Get("n"); err != nil || !ok || n != 41 {
		t.Fatalf("Map.Get = %d %v %v, want 41", n, ok, err)
	}
}

func TestInMemoryTwoPhase(t *testing.T) { testTwoPhase(t, NewInMemory()) }

func redisConfig(t *testing.T, addr string) RedisConfig {
	host, port, _ := net.SplitHostPort(addr)
	c, err := ParseRedisConfig(fmt.Sprintf(`{"keyClass":"java.lang.String","valueClass":"java.lang.Long",
		"jedisPoolConfig":{"host":%q,"port":%s,"database":2,"timeout":2000}}`, host, port))
	must(t, err)
	return c
}

func TestRedisTwoPhase(t *testing.T) {
	addr := testutil.StartRedis(t)
	s, err := NewRedis("count-3", redisConfig(t, addr))
	must(t, err)
	defer s.Close()
	testTwoPhase(t, s)
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

	s, err := NewRedis("count-3", c)
	must(t, err)
	s.Put("cow", []byte("7"))
	must(t, s.PrepareCommit(0))
	must(t, s.Commit(0))
	s.Put("cow", []byte("8"))
	s.Delete("moon")
	must(t, s.PrepareCommit(1))
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

	again, err := NewRedis("count-3", c)
	must(t, err)
	defer again.Close()
	wantValue(t, again, "cow", "8") // the prepared value is seen before its commit
	must(t, again.Commit(1))        // recovery resumes the commit
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

func TestProviderChoice(t *testing.T) {
	if err := Validate(map[string]any{}); err != nil {
		t.Fatalf("default provider: %v", err)
	}
	err := Validate(map[string]any{ConfProvider: "org.example.NoSuchProvider"})
	if err == nil || !strings.Contains(err.Error(), "unknown state provider") || !strings.Contains(err.Error(), RedisProvider) {
		t.Fatalf("unknown provider: %v", err)
	}
	err = Validate(map[string]any{ConfProvider: RedisProvider, ConfProviderConfig: `{"jedisPoolConfig":{"hots":"x"}}`})
	if err == nil || !strings.Contains(err.Error(), "hots") {
		t.Fatalf("bad redis config: %v", err)
	}
	c, err := ParseRedisConfig("")
	if err != nil || c.JedisPoolConfig.Host != "localhost" || c.JedisPoolConfig.Port != 6379 || c.JedisPoolConfig.Timeout != 2000 {
		t.Fatalf("defaults: %+v %v", c.JedisPoolConfig, err)
	}
	if _, err := New("x", map[string]any{ConfProvider: InMemoryProvider}); err != nil {
		t.Fatal(err)
	}
}

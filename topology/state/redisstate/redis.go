// Package redisstate is the Redis state provider of stateful bolts,
// Storm's RedisKeyValueStateProvider
// (org.apache.storm.redis.state.RedisKeyValueStateProvider), on go-redis.
// Import it for its side effect in a topology binary that uses Redis state:
//
//	import _ "github.com/localstorm/localstorm/topology/state/redisstate"
package redisstate

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/localstorm/localstorm/topology/state"
)

func init() { state.RegisterRedis(New) }

// Redis state, as Storm's RedisKeyValueState, with Storm's key layout:
//
//	<namespace>          hash: the committed state, field → value
//	<namespace>$prepare  hash: the prepared transaction's changes
//	<namespace>$txid     hash: "prepare" and "commit" → the last prepared
//	                     and committed transaction ids (decimal)
//
// Fields and values are base64 (standard alphabet) of the key's UTF-8 bytes
// and of the value's bytes, as Storm base64-encodes its serialized keys and
// values. A delete waits in the prepare hash as the value "$tombstone" (never
// valid base64), so a commit resumed after a crash deletes it too. A bolt
// task's namespace is "<component>-<task>", the checkpoint spout's
// "$checkpointspout-<task>", as in Storm.

const (
	txidPrepare = "prepare"
	txidCommit  = "commit"
	tombstone   = "$tombstone"
)

type redisState struct {
	client                        *redis.Client
	timeout                       time.Duration
	namespace, prepareNS, txidNS  string
	mu                            sync.Mutex
	pendingPrepare, pendingCommit map[string]string // encoded field → encoded value or tombstone
	lastPrepared, lastCommitted   int64
	hasPrepared, hasCommitted     bool
}

// New connects the state of namespace to Redis and loads its
// transaction ids and any prepared transaction (to be committed or rolled
// back by the recovery that follows a crash).
func New(namespace string, c state.RedisConfig) (state.KeyValueState, error) {
	p := c.JedisPoolConfig
	timeout := time.Duration(p.Timeout) * time.Millisecond
	client := redis.NewClient(&redis.Options{
		Addr: net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), Password: p.Password, DB: p.Database,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, PoolSize: 2,
	})
	s := &redisState{client: client, timeout: timeout, namespace: namespace,
		prepareNS: namespace + "$prepare", txidNS: namespace + "$txid", pendingPrepare: map[string]string{}}
	if err := s.load(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis state %q at %s: %w", namespace, client.Options().Addr, err)
	}
	return s, nil
}

func (s *redisState) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*s.timeout)
}

func (s *redisState) load() error {
	ctx, cancel := s.ctx()
	defer cancel()
	ids, err := s.client.HGetAll(ctx, s.txidNS).Result()
	if err != nil {
		return err
	}
	if s.lastPrepared, s.hasPrepared, err = parseTxid(ids, txidPrepare); err != nil {
		return err
	}
	if s.lastCommitted, s.hasCommitted, err = parseTxid(ids, txidCommit); err != nil {
		return err
	}
	s.pendingCommit, err = s.client.HGetAll(ctx, s.prepareNS).Result()
	return err
}

func parseTxid(ids map[string]string, key string) (int64, bool, error) {
	v, ok := ids[key]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("transaction id %s=%q is not a number", key, v)
	}
	return n, true, nil
}

func encodeKey(k string) string            { return base64.StdEncoding.EncodeToString([]byte(k)) }
func encodeValue(v []byte) string          { return base64.StdEncoding.EncodeToString(v) }
func decodeValue(v string) ([]byte, error) { return base64.StdEncoding.DecodeString(v) }

func (s *redisState) Put(key string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingPrepare[encodeKey(key)] = encodeValue(value)
}

func (s *redisState) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingPrepare[encodeKey(key)] = tombstone
}

func (s *redisState) Get(key string) ([]byte, bool, error) {
	field := encodeKey(key)
	s.mu.Lock()
	v, found := s.pendingPrepare[field]
	if !found {
		v, found = s.pendingCommit[field]
	}
	s.mu.Unlock()
	if !found {
		ctx, cancel := s.ctx()
		defer cancel()
		var err error
		v, err = s.client.HGet(ctx, s.namespace, field).Result()
		if errors.Is(err, redis.Nil) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("redis state %q: get %q: %w", s.namespace, key, err)
		}
	}
	if v == tombstone {
		return nil, false, nil
	}
	b, err := decodeValue(v)
	if err != nil {
		return nil, false, fmt.Errorf("redis state %q: value of %q is not base64: %w", s.namespace, key, err)
	}
	return b, true, nil
}

func (s *redisState) Range(fn func(string, []byte) bool) error {
	ctx, cancel := s.ctx()
	defer cancel()
	all, err := s.client.HGetAll(ctx, s.namespace).Result()
	if err != nil {
		return fmt.Errorf("redis state %q: %w", s.namespace, err)
	}
	s.mu.Lock()
	maps.Copy(all, s.pendingCommit)
	maps.Copy(all, s.pendingPrepare)
	s.mu.Unlock()
	for field, v := range all {
		if v == tombstone {
			continue
		}
		k, err1 := base64.StdEncoding.DecodeString(field)
		b, err2 := decodeValue(v)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("redis state %q: field %q: %w", s.namespace, field, err)
		}
		if !fn(string(k), b) {
			break
		}
	}
	return nil
}

// writeChanges queues changes into hash key of pipe: sets and deletes.
func writeChanges(ctx context.Context, pipe redis.Pipeliner, key string, changes map[string]string, tombstones bool) {
	sets := map[string]any{}
	var dels []string
	for f, v := range changes {
		if v == tombstone && !tombstones {
			dels = append(dels, f)
		} else {
			sets[f] = v
		}
	}
	if len(sets) > 0 {
		pipe.HSet(ctx, key, sets)
	}
	if len(dels) > 0 {
		pipe.HDel(ctx, key, dels...)
	}
}

func (s *redisState) PrepareCommit(txid int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hasCommitted && txid <= s.lastCommitted {
		return fmt.Errorf("redis state %q: invalid txid %d for prepare: txid %d is already committed", s.namespace, txid, s.lastCommitted)
	}
	// A prepared transaction not yet committed (the same txid prepared
	// again) is merged under the new changes, as Storm does.
	for f, v := range s.pendingCommit {
		if _, ok := s.pendingPrepare[f]; !ok {
			s.pendingPrepare[f] = v
		}
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		writeChanges(ctx, pipe, s.prepareNS, s.pendingPrepare, true)
		pipe.HSet(ctx, s.txidNS, txidPrepare, strconv.FormatInt(txid, 10))
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis state %q: prepare %d: %w", s.namespace, txid, err)
	}
	s.pendingCommit, s.pendingPrepare = s.pendingPrepare, map[string]string{}
	s.lastPrepared, s.hasPrepared = txid, true
	return nil
}

func (s *redisState) Commit(txid int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hasCommitted && txid < s.lastCommitted {
		return fmt.Errorf("redis state %q: invalid txid %d for commit: txid %d is already committed", s.namespace, txid, s.lastCommitted)
	}
	if s.hasPrepared && txid != s.lastPrepared {
		return fmt.Errorf("redis state %q: invalid txid %d for commit: not the prepared txid %d", s.namespace, txid, s.lastPrepared)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		writeChanges(ctx, pipe, s.namespace, s.pendingCommit, false)
		pipe.HSet(ctx, s.txidNS, txidCommit, strconv.FormatInt(txid, 10))
		pipe.Del(ctx, s.prepareNS)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis state %q: commit %d: %w", s.namespace, txid, err)
	}
	s.pendingCommit = map[string]string{}
	s.lastCommitted, s.hasCommitted = txid, true
	return nil
}

func (s *redisState) CommitNow() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		writeChanges(ctx, pipe, s.namespace, s.pendingPrepare, false)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis state %q: commit: %w", s.namespace, err)
	}
	s.pendingPrepare = map[string]string{}
	return nil
}

func (s *redisState) Rollback() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, s.prepareNS)
		if s.hasCommitted {
			pipe.HSet(ctx, s.txidNS, txidPrepare, strconv.FormatInt(s.lastCommitted, 10))
		} else {
			pipe.HDel(ctx, s.txidNS, txidPrepare)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis state %q: rollback: %w", s.namespace, err)
	}
	s.pendingPrepare, s.pendingCommit = map[string]string{}, map[string]string{}
	s.lastPrepared, s.hasPrepared = s.lastCommitted, s.hasCommitted
	return nil
}

func (s *redisState) Close() error { return s.client.Close() }

// Package event is Storm's event manager: a single goroutine draining a
// queue of functions in order (Storm's event-manager thread over a
// LinkedBlockingQueue). The supervisor runs its synchronisation and
// process-management work through two of them, so that each kind of work is
// serialised without locks.
package event

import (
	"fmt"
	"sync"

	"github.com/localstorm/localstorm/daemons/timer"
)

// EventError is an event's failure as handed to the error handler: an
// error returned by the function or a *timer.PanicError.
type EventError struct {
	Manager string
	Err     error
}

func (e *EventError) Error() string {
	return fmt.Sprintf("event manager %s: event failed: %v", e.Manager, e.Err)
}
func (e *EventError) Unwrap() error { return e.Err }

// Manager runs added functions one at a time, in the order added.
type Manager struct {
	name    string
	onError func(error)

	mu      sync.Mutex
	queue   []func() error
	running bool          // an event is executing
	stopped bool          // closed or failed: Add drops, queued events are dropped
	kick    chan struct{} // an event was added; never closed, Add may race Close
	stop    chan struct{} // closed by Close
	done    chan struct{}
	once    sync.Once
}

// New starts an event manager named name (used in errors). onError receives
// the first failing or panicking event wrapped in an *EventError; by then
// the manager has stopped (Storm exits the daemon on it: a fatal error), so
// onError may call Close. A nil onError ignores the error; the manager still
// stops.
func New(name string, onError func(error)) *Manager {
	m := &Manager{
		name:    name,
		onError: onError,
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go m.loop()
	return m
}

// Add queues fn to run after every event added before it. After Close, or
// after an event failed, fn is silently dropped: the owning daemon is
// shutting down and Storm's queue is gone with its thread.
func (m *Manager) Add(fn func() error) {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.queue = append(m.queue, fn)
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Waiting reports whether the queue is empty and no event is running
// (Storm's event-manager waiting?). A stopped manager is waiting.
func (m *Manager) Waiting() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopped || (!m.running && len(m.queue) == 0)
}

// Close stops the manager: the event running, if any, finishes and Close
// waits for it; queued events are dropped, as Storm interrupts the thread
// and abandons its queue. It is idempotent. It must not be called from an
// event (it would wait for itself); it may be called from onError.
func (m *Manager) Close() {
	m.once.Do(func() {
		m.mu.Lock()
		m.stopped = true
		m.queue = nil
		m.mu.Unlock()
		close(m.stop)
	})
	<-m.done
}

func (m *Manager) loop() {
	var failure error
	defer func() {
		// done closes before onError so a handler that closes its daemon
		// (and so this manager) does not wait on itself.
		close(m.done)
		if failure != nil && m.onError != nil {
			m.onError(failure)
		}
	}()
	for {
		m.mu.Lock()
		if m.stopped {
			m.mu.Unlock()
			return
		}
		if len(m.queue) == 0 {
			m.mu.Unlock()
			select {
			case <-m.kick:
			case <-m.stop:
			}
			continue
		}
		fn := m.queue[0]
		m.queue[0] = nil
		m.queue = m.queue[1:]
		m.running = true
		m.mu.Unlock()

		err := timer.SafeCall(fn)

		m.mu.Lock()
		m.running = false
		if err != nil {
			m.stopped = true
			m.queue = nil
			failure = &EventError{Manager: m.name, Err: err}
		}
		m.mu.Unlock()
		if failure != nil {
			return
		}
	}
}

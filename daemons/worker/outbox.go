package worker

import "sync/atomic"

// sinkIDs numbers the queues tuples are batched for (executor inboxes and
// peer queues), so an outbox keeps its batches in a slice, not a map.
var sinkIDs atomic.Int32

func newSinkID() int { return int(sinkIDs.Add(1) - 1) }

// outbox batches an executor's outgoing tuples per destination queue. A batch
// is sent when it is full or at flush, which the executor calls after each
// round of work: batches are large under load and small when idle, so
// latency stays low.
type outbox struct {
	ex      *executor
	batches [][]envelope // by sink id
	queues  []chan []envelope
	last    []int // by sink id: the length of the previous batch
	used    []int // sink ids with a non-empty batch
}

func (o *outbox) add(env envelope) {
	rt := o.ex.rt
	var id int
	var q, free chan []envelope
	if env.Dest >= 0 && env.Dest < len(rt.local) && rt.local[env.Dest] != nil {
		x := rt.local[env.Dest]
		id, q = x.sink, x.inbox
	} else if env.Dest >= 0 && env.Dest < len(rt.peerByTask) {
		p := rt.peerByTask[env.Dest].Load()
		if p == nil {
			rt.dropped.Add(1)
			return
		}
		id, q, free = p.sink, p.queue, p.free
	} else {
		rt.dropped.Add(1)
		return
	}
	if id >= len(o.batches) {
		o.batches = append(o.batches, make([][]envelope, id+1-len(o.batches))...)
		o.queues = append(o.queues, make([]chan []envelope, id+1-len(o.queues))...)
		o.last = append(o.last, make([]int, id+1-len(o.last))...)
	}
	b := o.batches[id]
	if b == nil {
		// A batch a peer has sent (an executor keeps the tuples of its
		// batches), or a new one sized like the previous one: when work is
		// scarce batches are flushed with a few tuples and a full-size
		// allocation would be mostly waste.
		select {
		case b = <-free: // nil channel for an executor
		default:
			b = make([]envelope, 0, min(rt.batchSize, max(4, o.last[id]+o.last[id]/4)))
		}
		o.queues[id] = q
		o.used = append(o.used, id)
	}
	b = append(b, env)
	o.batches[id] = b
	if len(b) >= rt.batchSize {
		o.sendBatch(id)
	}
}

// flush sends every non-empty batch.
func (o *outbox) flush() {
	for len(o.used) > 0 {
		id := o.used[len(o.used)-1]
		if o.batches[id] != nil {
			o.sendBatch(id)
		} else {
			o.used = o.used[:len(o.used)-1]
		}
	}
}

// sendBatch hands batch id to its queue, blocking while the queue is full
// (backpressure). A spout blocked this way keeps taking its own inbox (acks
// from ackers) aside, so a spout → bolt → acker → spout cycle of full
// queues cannot deadlock; the messages are handled after the send.
func (o *outbox) sendBatch(id int) {
	b, q := o.batches[id], o.queues[id]
	o.batches[id] = nil
	o.last[id] = len(b)
	for i, u := range o.used {
		if u == id {
			o.used[i] = o.used[len(o.used)-1]
			o.used = o.used[:len(o.used)-1]
			break
		}
	}
	select {
	case q <- b:
		return
	default:
	}
	e := o.ex
	if e.kind != kindSpout {
		select {
		case q <- b:
		case <-e.stop:
		}
		return
	}
	for {
		select {
		case q <- b:
			return
		case in := <-e.inbox:
			e.deferred = append(e.deferred, in)
		case <-e.stop:
			return
		}
	}
}

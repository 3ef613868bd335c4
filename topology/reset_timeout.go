package topology

// TimeoutResetter is implemented by the runtime's BoltCollector (and the
// BasicCollector of a basic bolt): Storm's OutputCollector.resetTimeout.
type TimeoutResetter interface {
	// ResetTimeout restarts the message timeout of every spout tuple tree
	// t belongs to: a bolt that takes long over a tuple (waiting on an
	// external system, holding it in a batch) calls it so that the tree
	// does not time out and get replayed meanwhile.
	ResetTimeout(t *Tuple)
}

// ResetTimeout calls collector's ResetTimeout when it has one (the
// runtime's collectors do) and reports whether it did.
func ResetTimeout(collector any, t *Tuple) bool {
	r, ok := collector.(TimeoutResetter)
	if ok {
		r.ResetTimeout(t)
	}
	return ok
}

// ResetTimeout restarts the timeout of the tuple being executed's trees.
func (e *basicBoltExecutor) ResetTimeout(t *Tuple) { ResetTimeout(e.out, t) }

package topology

// WrapBasicBolt runs a BasicBolt as a Bolt, as Storm's BasicBoltExecutor
// does: every emit is anchored to the input tuple, and the input is acked when
// Execute returns nil, or reported (ReportError) and failed when it returns an
// error.
func WrapBasicBolt(b BasicBolt) Bolt { return &basicBoltExecutor{bolt: b} }

type basicBoltExecutor struct {
	bolt BasicBolt
	out  BoltCollector
	// anchors holds the current input. A new slice per input, since a
	// collector may keep the anchors it is given.
	anchors []*Tuple
}

func (e *basicBoltExecutor) DeclareOutputFields(d OutputDeclarer) { e.bolt.DeclareOutputFields(d) }

func (e *basicBoltExecutor) Prepare(ctx *Context, out BoltCollector) error {
	e.out = out
	return e.bolt.Prepare(ctx)
}

func (e *basicBoltExecutor) Execute(t *Tuple) {
	e.anchors = []*Tuple{t}
	err := e.bolt.Execute(t, e)
	e.anchors = nil
	if err != nil {
		e.out.ReportError(err)
		e.out.Fail(t)
		return
	}
	e.out.Ack(t)
}

func (e *basicBoltExecutor) Cleanup() { e.bolt.Cleanup() }

// The BasicCollector methods, anchored to the tuple being executed.

func (e *basicBoltExecutor) Emit(values Values) []int {
	return e.out.EmitStream(DefaultStream, e.anchors, values)
}

func (e *basicBoltExecutor) EmitStream(stream string, values Values) []int {
	return e.out.EmitStream(stream, e.anchors, values)
}

func (e *basicBoltExecutor) EmitDirect(task int, stream string, values Values) {
	e.out.EmitDirect(task, stream, e.anchors, values)
}

func (e *basicBoltExecutor) ReportError(err error) { e.out.ReportError(err) }

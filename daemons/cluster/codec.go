package cluster

import (
	"encoding/json"
	"fmt"
)

// record is implemented by every record stored in ZooKeeper: its "v" field.
type record interface {
	schemaVersion() int
	setSchemaVersion(v int)
}

func (r *Assignment) schemaVersion() int          { return r.V }
func (r *Assignment) setSchemaVersion(v int)      { r.V = v }
func (r *StormBase) schemaVersion() int           { return r.V }
func (r *StormBase) setSchemaVersion(v int)       { r.V = v }
func (r *SupervisorInfo) schemaVersion() int      { return r.V }
func (r *SupervisorInfo) setSchemaVersion(v int)  { r.V = v }
func (r *WorkerHeartbeat) schemaVersion() int     { return r.V }
func (r *WorkerHeartbeat) setSchemaVersion(v int) { r.V = v }
func (r *ErrorInfo) schemaVersion() int           { return r.V }
func (r *ErrorInfo) setSchemaVersion(v int)       { r.V = v }

// EncodeRecord returns the JSON of r with "v" set to SchemaVersion; r itself
// is not modified (callers may share it).
func EncodeRecord[T any, P interface {
	*T
	record
}](r *T) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("encode %T: nil record", r)
	}
	c := *r
	P(&c).setSchemaVersion(SchemaVersion)
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", r, err)
	}
	return b, nil
}

// DecodeRecord decodes a record read from ZooKeeper; no data (a missing node,
// or one created empty as a directory) gives a nil record. Data that is not JSON of this record, or that was
// written with a schema version this code does not know, is an error.
func DecodeRecord[T any, P interface {
	*T
	record
}](data []byte) (*T, error) {
	if len(data) == 0 {
		return nil, nil
	}
	r := new(T)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("decode %T: %w", r, err)
	}
	if v := P(r).schemaVersion(); v < 1 || v > SchemaVersion {
		return nil, fmt.Errorf("decode %T: schema version %d, this localstorm reads 1 to %d (record written by another version?)", r, v, SchemaVersion)
	}
	return r, nil
}

package testkit

import "testing"

func TestLeakScope(t *testing.T) {
	// Alone: the check runs.
	a := enterLeakScope()
	if !a.exit() {
		t.Error("a cluster that ran alone: exit() = false, want true")
	}
	// One after the other: both ran alone.
	b := enterLeakScope()
	if !b.exit() {
		t.Error("second cluster, after the first ended: exit() = false, want true")
	}
	// Overlapping (parallel tests): neither ran alone, whatever the order.
	c := enterLeakScope()
	d := enterLeakScope()
	if c.exit() {
		t.Error("cluster overlapped by a later one: exit() = true, want false")
	}
	if d.exit() {
		t.Error("cluster started while another ran: exit() = true, want false")
	}
	// And the next one, after both ended, is alone again.
	e := enterLeakScope()
	if !e.exit() {
		t.Error("cluster after the overlapping ones ended: exit() = false, want true")
	}
}

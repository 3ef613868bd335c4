package worker

import "testing"

func TestExecutorKindNames(t *testing.T) {
	for _, tt := range []struct {
		kind            executorKind
		name, statsType string
	}{
		{kindSpout, "spout", "spout"},
		{kindBolt, "bolt", "bolt"},
		{kindAcker, "acker", "bolt"},
	} {
		if got := tt.kind.String(); got != tt.name {
			t.Errorf("String() = %q, want %q", got, tt.name)
		}
		if got := tt.kind.statsType(); got != tt.statsType {
			t.Errorf("%s: statsType() = %q, want %q", tt.name, got, tt.statsType)
		}
	}
}

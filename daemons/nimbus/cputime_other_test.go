//go:build !unix

package nimbus

import "time"

// processCPU is not measured off Unix (the benchmarks report 0).
func processCPU() time.Duration { return 0 }

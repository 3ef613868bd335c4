package zkcontainer

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkStartReadyClose measures what the container mode adds to a
// cluster's start and stop: create and start the container, wait for srvr to
// report a mode, then remove it. Run with -benchtime=3x; each op is seconds.
func BenchmarkStartReadyClose(b *testing.B) {
	cluster := fmt.Sprintf("zkcontainer-bench-%d", os.Getpid())
	b.Cleanup(func() { _, _ = ReapOrphans(context.Background(), cluster) })
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		c, err := Start(ctx, Options{Image: testImage, Cluster: cluster})
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			cancel()
			b.Fatal(err)
		}
		cancel()
	}
}

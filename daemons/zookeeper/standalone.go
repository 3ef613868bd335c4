package zookeeper

import (
	"context"
	"fmt"
	"log/slog"
)

// RunStandalone runs the embedded server in the foreground, as `storm
// dev-zookeeper` runs a real one: it starts the server with opts (logging to
// logger unless opts.Logger is set), logs the address it serves on, and blocks
// until ctx is done (the CLI cancels it on SIGTERM or SIGINT); then it closes
// the server, which flushes the transaction log. A start failure is returned
// at once.
func RunStandalone(ctx context.Context, opts Options, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Logger == nil {
		opts.Logger = logger
	}
	srv, err := Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("start standalone ZooKeeper: %w", err)
	}
	eff := srv.Options()
	dataDir := eff.DataDir
	if dataDir == "" {
		dataDir = "(in memory)"
	}
	logger.Info("ZooKeeper serving", "addr", srv.Addr(), "dataDir", dataDir,
		"tickTime", eff.TickTime, "minSessionTimeout", eff.MinSessionTimeout, "maxSessionTimeout", eff.MaxSessionTimeout)
	<-ctx.Done()
	logger.Info("ZooKeeper stopping", "addr", srv.Addr())
	if err := srv.Close(); err != nil {
		return fmt.Errorf("stop standalone ZooKeeper on %s: %w", srv.Addr(), err)
	}
	return nil
}

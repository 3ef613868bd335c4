package cluster

import "errors"

// Storm's exit codes for a daemon that cannot go on (Utils.exitProcess in
// Nimbus, Supervisor, StormTimer's and EventManagerImp's error handlers, and
// StormClusterStateImpl's dispatcher). A library daemon never exits: it
// stops and hands an *ExitError to its owner, and `localstorm nimbus` and
// `localstorm supervisor` exit with its code.
const (
	// ExitInit: the daemon failed to initialise ("Error on initialization").
	ExitInit = 13
	// ExitTaskFailed: a timer task or an event-manager event failed ("Error
	// while processing event").
	ExitTaskFailed = 20
	// ExitUnknownSubtree: a watch event under a subtree with no callback
	// ("Unknown callback for subtree").
	ExitUnknownSubtree = 30
)

// ExitError is a failure after which Storm's daemon would exit with Code.
type ExitError struct {
	Code int
	Err  error
}

// Exit marks err as a failure with Storm's exit code; nil stays nil, and an
// error that already carries a code keeps it.
func Exit(code int, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := ExitCode(err); ok {
		return err
	}
	return &ExitError{Code: code, Err: err}
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the code (the program's exit status).
func (e *ExitError) ExitCode() int { return e.Code }

// ExitCode returns the exit code err carries, if it carries one.
func ExitCode(err error) (int, bool) {
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

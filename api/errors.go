package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Kinds of failure shared by the server and the client. Nimbus wraps its errors
// around one of these; the HTTP layer maps each to a status code and the client
// maps the status code back, so errors.Is works on both sides of the wire.
var (
	ErrInvalid   = errors.New("invalid request")        // 400
	ErrForbidden = errors.New("forbidden")              // 403: a cross-origin request, a Host not served
	ErrNotFound  = errors.New("not found")              // 404
	ErrMethod    = errors.New("method not allowed")     // 405: the reply's Allow header lists the methods
	ErrConflict  = errors.New("conflict")               // 409: e.g. a name already alive, a transition not allowed
	ErrTooLarge  = errors.New("request too large")      // 413
	ErrMediaType = errors.New("unsupported media type") // 415: a POST that is not JSON (or, for an upload, not octet-stream)
	ErrInternal  = errors.New("internal error")         // 500
	ErrShutdown  = errors.New("nimbus is stopping")     // 503
)

var kindStatus = []struct {
	kind   error
	status int
}{
	{ErrInvalid, http.StatusBadRequest},
	{ErrForbidden, http.StatusForbidden},
	{ErrNotFound, http.StatusNotFound},
	{ErrMethod, http.StatusMethodNotAllowed},
	{ErrConflict, http.StatusConflict},
	{ErrTooLarge, http.StatusRequestEntityTooLarge},
	{ErrMediaType, http.StatusUnsupportedMediaType},
	{ErrShutdown, http.StatusServiceUnavailable},
	{ErrInternal, http.StatusInternalServerError},
}

// StatusOf returns the HTTP status code for err: the code of the first kind it
// wraps, 500 for anything else.
func StatusOf(err error) int {
	for _, ks := range kindStatus {
		if errors.Is(err, ks.kind) {
			return ks.status
		}
	}
	return http.StatusInternalServerError
}

// kindOf returns the kind for an HTTP status code (ErrInternal when unknown).
func kindOf(status int) error {
	for _, ks := range kindStatus {
		if ks.status == status {
			return ks.kind
		}
	}
	return ErrInternal
}

// Error is an error reply received by the client.
type Error struct {
	StatusCode int
	// Kind is one of the Err* kinds, matched by errors.Is.
	Kind error
	// Message is the server's errorMessage (or the body when it was not JSON).
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.StatusCode)
}

// Unwrap lets errors.Is(err, api.ErrNotFound) and the like match.
func (e *Error) Unwrap() error { return e.Kind }

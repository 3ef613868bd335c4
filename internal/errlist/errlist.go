// Package errlist is localstorm's one way of combining errors: a
// go-multierror list (each problem kept, errors.Is and errors.As see every
// one of them) printed by one formatter, Format. Code that collects
// problems appends them with Append or AppendPrefixed and returns Err.
package errlist

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Append adds every non-nil err to list (nil errors are dropped; the
// errors of a nested list are added one by one) and returns the list.
func Append(list *multierror.Error, errs ...error) *multierror.Error {
	for _, err := range errs {
		if err != nil {
			list = multierror.Append(list, err)
		}
	}
	return list
}

// AppendPrefixed adds err to list with what in front ("bolt \"split\": ..."),
// or, when err is itself a list, each of its errors with what in front, so
// that every line of the combined list names its subject.
func AppendPrefixed(list *multierror.Error, what string, err error) *multierror.Error {
	if err == nil {
		return list
	}
	if inner, ok := err.(*multierror.Error); ok {
		for _, e := range inner.Errors {
			list = multierror.Append(list, fmt.Errorf("%s: %w", what, e))
		}
		return list
	}
	return multierror.Append(list, fmt.Errorf("%s: %w", what, err))
}

// Err returns list, printed by Format, or nil when it holds no error.
func Err(list *multierror.Error) error {
	if list == nil || len(list.Errors) == 0 {
		return nil
	}
	list.ErrorFormat = Format
	return list
}

// Join returns the non-nil errs as one list printed by Format, nil when
// there is none: errors.Join's drop-in.
func Join(errs ...error) error {
	return Err(Append(nil, errs...))
}

// Format prints one problem as itself and several as a count followed by
// one indented line each:
//
//	2 problems:
//		spout "words": factory is nil
//		bolt "count": no input
func Format(errs []error) string {
	if len(errs) == 1 {
		return errs[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(errs))
	for _, e := range errs {
		b.WriteString("\n\t")
		b.WriteString(e.Error())
	}
	return b.String()
}

package jose

import (
	"errors"
	"fmt"
)

// The errors of this package are plain: ErrMalformed or ErrEncryption,
// wrapped with a detail for operators. The root package maps them to HTTP.
var (
	ErrMalformed  = errors.New("malformed token")
	ErrEncryption = errors.New("token encryption not accepted")
)

type detailError struct {
	kind   error
	detail string
}

func (e *detailError) Error() string { return e.detail }
func (e *detailError) Unwrap() error { return e.kind }

func malformed(format string, args ...any) error {
	return &detailError{ErrMalformed, fmt.Sprintf(format, args...)}
}

func refused(format string, args ...any) error {
	return &detailError{ErrEncryption, fmt.Sprintf(format, args...)}
}

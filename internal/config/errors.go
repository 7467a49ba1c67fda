package config

import (
	"errors"
	"strings"
)

// PathError is a configuration error at a key path such as
// "listeners.tcp[0].tls.cert_file".
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

// FieldError reports a problem with a key of the section being validated;
// the loader prefixes the section's own path.
func FieldError(key string, err error) error { return &PathError{Path: key, Err: err} }

// prefix puts a parent path in front of err's path.
func prefix(parent string, err error) error {
	var pe *PathError
	if errors.As(err, &pe) {
		p := pe.Path
		if parent != "" && p != "" && !strings.HasPrefix(p, "[") {
			p = parent + "." + p
		} else {
			p = parent + p
		}
		return &PathError{Path: p, Err: pe.Err}
	}
	return &PathError{Path: parent, Err: err}
}

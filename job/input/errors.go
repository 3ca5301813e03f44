package input

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInput is matched, through errors.Is, by every *Error: a problem with the
// input file that makes the whole file unusable. The job maps it to exit code 2.
var ErrInput = errors.New("unusable input file")

// Error is a fatal problem with an input file. It names the file, the 1-based
// line where the problem was found (0 when no line applies, such as an empty
// file), and the column involved, if any.
//
// errors.Is(err, ErrInput) reports true for every *Error; Unwrap returns the
// underlying cause (an I/O error, for example), which may be nil.
type Error struct {
	// File is the name the caller gave the input.
	File string
	// Line is the 1-based line of the problem, or 0 if none applies.
	Line int
	// Field is the header name of the column involved, or "" if none is.
	Field string
	// Msg says what is wrong, and often what to do about it.
	Msg string
	// Err is the underlying cause, or nil.
	Err error
}

// Error returns the problem in the form
// `users.csv:1: column "username": not found (header has: email, name)`.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "column %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause, or nil.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrInput, so that errors.Is(err, ErrInput)
// holds for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInput }

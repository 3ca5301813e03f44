package job

import (
	"context"
	"io"
	"math/bits"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// openFrom opens the input through open and returns a Reader of it and
// the function that closes the input. When marks hold one at or before
// first (the first row not done before this run), the Reader starts there
// (input.NewReaderAt): the rows before it are all done, and a slice late
// in a job of millions of rows does not read them all again. Otherwise it
// reads from the start.
func openFrom(ctx context.Context, open func(context.Context) (io.ReadCloser, error), name string, opts input.Options,
	first int, marks []input.Mark) (*input.Reader, func(), error) {
	var at *input.Mark
	for i := range marks {
		if m := &marks[i]; m.Index > 0 && m.Index <= first {
			at = m
		}
	}
	if at != nil {
		rd, c, err := input.NewReaderAt(ctx, open, name, opts, *at)
		if err != nil {
			return nil, nil, err
		}
		return rd, func() { c.Close() }, nil
	}
	f, err := open(ctx)
	if err != nil {
		return nil, nil, err
	}
	rd, err := input.NewReader(f, name, opts)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return rd, func() { f.Close() }, nil
}

// firstZero returns the index of the first 0 bit of set among its first n
// bits, or n when they are all 1.
func firstZero(set []uint64, n int) int {
	for i, w := range set {
		if w != ^uint64(0) {
			if z := i*64 + bits.TrailingZeros64(^w); z < n {
				return z
			}
			return n
		}
	}
	return n
}

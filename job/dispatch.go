package job

import (
	"context"
	"fmt"
	"io"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// doneSet holds one bit per input row: set for the rows finished before
// this run. It is built from the checkpoint before the recorder starts
// changing it, and only read after.
type doneSet []uint64

func newDoneSet(rows []uint32) doneSet {
	s := make(doneSet, (len(rows)+63)/64)
	for i, w := range rows {
		if rowOutcome(w).Done() {
			s[i/64] |= 1 << (i % 64)
		}
	}
	return s
}

func (s doneSet) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }

// dispatcher reads the input and hands each row that is not done to a
// worker, or straight to the recorder when it needs no call. It is used by
// one goroutine.
type dispatcher struct {
	open     func(context.Context) (io.ReadCloser, error)
	name     string // the input, for messages
	opts     input.Options
	rows     int // rows the scan counted
	done     doneSet
	dups     *input.Duplicates
	readAll  bool // read users the export shows without legacy MFA
	maxUsers int  // rows this run may take; 0 = no limit
	gate     *gate
	stop     func(reason string, err error)
	marks    []input.Mark // where a Reader can start (resume.go)
}

// run dispatches until the input ends, ctx ends, or maxUsers rows were
// taken (then it asks the run to stop). It returns an error only for an
// input that cannot be read.
func (d *dispatcher) run(ctx context.Context, jobs chan<- input.Row, results chan<- result) error {
	rd, closeInput, err := openFrom(ctx, d.open, d.name, d.opts, firstZero(d.done, d.rows), d.marks) // resume.go
	if err != nil {
		return err
	}
	defer closeInput()
	dups, err := d.dups.Cursor()
	if err != nil {
		return err
	}
	defer dups.Close()
	var n int
	for ctx.Err() == nil {
		row, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if row.Index >= d.rows {
			return fmt.Errorf("%w: the input changed during the run: more rows than the scan counted", input.ErrInput)
		}
		if d.done.has(row.Index) {
			continue
		}
		if d.maxUsers > 0 && n >= d.maxUsers {
			d.stop(StopMaxUsers, nil)
			return nil
		}
		n++
		var res result
		_, isDup := dups.Lookup(row.Index)
		switch {
		case row.Invalid != "":
			res = result{index: row.Index, outcome: outcomeInvalidInput, note: row.Invalid}
		case isDup:
			// No note: the report derives "duplicate of line N" from the
			// scan, so the checkpoint holds nothing per duplicate.
			res = result{index: row.Index, outcome: outcomeDuplicate}
		case row.Legacy == input.LegacyNone && !d.readAll:
			res = result{index: row.Index, outcome: outcomeNoLegacyMFA} // no note: the report derives it (noteNotRead)
		default:
			if !d.gate.acquire(ctx) {
				return nil
			}
			select {
			case jobs <- row:
				continue
			case <-ctx.Done():
				d.gate.unacquire()
				return nil
			}
		}
		select {
		case results <- res:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

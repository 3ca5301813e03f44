package checkpointtest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
)

// Example walks through the contract the suite checks, on a File store: a
// lock that refuses a second run, not-found on first load, compare-and-swap
// saves and the state codec.
func Example() {
	dir, err := os.MkdirTemp("", "checkpoint-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store := checkpoint.NewFile(filepath.Join(dir, "job.checkpoint"))

	lock, err := store.Lock(ctx, "run 1", checkpoint.DefaultLockTTL)
	if err != nil {
		log.Fatal(err)
	}
	defer lock.Release(ctx)
	_, err = store.Lock(ctx, "run 2", checkpoint.DefaultLockTTL)
	var locked *checkpoint.LockedError
	if errors.As(err, &locked) {
		fmt.Printf("run 2 refused: locked by %q\n", locked.Holder.Owner)
	}

	_, _, err = store.Load(ctx)
	fmt.Println("first load not found:", errors.Is(err, checkpoint.ErrNotFound))

	state := &checkpoint.State{
		Identity: checkpoint.Identity{PoolID: "us-east-1_a", Mode: "apply"},
		Rows:     []uint32{3, 0, 3},
		Counts:   map[string]int64{"migrated": 2},
	}
	data, err := state.Encode()
	if err != nil {
		log.Fatal(err)
	}
	version, err := store.Save(ctx, data, "") // "" creates
	if err != nil {
		log.Fatal(err)
	}
	_, err = store.Save(ctx, data, "")
	fmt.Println("second create conflicts:", errors.Is(err, checkpoint.ErrConflict))

	state.Rows[1] = 3
	state.Counts["migrated"] = 3
	if data, err = state.Encode(); err != nil {
		log.Fatal(err)
	}
	if _, err = store.Save(ctx, data, version); err != nil {
		log.Fatal(err)
	}
	_, err = store.Save(ctx, data, version)
	fmt.Println("stale version conflicts:", errors.Is(err, checkpoint.ErrConflict))

	data, _, err = store.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	loaded, err := checkpoint.Decode(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rows:", loaded.Rows, "migrated:", loaded.Counts["migrated"])
	// Output:
	// run 2 refused: locked by "run 1"
	// first load not found: true
	// second create conflicts: true
	// stale version conflicts: true
	// rows: [3 3 3] migrated: 3
}

// ExampleRun shows a backend's test running the suite. Stores must start
// empty; WithClock lets the suite drive lock expiry.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestFile(t *testing.T)
		checkpointtest.Run(t,
			func(t *testing.T) checkpoint.Store {
				return checkpoint.NewFile(filepath.Join(t.TempDir(), "job.checkpoint"))
			},
			checkpointtest.WithClock(func(s checkpoint.Store, now func() time.Time) {
				s.(*checkpoint.File).Now = now
			}),
		)
	}
}

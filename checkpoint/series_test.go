package checkpoint

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeBeforeSeries loads a checkpoint written before runs had a
// series (testdata/v1-before-series.checkpoint, encoded by that version of
// the code): it must still load, with its runs and no series.
func TestDecodeBeforeSeries(t *testing.T) {
	data, err := os.ReadFile("testdata/v1-before-series.checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode(old checkpoint) = %v, want it to load", err)
	}
	if len(st.Runs) != 1 || st.Runs[0].ID != "0123abcd" || st.Runs[0].Series != nil || st.Runs[0].Figures["read_rps_achieved"] != 12.5 {
		t.Errorf("Decode(old checkpoint).Runs = %+v, want the one run it holds, without a series", st.Runs)
	}
}

// TestSeriesRoundTrip checks that a run's series survives Encode and
// Decode.
func TestSeriesRoundTrip(t *testing.T) {
	s := &State{Rows: []uint32{0}, Runs: []Run{{ID: "r", Started: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		Series: []Point{{Start: 0, Seconds: 60, Reads: 600, Writes: 300, Throttles: 2}, {Start: 60, Seconds: 60, Reads: 590}}}}}
	data, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s.Runs[0].Series, got.Runs[0].Series); d != "" {
		t.Errorf("series after a round trip (-want +got):\n%s", d)
	}
}

package cognito

import (
	"testing"
	"time"
)

// TestWatchStalled checks stall detection on an injected clock: the
// time counts from the oldest attempt since the last answer, an answer
// clears it, and attempts that end without an answer (timeouts) do not.
func TestWatchStalled(t *testing.T) {
	now := time.Unix(1000, 0)
	w := &Watch{now: func() time.Time { return now }}
	if _, _, ok := w.Stalled(time.Second); ok {
		t.Fatal("stalled before any attempt")
	}
	w.begin("https://cognito-idp.example")
	now = now.Add(500 * time.Millisecond)
	w.end(false) // timed out
	w.begin("https://cognito-idp.example")
	now = now.Add(600 * time.Millisecond)
	if ep, waited, ok := w.Stalled(time.Second); !ok || ep != "https://cognito-idp.example" || waited != 1100*time.Millisecond {
		t.Errorf("stalled() = %q, %v, %v; want the endpoint, 1.1s, true", ep, waited, ok)
	}
	if ever := w.end(true); !ever {
		t.Errorf("end(true) = false, want the endpoint marked as having answered")
	}
	now = now.Add(time.Hour) // a long pause with no call in flight is no stall
	if _, _, ok := w.Stalled(time.Second); ok {
		t.Errorf("stalled after an answer and no new attempt")
	}
}

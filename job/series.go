package job

import (
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
)

// seriesStep is the interval of a run's series of calls (checkpoint.Run's
// Series), from which the change-ticket report draws the rate over time.
const seriesStep = time.Minute

// maxSeriesPoints bounds a run's series: when a point more would pass it,
// neighbouring points are merged two by two and the interval doubles, so a
// run of any length keeps at most this many (240 one-minute points are the
// first four hours).
const maxSeriesPoints = 240

// seriesCounts are cumulative counters of a run.
type seriesCounts struct{ reads, writes, throttles int64 }

// rateSeries builds a run's series from cumulative counters observed now
// and then. The zero value is an empty series with a one-minute step. It is
// used by one goroutine (the recorder's).
type rateSeries struct {
	points []checkpoint.Point
	step   int64        // seconds per point; 0 means seriesStep
	start  int64        // start of the open interval, in seconds into the run
	last   seriesCounts // counters at the start of the open interval
}

// observe takes the run's cumulative counters at elapsed into the run and
// closes the open interval when it has ended.
func (s *rateSeries) observe(elapsed time.Duration, c seriesCounts) {
	if s.step == 0 {
		s.step = int64(seriesStep / time.Second)
	}
	now := int64(elapsed / time.Second)
	if now < s.start+s.step {
		return
	}
	s.points = append(s.points, s.point(now, c))
	s.start, s.last = now, c
	if len(s.points) > maxSeriesPoints {
		s.thin()
	}
}

// point is the open interval up to now.
func (s *rateSeries) point(now int64, c seriesCounts) checkpoint.Point {
	return checkpoint.Point{
		Start: s.start, Seconds: max(now-s.start, 1),
		Reads: c.reads - s.last.reads, Writes: c.writes - s.last.writes, Throttles: c.throttles - s.last.throttles,
	}
}

// thin merges the points two by two and doubles the step.
func (s *rateSeries) thin() {
	out := s.points[:0]
	for i := 0; i < len(s.points); i += 2 {
		p := s.points[i]
		if i+1 < len(s.points) {
			q := s.points[i+1]
			p.Seconds = q.Start + q.Seconds - p.Start
			p.Reads, p.Writes, p.Throttles = p.Reads+q.Reads, p.Writes+q.Writes, p.Throttles+q.Throttles
		}
		out = append(out, p)
	}
	s.points = out
	s.step *= 2
}

// snapshot returns the closed points and, when calls were made in it, the
// open interval up to elapsed: what a save records. The result is a copy.
func (s *rateSeries) snapshot(elapsed time.Duration, c seriesCounts) []checkpoint.Point {
	out := make([]checkpoint.Point, len(s.points), len(s.points)+1)
	copy(out, s.points)
	if p := s.point(int64(elapsed/time.Second), c); p.Reads+p.Writes+p.Throttles > 0 {
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// countsOf picks the series' counters from a run's call counters (the
// cumulative stats' names, such as "AdminGetUser.attempts").
func countsOf(calls map[string]int64) seriesCounts {
	read, write := cognito.OpAdminGetUser.String(), cognito.OpAdminSetUserMFAPreference.String()
	return seriesCounts{
		reads: calls[read+".attempts"], writes: calls[write+".attempts"],
		throttles: calls[read+".throttled"] + calls[write+".throttled"],
	}
}

package cognitotest

import (
	"slices"
	"time"
)

// Outcome is how the server disposed of a request.
type Outcome string

// The outcomes of a request.
const (
	// OutcomePending means the request has not been answered yet.
	OutcomePending Outcome = ""
	// OutcomeOK is a 200 response.
	OutcomeOK Outcome = "ok"
	// OutcomeThrottled is a TooManyRequestsException from ThrottleNext,
	// FailNext or a quota.
	OutcomeThrottled Outcome = "throttled"
	// OutcomeError500 is an injected InternalErrorException.
	OutcomeError500 Outcome = "error500"
	// OutcomeResetBefore is a connection reset before any change.
	OutcomeResetBefore Outcome = "reset_before"
	// OutcomeResetAfter is a connection reset after the operation ran.
	OutcomeResetAfter Outcome = "reset_after"
	// OutcomeError is any other error response: validation, not found,
	// authentication, unknown operation.
	OutcomeError Outcome = "error"
	// OutcomeCanceled means the client or Close ended the request during
	// injected latency; nothing changed and nothing was sent.
	OutcomeCanceled Outcome = "canceled"
)

// OpStats counts the requests of one operation by outcome. Received counts
// every request, including those still in flight; the other counts are
// disjoint except Applied.
type OpStats struct {
	Received    int
	OK          int
	Throttled   int
	Faulted500  int
	ResetBefore int
	ResetAfter  int
	Errors      int
	Canceled    int
	// Applied counts requests whose operation ran and succeeded on the
	// server, whether or not the response reached the client: OK plus
	// ResetAfter requests that did not fail. For a write, it is how many
	// times the change was applied.
	Applied int
}

func (o *OpStats) add(p OpStats) {
	o.Received += p.Received
	o.OK += p.OK
	o.Throttled += p.Throttled
	o.Faulted500 += p.Faulted500
	o.ResetBefore += p.ResetBefore
	o.ResetAfter += p.ResetAfter
	o.Errors += p.Errors
	o.Canceled += p.Canceled
	o.Applied += p.Applied
}

// Request is a recorded request.
type Request struct {
	// Time is the arrival time by the server's clock.
	Time time.Time
	// Op is the operation named by X-Amz-Target (the whole header value
	// when it lacks the Cognito prefix).
	Op string
	// Body is the raw JSON request body.
	Body []byte
	// Status is the HTTP status sent, or 0 when no response was sent
	// (connection reset, canceled, or still pending).
	Status int
	// Outcome says how the request ended; OutcomePending while in flight.
	Outcome Outcome
	// Code is the error code sent, or "".
	Code string
}

// binWidth is the resolution of the per-category arrival histogram.
const binWidth = 10 * time.Millisecond

const (
	binsPerSecond = int64(time.Second / binWidth)
	binsPerChunk  = 1024
)

// stats holds the server's observations. It is guarded by Server.mu.
type stats struct {
	gen   uint64 // incremented by reset; finishes of older requests are dropped
	start time.Time
	ops   map[string]*OpStats
	cats  map[Category]*catStats
	reqs  []*Request
	exact bool // per-category arrival times are complete since start
}

// catStats holds arrivals of one category: a sparse histogram of binWidth
// bins, aligned to the Unix epoch and kept in chunks of binsPerChunk bins,
// and, while recording, every arrival time.
type catStats struct {
	chunks map[int64]*[binsPerChunk]uint32
	times  []time.Time
}

// arrival identifies a request in stats.finish.
type arrival struct {
	gen uint64
	op  string
	req *Request
}

func (st *stats) reset(now time.Time, recording bool) {
	st.gen++
	st.start = now
	st.ops = make(map[string]*OpStats)
	st.cats = make(map[Category]*catStats)
	st.reqs = nil
	st.exact = recording
}

func (st *stats) opStats(op string) *OpStats {
	o := st.ops[op]
	if o == nil {
		o = new(OpStats)
		st.ops[op] = o
	}
	return o
}

func (st *stats) arrive(t time.Time, op string, c Category, body []byte, recording bool) arrival {
	st.opStats(op).Received++
	if c != "" {
		cs := st.cats[c]
		if cs == nil {
			cs = &catStats{chunks: make(map[int64]*[binsPerChunk]uint32)}
			st.cats[c] = cs
		}
		bin := binOf(t)
		ci, off := floorDiv(bin, binsPerChunk), floorMod(bin, binsPerChunk)
		ch := cs.chunks[ci]
		if ch == nil {
			ch = new([binsPerChunk]uint32)
			cs.chunks[ci] = ch
		}
		ch[off]++
		if st.exact {
			cs.times = append(cs.times, t)
		}
	}
	a := arrival{gen: st.gen, op: op}
	if recording {
		a.req = &Request{Time: t, Op: op, Body: body}
		st.reqs = append(st.reqs, a.req)
	}
	return a
}

func (st *stats) finish(a arrival, out Outcome, status int, code string, applied bool) {
	if a.gen != st.gen {
		return
	}
	o := st.opStats(a.op)
	switch out {
	case OutcomeOK:
		o.OK++
	case OutcomeThrottled:
		o.Throttled++
	case OutcomeError500:
		o.Faulted500++
	case OutcomeResetBefore:
		o.ResetBefore++
	case OutcomeResetAfter:
		o.ResetAfter++
	case OutcomeCanceled:
		o.Canceled++
	default:
		o.Errors++
	}
	if applied {
		o.Applied++
	}
	if a.req != nil {
		a.req.Outcome, a.req.Status, a.req.Code = out, status, code
	}
}

// binOf returns the index of t's histogram bin, counted from the Unix epoch.
func binOf(t time.Time) int64 {
	return t.Unix()*binsPerSecond + int64(t.Nanosecond())/int64(binWidth)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// SetRecording turns the recording of individual requests on or off; it is
// on when a server starts. With recording off, only counters (Calls, Stats)
// and the arrival histogram behind PerSecond and MaxInWindow are kept, so
// memory does not grow with the number of requests, only with elapsed time
// (a few bytes per category per second). Turning recording off keeps what was
// already recorded, but makes MaxInWindow approximate until ResetStats.
func (s *Server) SetRecording(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recording = on
	if !on {
		s.st.exact = false
		for _, cs := range s.st.cats {
			cs.times = nil
		}
	}
}

// ResetStats forgets all counters, recorded requests and arrival times, and
// restarts PerSecond at the current second. Requests in flight are counted
// as received before the reset and not counted afterwards. Users, faults and
// quotas are unchanged.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.reset(s.now(), s.recording)
}

// Calls returns the number of requests received for op, whatever their
// outcome, since the server started or ResetStats. The op "" counts all
// operations.
func (s *Server) Calls(op string) int {
	return s.Stats(op).Received
}

// Stats returns the counts of op's requests by outcome since the server
// started or ResetStats. The op "" sums all operations, including unknown
// ones.
func (s *Server) Stats(op string) OpStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op != "" {
		if o := s.st.ops[op]; o != nil {
			return *o
		}
		return OpStats{}
	}
	var sum OpStats
	for _, o := range s.st.ops {
		sum.add(*o)
	}
	return sum
}

// Requests returns copies of the recorded requests of op in arrival order
// (op "" returns all). It returns nil when recording is off and nothing was
// recorded before.
func (s *Server) Requests(op string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.st.reqs {
		if op == "" || r.Op == op {
			c := *r
			c.Body = slices.Clone(r.Body)
			out = append(out, c)
		}
	}
	return out
}

// PerSecond returns the number of calls of category c received in each
// calendar second (UTC second boundaries, by arrival time on the server's
// clock), from the second in which the server started or ResetStats was
// called, through the current second. Calls stamped before that start are
// left out. The slice always has at least one element.
func (s *Server) PerSecond(c Category) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, last := s.st.start.Unix(), s.now().Unix()
	if last < first {
		last = first
	}
	out := make([]int, last-first+1)
	cs := s.st.cats[c]
	if cs == nil {
		return out
	}
	for ci, ch := range cs.chunks {
		for off, n := range ch {
			if n == 0 {
				continue
			}
			sec := floorDiv(ci*binsPerChunk+int64(off), binsPerSecond)
			if sec < first {
				continue
			}
			if i := sec - first; i < int64(len(out)) {
				out[i] += int(n)
			} else {
				// Arrived after "now" by a clock that moved backwards.
				out = append(out, make([]int, i-int64(len(out))+1)...)
				out[i] += int(n)
			}
		}
	}
	return out
}

// MaxInWindow returns the largest number of calls of category c whose
// arrival times fall in any half-open interval [t, t+w), since the server
// started or ResetStats. It is exact while recording has been on since
// then. Otherwise it is computed from a histogram of 10 ms bins and is an
// upper bound that may exceed the exact count by the calls of up to two
// bins. It returns 0 when w <= 0.
func (s *Server) MaxInWindow(c Category, w time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.st.cats[c]
	if cs == nil || w <= 0 {
		return 0
	}
	if s.st.exact {
		return maxInWindowExact(cs.times, w)
	}
	return maxInWindowBins(cs, w)
}

func maxInWindowExact(times []time.Time, w time.Duration) int {
	ts := slices.Clone(times)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, i := 0, 0
	for j := range ts {
		for ts[j].Sub(ts[i]) >= w {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}

func maxInWindowBins(cs *catStats, w time.Duration) int {
	type bin struct {
		idx int64
		n   int
	}
	var bins []bin
	for ci, ch := range cs.chunks {
		for off, n := range ch {
			if n != 0 {
				bins = append(bins, bin{ci*binsPerChunk + int64(off), int(n)})
			}
		}
	}
	slices.SortFunc(bins, func(a, b bin) int {
		switch {
		case a.idx < b.idx:
			return -1
		case a.idx > b.idx:
			return 1
		}
		return 0
	})
	// A window of length w touches at most span consecutive bins.
	span := int64((w+binWidth-1)/binWidth) + 1
	best, sum, i := 0, 0, 0
	for j := range bins {
		sum += bins[j].n
		for bins[j].idx-bins[i].idx >= span {
			sum -= bins[i].n
			i++
		}
		best = max(best, sum)
	}
	return best
}

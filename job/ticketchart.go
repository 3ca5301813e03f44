package job

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"time"
)

// The chart's geometry, in SVG user units.
const (
	chartW, chartH               = 720, 260
	chartLeft, chartRight        = 64, 16
	chartTop, chartBottom        = 28, 40
	chartPlotW, chartPlotH       = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
	chartReadColor               = "#1f77b4"
	chartWriteColor              = "#ff7f0e"
	chartThrottleColor           = "#d62728"
	chartGridColor               = "#dddddd"
	chartRunBoundaryColor        = "#888888"
	chartFont                    = `font-family="sans-serif" font-size="11"`
	chartNoSeriesExplanation     = "No rate over time was recorded: the runs of this checkpoint were made by a version that did not record it."
	chartRunLabelMaxRunes    int = 8
)

// chart returns the rate over time as an inline SVG document: reads and
// writes per second of each run, one step per recorded interval, runs side
// by side on an axis of running time (the time between runs is left out)
// with a dashed line where a run starts, and a red mark under each interval
// with throttles.
func (t *Ticket) chart() string {
	type seg struct {
		x0, x1        float64 // seconds on the axis
		reads, writes float64 // per second
		throttles     int64
		runStart      bool
		runLabel      string
	}
	var segs []seg
	var total, yMax float64
	for _, r := range t.Runs {
		if len(r.Series) == 0 {
			continue
		}
		base := total
		first := true
		for _, p := range r.Series {
			if p.Seconds <= 0 || p.Start < 0 || p.Reads < 0 || p.Writes < 0 || p.Throttles < 0 {
				continue // not written by this program: leave it out rather than draw nonsense
			}
			s := seg{
				x0: base + float64(p.Start), x1: base + float64(p.Start+p.Seconds),
				reads: float64(p.Reads) / float64(p.Seconds), writes: float64(p.Writes) / float64(p.Seconds),
				throttles: p.Throttles,
			}
			if first {
				// A run ID starts with its start time, the same for runs of one
				// day: label the run with its random part, which the runs table
				// shows too.
				_, tail, found := strings.Cut(r.ID, "-")
				if !found {
					tail = r.ID
				}
				s.runStart, s.runLabel, first = true, tail, false
			}
			segs = append(segs, s)
			total = max(total, s.x1)
			yMax = max(yMax, s.reads, s.writes)
		}
	}
	if len(segs) == 0 {
		return "<p>" + html.EscapeString(chartNoSeriesExplanation) + "</p>"
	}
	yMax = niceCeil(yMax)
	x := func(sec float64) float64 { return chartLeft + sec/total*chartPlotW }
	y := func(rate float64) float64 { return chartTop + chartPlotH - rate/yMax*chartPlotH }
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Calls per second over the running time of the job">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, chartH)
	// Horizontal grid and y labels: 0, half, max.
	for _, v := range []float64{0, yMax / 2, yMax} {
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s"/>`+"\n", chartLeft, f(y(v)), chartLeft+chartPlotW, f(y(v)), chartGridColor)
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" %s>%s/s</text>`+"\n", chartLeft-6, f(y(v)+4), chartFont, rateLabel(v))
	}
	// Runs: a dashed line and the run ID where each starts.
	for _, s := range segs {
		if !s.runStart {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s" stroke-dasharray="4 3"/>`+"\n", f(x(s.x0)), chartTop, f(x(s.x0)), chartTop+chartPlotH, chartRunBoundaryColor)
		label := []rune(s.runLabel)
		if len(label) > chartRunLabelMaxRunes {
			label = label[:chartRunLabelMaxRunes]
		}
		fmt.Fprintf(&b, `<text x="%s" y="%d" %s fill="%s">run %s</text>`+"\n", f(x(s.x0)+3), chartTop+10, chartFont, chartRunBoundaryColor, html.EscapeString(string(label)))
	}
	// The two rates, as steps; a run's line ends where the run does.
	for _, line := range []struct {
		color string
		rate  func(seg) float64
	}{{chartReadColor, func(s seg) float64 { return s.reads }}, {chartWriteColor, func(s seg) float64 { return s.writes }}} {
		var pts []string
		flush := func() {
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", line.color, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for _, s := range segs {
			if s.runStart {
				flush()
			}
			v := f(y(line.rate(s)))
			pts = append(pts, f(x(s.x0))+","+v, f(x(s.x1))+","+v)
		}
		flush()
	}
	// Throttles: a red mark under the interval.
	for _, s := range segs {
		if s.throttles > 0 {
			fmt.Fprintf(&b, `<rect x="%s" y="%d" width="%s" height="4" fill="%s"><title>%d throttled</title></rect>`+"\n",
				f(x(s.x0)), chartTop+chartPlotH+2, f(max(x(s.x1)-x(s.x0), 1)), chartThrottleColor, s.throttles)
		}
	}
	// x axis: running time.
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s>0</text>`+"\n", chartLeft, chartH-18, chartFont)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" %s>%s</text>`+"\n", chartLeft+chartPlotW, chartH-18, chartFont, time.Duration(total*float64(time.Second)).Round(time.Second))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" %s>running time (the time between runs is left out)</text>`+"\n", chartLeft+chartPlotW/2, chartH-18, chartFont)
	// Legend.
	lx := chartLeft
	for _, l := range []struct{ color, text string }{
		{chartReadColor, "AdminGetUser per second"}, {chartWriteColor, "AdminSetUserMFAPreference per second"}, {chartThrottleColor, "throttled"},
	} {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" %s>%s</text>`+"\n", lx, chartH-12, l.color, lx+14, chartH-3, chartFont, l.text)
		lx += 14 + 7*len(l.text) + 16
	}
	b.WriteString("</svg>")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func rateLabel(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

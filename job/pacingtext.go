package job

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// The words of pacing that sees production, for the summary, the export's
// summary and status.

// pacingText describes a category's pacing in a line, for the summary and
// status: "auto: quota 25/s (service-quotas), production 10/s, reserve 20%,
// allowed 10/s".
func pacingText(f *allowance.Figures) string {
	if f == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: quota %s (%s), production %s, reserve %.0f%%, allowed %s", f.Mode, perSecond(f.Quota), f.QuotaSource,
		perSecond(f.Production), 100*f.Reserve, perSecond(f.Allowed))
	if f.ProductionThrottles > 0 {
		fmt.Fprintf(&b, ", production throttled %.0f times recently", f.ProductionThrottles)
	}
	return b.String()
}

// statusPacingText describes a run's pacing figures for status, or "".
func statusPacingText(f map[string]float64) string {
	var b strings.Builder
	for _, name := range []string{"read", "write"} {
		auto, ok := f[name+"_auto"]
		if !ok {
			continue
		}
		mode := "auto"
		if auto == 0 {
			mode = "static (no usage data)"
		}
		fmt.Fprintf(&b, "\n      %s pacing %s: quota %s, production %s, reserve %.0f%%, allowed %s", name, mode,
			perSecond(f[name+"_quota_rps"]), perSecond(f[name+"_production_rps"]), 100*f["reserve"], perSecond(f[name+"_allowed_rps"]))
	}
	return b.String()
}

// perSecond formats a rate such as "12.5/s" (0 is "0/s": none).
func perSecond(v float64) string {
	return strconv.FormatFloat(pace.Round2(v), 'f', -1, 64) + "/s"
}

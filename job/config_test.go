package job

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestThreshold(t *testing.T) {
	tests := []struct {
		in        string
		want      Threshold
		failed    int64
		processed int64
		exceeded  bool
	}{
		{"50", Threshold{Count: 50}, 50, 60, false},
		{"50", Threshold{Count: 50}, 51, 60, true},
		{"5%", Threshold{Percent: 5}, 5, 10, false}, // counted over at least 100 users
		{"5%", Threshold{Percent: 5}, 6, 10, true},
		{"5%", Threshold{Percent: 5}, 50, 1000, false},
		{"5%", Threshold{Percent: 5}, 51, 1000, true},
		{" 0.5 % ", Threshold{Percent: 0.5}, 6, 1000, true},
		{"0", Threshold{}, 1_000_000, 1_000_000, false},
		{"0%", Threshold{}, 1_000_000, 1_000_000, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseThreshold(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("parseThreshold(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if ex := got.Exceeded(tt.failed, tt.processed); ex != tt.exceeded {
				t.Errorf("%v.Exceeded(%d, %d) = %v, want %v", got, tt.failed, tt.processed, ex, tt.exceeded)
			}
		})
	}
	for _, bad := range []string{"", "lots", "-1", "101%", "5%%", "1e3x"} {
		if _, err := parseThreshold(bad); err == nil {
			t.Errorf("parseThreshold(%q) = nil error, want one", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	base := DefaultConfig()
	base.UserPoolID, base.Input = "eu-west-1_AbC123", "users.csv"
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" = valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"no pool", func(c *Config) { c.UserPoolID = "" }, "--user-pool-id is required"},
		{"pool without underscore", func(c *Config) { c.UserPoolID = "useast1abc" }, "not a user pool ID"},
		{"pool too long", func(c *Config) { c.UserPoolID = "us-east-1_" + strings.Repeat("a", 50) }, "at most 55"},
		{"pool with space", func(c *Config) { c.UserPoolID = "us east-1_abc" }, "not a user pool ID"},
		{"no input", func(c *Config) { c.Input = "" }, "--input is required"},
		{"negative rate", func(c *Config) { c.WriteRPS = -1 }, "--write-rps"},
		{"unlimited rate", func(c *Config) { c.ReadRPS = 0 }, ""},
		{"no workers", func(c *Config) { c.Workers = 0 }, "--workers"},
		{"short lock", func(c *Config) { c.LockTTL = 1 }, "--lock-ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrUsage)):
				t.Errorf("Validate() = %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}

func TestDerivedLocations(t *testing.T) {
	c := Config{Input: "s3://bucket/jobs/users.csv"}
	if got := c.CheckpointLocation(); got != "s3://bucket/jobs/users.checkpoint" {
		t.Errorf("CheckpointLocation() = %q", got)
	}
	c.DryRun = true
	if got, want := c.ReportLocation(), "s3://bucket/jobs/users.dry-run.report.csv"; got != want {
		t.Errorf("ReportLocation() = %q, want %q", got, want)
	}
	c = Config{Input: "./data.v2/users", Summary: "out.json"}
	if got, want := c.CheckpointLocation(), "./data.v2/users.checkpoint"; got != want {
		t.Errorf("CheckpointLocation() = %q, want %q (a dot in a folder name is not an extension)", got, want)
	}
	if got := c.SummaryLocation(); got != "out.json" {
		t.Errorf("SummaryLocation() = %q, want the flag's value", got)
	}
}

func TestRunSeconds(t *testing.T) {
	tests := []struct {
		reads, writes, readRPS, writeRPS, want float64
	}{
		{1000, 100, 40, 10, 25}, // reads bind
		{1000, 650, 40, 10, 65}, // writes bind
		{1000, 650, 0, 10, 65},  // unlimited reads add nothing
		{1000, 650, 40, 0, 25},  // unlimited writes add nothing
		{1000, 650, math.Inf(1), math.Inf(1), 0},
	}
	for _, tt := range tests {
		if got := RunSeconds(tt.reads, tt.writes, tt.readRPS, tt.writeRPS); got != tt.want {
			t.Errorf("RunSeconds(%v, %v, %v, %v) = %v, want %v", tt.reads, tt.writes, tt.readRPS, tt.writeRPS, got, tt.want)
		}
	}
}

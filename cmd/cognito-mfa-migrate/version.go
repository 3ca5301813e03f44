package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

type versionCmd struct{}

func (versionCmd) Run(a *app) error {
	_, err := fmt.Fprintln(a.stdout, versionLine())
	return err
}

// programVersion is the version this binary reports (see buildVersion),
// recorded in the checkpoint's run history.
func programVersion() string {
	v, _ := buildVersion(version, commit, debug.ReadBuildInfo)
	return v
}

// versionLine is what the version command and --version print.
func versionLine() string {
	v, c := buildVersion(version, commit, debug.ReadBuildInfo)
	return fmt.Sprintf("cognito-mfa-migrate %s (commit %s, %s, %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildVersion returns the version and commit to print: those set with
// -ldflags -X, else what the Go toolchain recorded in the binary: the
// module version of `go install module@vX` (vX), and the VCS revision of a
// build in a git checkout.
func buildVersion(v, c string, read func() (*debug.BuildInfo, bool)) (string, string) {
	if v != "dev" && c != "none" {
		return v, c
	}
	bi, ok := read()
	if !ok {
		return v, c
	}
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	if c == "none" {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			c = rev
			if modified == "true" {
				c += "-dirty"
			}
		}
	}
	return v, c
}

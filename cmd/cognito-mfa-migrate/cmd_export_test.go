package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// exportArgs returns the arguments of an export of the fixture's pool to
// out, followed by extra.
func (f *fixture) exportArgs(out string, extra ...string) []string {
	return append([]string{"export",
		"--user-pool-id", cognitotest.DefaultPoolID,
		"--endpoint-url", f.srv.URL,
		"--output", out,
		"--progress", "none",
		"--log-format", "json",
	}, extra...)
}

func readExportFile(t *testing.T, path string) []input.ExportRecord {
	t.Helper()
	var recs []input.ExportRecord
	data := readFile(t, path)
	if bytes.HasPrefix(data, []byte("#")) { // the origin comment line
		_, data, _ = bytes.Cut(data, []byte("\n"))
	}
	if err := gocsv.UnmarshalBytes(data, &recs); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return recs
}

// TestExportCommand runs the built command: export (flags and
// environment), then run over the export, which reads only the users with
// legacy MFA options.
func TestExportCommand(t *testing.T) {
	f := newFixture(t, 200)
	inPool, legacy := 0, 0
	for _, s := range f.seeds {
		if s.InPool {
			inPool++
			if len(s.User.MFAOptions) > 0 {
				legacy++
			}
		}
	}
	out := filepath.Join(f.dir, "pool.users.csv")
	p, code := f.exec(t, time.Minute, f.exportArgs(out, "--list-rps", "0")...)
	if code != 0 {
		t.Fatalf("export exit %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	if got := len(readExportFile(t, out)); got != legacy {
		t.Errorf("export has %d rows, want the %d users with legacy MFA options", got, legacy)
	}
	if msgs := p.messages(); !strings.Contains(msgs, "export summary") {
		t.Errorf("stderr has no export summary:\n%s", msgs)
	}

	// --all from the environment, as an ECS task definition sets it.
	all := filepath.Join(f.dir, "all.users.csv")
	env := append(f.env, "COGNITO_MFA_MIGRATE_ALL=true", "COGNITO_MFA_MIGRATE_LIST_RPS=0")
	p = startEnv(t, env, f.exportArgs(all)...)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("export --all exit %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	if got := len(readExportFile(t, all)); got != inPool {
		t.Errorf("export with COGNITO_MFA_MIGRATE_ALL=true has %d rows, want every user (%d)", got, inPool)
	}

	reads := userReads(f.srv)
	p, code = f.exec(t, time.Minute, "run", "--user-pool-id", cognitotest.DefaultPoolID, "--input", all,
		"--endpoint-url", f.srv.URL, "--progress", "none", "--read-rps", "0", "--write-rps", "0")
	if code != 0 {
		t.Fatalf("run over the export exit %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	if n := userReads(f.srv) - reads; n != legacy {
		t.Errorf("run over the --all export made %d AdminGetUser calls, want %d (the users with legacy options)", n, legacy)
	}
}

// TestExportSIGTERM stops the built command while it lists: exit 4, no
// output and no temporary file left, and a message that says so.
func TestExportSIGTERM(t *testing.T) {
	f := newFixture(t, 600) // 10 pages
	out := filepath.Join(f.dir, "pool.users.csv")
	p := f.start(t, f.exportArgs(out, "--list-rps", "4")...)
	waitUntil(t, p, time.Minute, "two ListUsers calls", func() bool { return f.srv.Calls("ListUsers") >= 2 })
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, time.Minute); code != 4 {
		t.Fatalf("export after SIGTERM exit %d, want 4; stderr:\n%s", code, p.stderr.tail())
	}
	if n := f.srv.Calls("ListUsers"); n >= 10 {
		t.Fatalf("the export listed all %d pages before the signal; the test proves nothing", n)
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), "pool.users") {
			t.Errorf("%s left in the output folder, want no output and no temporary file", e.Name())
		}
	}
	if msgs := p.messages(); !strings.Contains(msgs, "NOT written") {
		t.Errorf("stderr does not say the output was NOT written:\n%s", msgs)
	}
}

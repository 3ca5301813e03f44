package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

var update = flag.Bool("update", false, "rewrite the flag tables of README.md from the command line model")

// flagTable renders the flags of a kong node as the README's markdown table.
func flagTable(flags []*kong.Flag) string {
	var b strings.Builder
	b.WriteString("| flag | environment variable | default | meaning |\n|---|---|---|---|\n")
	for _, f := range flags {
		if f.Name == "help" || f.Hidden {
			continue
		}
		def := f.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		env := "—"
		if len(f.Envs) > 0 {
			env = "`" + f.Envs[0] + "`"
		}
		help := strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;").Replace(f.Help)
		fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", f.Name, env, def, help)
	}
	return b.String()
}

// readmeTables returns the tables README.md must hold, by section name.
func readmeTables(t *testing.T) map[string]string {
	t.Helper()
	var c cli
	p, err := newParser(&c, func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{"global": flagTable(p.Model.Flags)}
	for _, n := range p.Model.Children {
		if len(n.Flags) > 0 {
			tables[n.Name] = flagTable(n.Flags)
		}
	}
	return tables
}

var sectionRE = regexp.MustCompile(`(?s)<!-- flags:(\w+) -->\n(.*?)<!-- /flags -->`)

// TestReadmeFlagTables keeps README.md's flag tables equal to what --help
// shows: names, environment variables, defaults and help text all come from
// the same kong model. Run with -update to rewrite them.
func TestReadmeFlagTables(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tables := readmeTables(t)
	seen := map[string]bool{}
	out := sectionRE.ReplaceAllStringFunc(string(data), func(m string) string {
		name := sectionRE.FindStringSubmatch(m)[1]
		seen[name] = true
		want, ok := tables[name]
		if !ok {
			t.Errorf("README.md has a flag table for %q, which is not a command with flags", name)
			return m
		}
		if got := sectionRE.FindStringSubmatch(m)[2]; got != want && !*update {
			t.Errorf("README.md flag table %q is stale; run go test ./cmd/cognito-mfa-migrate -run TestReadmeFlagTables -update\n got:\n%s\nwant:\n%s", name, got, want)
		}
		return "<!-- flags:" + name + " -->\n" + want + "<!-- /flags -->"
	})
	for name := range tables {
		if !seen[name] {
			t.Errorf("README.md has no flag table for %q (add <!-- flags:%s --><!-- /flags -->)", name, name)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package job

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// fileOrder is the order of the package's files along the flow, lowest
// first (doc.go says the same). A file may use the package-level names of
// files at its level or below, never of a file above it.
var fileOrder = []string{
	"errors.go", "mask.go", "pacing.go", "pacingtext.go", "config.go", "outcome.go", "plan.go", "row.go", "cells.go", "s3access.go",
	"files_unix.go", "files_other.go", "fileid_unix.go", "fileid_other.go", "inputfile.go", "resume.go", "files.go", "exists.go",
	"scancache.go", "startup.go", "report.go", "summary.go", "interim.go",
	"status.go", "ticket.go", "ticketchart.go", "metrics.go", "gate.go", "stopper.go", "worker.go", "dispatch.go", "sizer.go", "lease.go",
	"series.go", "recorder.go", "run.go", "exportchains.go", "export.go", "pools.go",
}

// fileUses returns, for every non-test Go file of the package in dir, the
// files whose package-level names (types, functions, variables, constants)
// it uses.
func fileUses(t *testing.T, dir string) map[string]map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	declaredIn := map[string]string{}
	files := map[string]*ast.File{}
	for _, p := range pkgs {
		for path, f := range p.Files {
			name := path[strings.LastIndexByte(path, '/')+1:]
			files[name] = f
			for _, obj := range f.Scope.Objects {
				declaredIn[obj.Name] = name
			}
		}
	}
	uses := map[string]map[string][]string{}
	for name, f := range files {
		for _, id := range f.Unresolved {
			decl, ok := declaredIn[id.Name]
			if !ok || decl == name {
				continue
			}
			if uses[name] == nil {
				uses[name] = map[string][]string{}
			}
			if !slices.Contains(uses[name][decl], id.Name) {
				uses[name][decl] = append(uses[name][decl], id.Name)
			}
		}
	}
	return uses
}

// TestFilesFollowTheFlow keeps the layout issue 9 asked for: no file uses a
// name declared in a file above it in the flow, and only run.go and
// recorder.go use what they declare.
func TestFilesFollowTheFlow(t *testing.T) {
	uses := fileUses(t, ".")
	level := map[string]int{}
	for i, f := range fileOrder {
		level[f] = i
	}
	var names []string
	for f := range uses {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if _, ok := level[f]; !ok {
			t.Errorf("%s is not in fileOrder: add it at its level of the flow (and to doc.go)", f)
			continue
		}
		for decl, ids := range uses[f] {
			if _, ok := level[decl]; !ok {
				t.Errorf("%s is not in fileOrder: add it at its level of the flow (and to doc.go)", decl)
				continue
			}
			if level[decl] > level[f] {
				t.Errorf("%s uses %v declared in %s, a file above it in the flow", f, ids, decl)
			}
			if (decl == "run.go" || decl == "recorder.go") && f != "run.go" && f != "recorder.go" {
				t.Errorf("%s uses %v declared in %s: only run.go and recorder.go may", f, ids, decl)
			}
		}
	}
}

package main

import (
	"encoding/json"
	"io"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
)

// resultDoc is the JSON document of a command that ended before it could
// make its summary (a usage error, no credentials): a script reading
// stdout still gets one document, with the exit code the process ends
// with.
type resultDoc struct {
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

// writeResult writes the one JSON document of --format json to w: sum, or
// a resultDoc for err when there is no summary. It writes nothing for
// another format.
func writeResult(w io.Writer, format string, sum any, err error) {
	if format != "json" {
		return
	}
	var doc any = sum
	if sum == nil {
		doc = resultDoc{Error: scrub(errText(err)), ExitCode: job.ExitCode(err)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkStdout refuses two outputs on stdout: the --format json document
// and the --metrics emf lines would make neither readable.
func checkStdout(format, metrics string) error {
	if format == "json" && metrics == "emf" {
		return usageErr("--format json and --metrics emf both write to stdout: choose one (CloudWatch reads the EMF lines from stdout; a script reads the JSON document)")
	}
	return nil
}

package preflight

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSamplePolicy checks that a denied probe points at the sample policy
// that grants the action: the task role's for run, the workstation's for
// export's ListUsers; and that both files exist.
func TestSamplePolicy(t *testing.T) {
	for action, want := range map[string]string{
		"AdminGetUser": "iam-policy.json", "AdminSetUserMFAPreference": "iam-policy.json", "ListUsers": "iam-policy-export.json",
	} {
		got := samplePolicy(action)
		if got != want {
			t.Errorf("samplePolicy(%s) = %s, want %s", action, got, want)
		}
		if _, err := os.Stat(filepath.Join("..", "..", "samples", got)); err != nil {
			t.Errorf("samplePolicy(%s): %v", action, err)
		}
	}
}

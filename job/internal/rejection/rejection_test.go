package rejection

import "testing"

func TestForStatus(t *testing.T) {
	tests := []struct {
		status   string
		wantCode string
		wantOK   bool
	}{
		{"UNCONFIRMED", "UserNotConfirmedException", true},
		{"RESET_REQUIRED", "PasswordResetRequiredException", true},
		{"CONFIRMED", "", false},
		{"FORCE_CHANGE_PASSWORD", "", false},
		{"EXTERNAL_PROVIDER", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			r, ok := ForStatus(tt.status)
			if ok != tt.wantOK || r.Code != tt.wantCode || (ok && (r.Status != tt.status || r.Message == "")) {
				t.Errorf("ForStatus(%q) = %+v, %v; want code %q, %v", tt.status, r, ok, tt.wantCode, tt.wantOK)
			}
		})
	}
}

func TestRulesListsTheTable(t *testing.T) {
	rules := Rules()
	if len(rules) != 2 {
		t.Fatalf("Rules() = %+v, want the 2 rows of the table", rules)
	}
	for _, r := range rules {
		if got, ok := ForStatus(r.Status); !ok || got != r {
			t.Errorf("Rules() row %+v, ForStatus(%q) = %+v, %v; want the same row", r, r.Status, got, ok)
		}
	}
}

package input_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// TestOperatorMistakes: files an operator gives by mistake get a message
// that names the fix.
func TestOperatorMistakes(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
		notWant    string
	}{
		{"list-users JSON", `{
    "Users": [
        {"Username": "alice", "MFAOptions": [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]}
    ]
}
`, []string{"not a CSV file", "aws cognito-idp list-users", "cognito-mfa-migrate export"}, ""},
		{"JSON array", "[\"alice\", \"bob\"]\n", []string{"it is JSON", "cognito-mfa-migrate export"}, ""},
		{"headerless usernames", "alice\nbob\ncarol\n", []string{`add a first line that says username`, `"alice", is being read as the header`}, "--username-column"},
		{"two columns, no username", "email,name\na@example.com,A\n", []string{"use --username-column"}, "first line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := input.NewReader(strings.NewReader(tt.data), "users.csv", input.Options{})
			if !errors.Is(err, input.ErrInput) {
				t.Fatalf("NewReader = %v, want an input error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("NewReader error %q does not say %q", err, w)
				}
			}
			if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("NewReader error %q says %q", err, tt.notWant)
			}
		})
	}
}

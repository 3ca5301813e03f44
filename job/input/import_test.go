package input

import (
	"fmt"
	"testing"
)

func TestImportSplit(t *testing.T) {
	tests := []struct {
		name, line string
		want       []string
	}{
		{"empty", "", []string{""}},
		{"one", "alice", []string{"alice"}},
		{"several", "alice,a@example.com,TRUE", []string{"alice", "a@example.com", "TRUE"}},
		{"empty values", ",,", []string{"", "", ""}},
		{"escaped comma", `John\, Jr.,x`, []string{"John, Jr.", "x"}},
		{"escaped comma at the ends", `\,a\,,\,`, []string{",a,", ","}},
		{"quotes are ordinary", `"alice","b"`, []string{`"alice"`, `"b"`}},
		{"other backslashes are ordinary", `C:\dir,a\\b`, []string{`C:\dir`, `a\\b`}},
		{"backslash backslash comma", `a\\,b`, []string{`a\,b`}},
		{"trailing backslash on the last value", `a,b\`, []string{"a", `b\`}},
		{"trimmed", " alice \t, b ,\tc\t", []string{"alice", "b", "c"}},
		{"inner spaces kept", "a b, c d ", []string{"a b", "c d"}},
		{"escaped comma then space", `a\, ,b`, []string{"a,", "b"}},
		{"carriage return is ordinary", "a\rb,c", []string{"a\rb", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s importSplitter
			got := fields(s.split([]byte(tt.line)))
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("split(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

// TestImportSplitReuse checks that the splitter's reused buffers do not let
// one line's values leak into the next.
func TestImportSplitReuse(t *testing.T) {
	var s importSplitter
	s.split([]byte(`a long first line\, with escapes,and,several,values`))
	got := fields(s.split([]byte("x,y")))
	if fmt.Sprintf("%q", got) != `["x" "y"]` {
		t.Errorf("split(%q) after a longer line = %q, want [x y]", "x,y", got)
	}
}

func fields(b [][]byte) []string {
	out := make([]string, len(b))
	for i, f := range b {
		out[i] = string(f)
	}
	return out
}

package input

import (
	"fmt"
	"strings"
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
		{"quotes inside a value are ordinary", `o"brien,a"b"`, []string{`o"brien`, `a"b"`}},
		{"quoted values", `"alice","b"`, []string{"alice", "b"}},
		{"quoted comma", `"comma,user",x`, []string{"comma,user", "x"}},
		{"doubled quote", `"quote""user",x`, []string{`quote"user`, "x"}},
		{"quoted backslash comma is literal", `"a\,b",c`, []string{`a\,b`, "c"}},
		{"quoted spaces kept", `" a ", b`, []string{" a ", "b"}},
		{"spaces around a quoted value", ` "a" ,b`, []string{"a", "b"}},
		{"empty quoted value", `"",x`, []string{"", "x"}},
		{"quoted last value with comma", `x,"y,z"`, []string{"x", "y,z"}},
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
			got := splitFields(&s, tt.line)
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
	got := splitFields(&s, "x,y")
	if fmt.Sprintf("%q", got) != `["x" "y"]` {
		t.Errorf("split(%q) after a longer line = %q, want [x y]", "x,y", got)
	}
}

// splitFields splits a complete record that is not malformed.
func splitFields(s *importSplitter, rec string) []string {
	f, _, _ := s.split([]byte(rec))
	return fields(f)
}

func fields(b [][]byte) []string {
	out := make([]string, len(b))
	for i, f := range b {
		out[i] = string(f)
	}
	return out
}

func TestImportSplitQuoting(t *testing.T) {
	tests := []struct {
		name, rec string
		open      bool
		bad       string
	}{
		{"open quote", `"abc,def`, true, ""},
		{"open after a doubled quote", `"a"",b`, true, ""},
		{"text after the closing quote", `"ab"c,d`, false, "text after the closing quote of a quoted value (column 1)"},
		{"text after the closing quote, last column", `a,"b"c`, false, "(column 2)"},
		{"closed across a line", "\"a\nb\",c", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s importSplitter
			_, open, bad := s.split([]byte(tt.rec))
			if open != tt.open || (tt.bad == "") != (bad == "") || !strings.Contains(bad, tt.bad) {
				t.Errorf("split(%q) = open %v, bad %q; want open %v, bad containing %q", tt.rec, open, bad, tt.open, tt.bad)
			}
		})
	}
}

package input

import (
	"strings"
	"testing"
)

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name, in, want string // want: "" for valid, else a substring of the reason
	}{
		{"ascii", "alice", ""},
		{"email", "alice+tag@example.com", ""},
		{"uuid", "2b9a5c1e-93f4-4c7e-8d3a-6f0e1c2b3a4d", ""},
		{"punctuation and symbols", `!"#$%&'()*+,-./:;<=>?@[\]^_{|}~` + "`", ""},
		{"letters and marks", "Zoë_Ünïcødé_日本語_e\u0301", ""},
		{"emoji", "😀🎉", ""},
		{"one character", "a", ""},
		{"128 ascii", strings.Repeat("a", 128), ""},
		{"128 two-byte", strings.Repeat("é", 128), ""},
		{"128 four-byte", strings.Repeat("😀", 128), ""},
		{"empty", "", "empty"},
		{"129 ascii", strings.Repeat("a", 129), "longer than 128 characters (129)"},
		{"129 two-byte", strings.Repeat("é", 129), "longer than 128 characters (129)"},
		{"space", "ali ce", "contains whitespace (U+0020) at character 4"},
		{"leading space (not trimmed here)", " alice", "contains whitespace (U+0020) at character 1"},
		{"tab", "a\tb", "contains whitespace (U+0009)"},
		{"no-break space", "a\u00a0b", "contains whitespace (U+00A0)"},
		{"ideographic space", "a\u3000b", "contains whitespace (U+3000)"},
		{"line feed", "a\nb", "contains a line break (U+000A)"},
		{"carriage return", "a\rb", "contains a line break (U+000D)"},
		{"NUL", "a\x00b", "contains a control character (U+0000)"},
		{"escape", "a\x1bb", "contains a control character (U+001B)"},
		{"DEL", "a\x7fb", "contains a control character (U+007F)"},
		{"C1 control", "a\u0085b", "U+0085"},
		{"zero width space", "a\u200bb", "not a letter, mark, symbol, number or punctuation (U+200B) at character 2"},
		{"byte order mark", "\ufeffalice", "(U+FEFF) at character 1"},
		{"private use", "a\ue000", "(U+E000)"},
		{"invalid UTF-8", "ab\xffc", "not valid UTF-8 (byte 0xff at byte 3)"},
		{"truncated UTF-8", "ab\xc3", "not valid UTF-8 (byte 0xc3 at byte 3)"},
		{"surrogate half", "a\xed\xa0\x80", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ValidateUsername(tt.in)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("ValidateUsername(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

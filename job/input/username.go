package input

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxUsernameLength is the longest username Cognito accepts, in characters
// (Unicode code points), not bytes.
const MaxUsernameLength = 128

// usernameClasses are the Unicode categories of Cognito's UsernameType pattern
// [\p{L}\p{M}\p{S}\p{N}\p{P}]+.
var usernameClasses = []*unicode.RangeTable{unicode.L, unicode.M, unicode.S, unicode.N, unicode.P}

// ValidateUsername reports why s cannot be a Cognito username, or "" if it
// can. A username is valid UTF-8 of 1 to MaxUsernameLength characters, each a
// letter, mark, symbol, number or punctuation (Cognito's pattern
// [\p{L}\p{M}\p{S}\p{N}\p{P}]+): no whitespace, control or format
// characters. The reason names the first offending character and its 1-based
// position, for example "contains whitespace (U+0020) at character 4".
// ValidateUsername does not trim; callers trim spaces and tabs first.
func ValidateUsername(s string) string {
	if s == "" {
		return "empty"
	}
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return fmt.Sprintf("not valid UTF-8 (byte 0x%02x at byte %d)", s[i], i+1)
			}
			i += size
		}
	}
	n := 0
	for _, r := range s {
		n++
		if r > 0x20 && r < 0x7f {
			continue // printable ASCII: always a symbol, number, letter or punctuation
		}
		if reason := badRune(r); reason != "" {
			return fmt.Sprintf("%s at character %d", reason, n)
		}
	}
	if n > MaxUsernameLength {
		return fmt.Sprintf("longer than %d characters (%d)", MaxUsernameLength, n)
	}
	return ""
}

// badRune says what is wrong with r in a username, or "" if r is allowed.
func badRune(r rune) string {
	switch {
	case r == '\n' || r == '\r':
		return fmt.Sprintf("contains a line break (%U)", r)
	case unicode.IsSpace(r) || unicode.Is(unicode.Z, r):
		return fmt.Sprintf("contains whitespace (%U)", r)
	case unicode.IsControl(r):
		return fmt.Sprintf("contains a control character (%U)", r)
	case !unicode.In(r, usernameClasses...):
		return fmt.Sprintf("contains a character that is not a letter, mark, symbol, number or punctuation (%U)", r)
	}
	return ""
}

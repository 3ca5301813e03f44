package job

import (
	"strings"
	"testing"
)

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"+14155550100", "+1******0100"},
		{"+447700900123", "+4******0123"},
		{"+1 (415) 555-0199", "+1******0199"},
		{"12345", "******"},
		{"+123456", "+1******3456"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := MaskPhone(tt.in); got != tt.want {
				t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskPhones(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no digits here", "no digits here"},
		{"user +14155550100 has no mfa", "user +1******0100 has no mfa"},
		{"phones +1 415 555 0100, +447700900123.", "phones +1******0100, +4******0123."},
		{"line 12 of 300 rows; 2026-11-26", "line 12 of 300 rows; 2026-11-26"},
		{"bare 14155550100 digits", "bare +1******0100 digits"},
		{`json {"phone":"4155550100"}`, `json {"phone":"+4******0100"}`},
		{"at the end: 4155550100.", "at the end: +4******0100."},
		{"two 4155550100 4155550101", "two +4******0100 +4******0101"},
		{"/tmp/demo-1010094088/users.csv", "/tmp/demo-1010094088/users.csv"},
		{"export-1764132000.csv", "export-1764132000.csv"},
		{"request c0911700-0000-4000-8000-000000000308", "request c0911700-0000-4000-8000-000000000308"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := maskPhones(tt.in)
			if got != tt.want {
				t.Errorf("maskPhones(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "5550100") {
				t.Errorf("maskPhones(%q) leaks the number: %q", tt.in, got)
			}
		})
	}
}

func TestRowWordRoundTrip(t *testing.T) {
	states := []userState{
		{Found: true, Enabled: true, LegacySMS: true, Phone: "+14155550100"},
		{Found: true, LegacySMS: true, LegacyOther: true, Phone: "+447700900123", TOTP: true, Email: true, OtherFactor: true, Preferred: mfaTOTP},
		{Found: true, SMS: true, Preferred: mfaSMS, Phone: "+99999999999"},
		{Found: true, Preferred: mfaEmail, Email: true},
		{Found: true, Preferred: "WEB_AUTHN"},
	}
	for _, o := range allOutcomes() {
		for _, s := range states {
			w := encodeRow(o, &s)
			gotO, gotS, read := decodeRow(w)
			want := s
			want.Phone = MaskPhone(s.Phone)
			if want.Preferred == "WEB_AUTHN" {
				want.Preferred = "OTHER"
			}
			if gotO != o || !read || gotS != want {
				t.Errorf("decodeRow(encodeRow(%v, %+v)) = %v, %+v, %v; want %v, %+v, true", o, s, gotO, gotS, read, o, want)
			}
		}
		if gotO, _, read := decodeRow(encodeRow(o, nil)); gotO != o || read {
			t.Errorf("decodeRow(encodeRow(%v, nil)) = %v, read %v; want %v, false", o, gotO, read, o)
		}
	}
	if _, s, read := decodeRow(encodeRow(outcomeNotFound, &userState{})); !read || s.Found {
		t.Errorf("not-found row decodes as %+v, read %v; want read, not found", s, read)
	}
}

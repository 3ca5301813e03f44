package cognitotest

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in      string
		want    userFilter
		wantErr bool
	}{
		{in: `username = "alice"`, want: userFilter{attr: "username", value: "alice"}},
		{in: `  email ^= "al"  `, want: userFilter{attr: "email", prefix: true, value: "al"}},
		{in: `family_name="Reddy"`, want: userFilter{attr: "family_name", value: "Reddy"}},
		{in: `name = "say \"hi\" \\o/"`, want: userFilter{attr: "name", value: `say "hi" \o/`}},
		{in: `cognito:user_status = "CONFIRMED"`, want: userFilter{attr: "cognito:user_status", value: "CONFIRMED"}},
		{in: `name = ""`, want: userFilter{attr: "name", value: ""}},
		{in: `custom:x = "1"`, wantErr: true},
		{in: `username = "a`, wantErr: true},
		{in: `username = "a" "b"`, wantErr: true},
		{in: `username < "a"`, wantErr: true},
		{in: `= "a"`, wantErr: true},
		{in: `username = "` + string(make([]byte, 260)) + `"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseFilter(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFilter(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && *got != tt.want {
				t.Errorf("parseFilter(%q) = %+v, want %+v", tt.in, *got, tt.want)
			}
		})
	}
}

func TestPageToken(t *testing.T) {
	tok := encodeToken(pageToken{Pool: "us-east-1_X1", Next: 120})
	if got, ok := decodeToken(tok); !ok || got != (pageToken{Pool: "us-east-1_X1", Next: 120}) {
		t.Errorf("decodeToken(encodeToken) = %+v, %v", got, ok)
	}
	for _, bad := range []string{"", "!!", "bm90IGpzb24"} {
		if _, ok := decodeToken(bad); ok {
			t.Errorf("decodeToken(%q) ok, want failure", bad)
		}
	}
}

func TestFloorDivMod(t *testing.T) {
	tests := []struct{ a, b, q, m int64 }{
		{7, 2, 3, 1}, {-7, 2, -4, 1}, {-8, 2, -4, 0}, {0, 5, 0, 0}, {-1, 1024, -1, 1023},
	}
	for _, tt := range tests {
		if q, m := floorDiv(tt.a, tt.b), floorMod(tt.a, tt.b); q != tt.q || m != tt.m {
			t.Errorf("floorDiv/Mod(%d, %d) = %d, %d, want %d, %d", tt.a, tt.b, q, m, tt.q, tt.m)
		}
	}
}

func TestBinsBeforeEpoch(t *testing.T) {
	// Arrival times before 1970 (or a zero time) must land in sane bins.
	var st stats
	start := time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)
	st.reset(start, false)
	st.arrive(start.Add(995*time.Millisecond), "AdminGetUser", UserRead, nil, false)
	st.arrive(start.Add(1005*time.Millisecond), "AdminGetUser", UserRead, nil, false)
	if got := maxInWindowBins(st.cats[UserRead], 10*time.Millisecond); got != 2 {
		t.Errorf("maxInWindowBins across the epoch = %d, want 2", got)
	}
	st.arrive(time.Time{}, "AdminGetUser", UserRead, nil, false)
}

func TestDefaultSub(t *testing.T) {
	a, b := defaultSub("p_1", "alice"), defaultSub("p_1", "bob")
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(a) || a == b || a != defaultSub("p_1", "alice") {
		t.Errorf("defaultSub = %q, %q, want distinct, stable UUIDs", a, b)
	}
}

// TestRecordingOffKeepsNoPerRequestState checks that, with recording off,
// nothing the server keeps grows with the number of requests.
func TestRecordingOffKeepsNoPerRequestState(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.SetRecording(false)
	s.SetUserSource(DefaultPoolID, func(name string) (User, bool) {
		return User{Username: name, Enabled: true, Attributes: map[string]string{"phone_number": "+14155550100"}}, true
	})
	c := s.Client()
	for i := range 300 {
		name := aws.String(fmt.Sprintf("user-%d", i))
		if _, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(DefaultPoolID), Username: name}); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.st.cats[UserRead]
	if len(s.st.reqs) != 0 || cs == nil || len(cs.times) != 0 || len(cs.chunks) > 2 || len(s.st.ops) != 1 || len(s.pools[DefaultPoolID].users) != 0 {
		t.Errorf("after 300 reads with recording off: %d requests, %d arrival times, %d histogram chunks, %d op counters, %d stored users; want 0, 0, <= 2, 1, 0",
			len(s.st.reqs), len(cs.times), len(cs.chunks), len(s.st.ops), len(s.pools[DefaultPoolID].users))
	}
}

package cognitotest_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// syntheticServer returns a server whose default pool generates legacy
// users user-0 ... user-999999 on demand, with recording off.
func syntheticServer(b *testing.B) *cognitotest.Server {
	b.Helper()
	s := cognitotest.NewServer()
	b.Cleanup(s.Close)
	s.SetRecording(false)
	s.SetUserSource(cognitotest.DefaultPoolID, func(name string) (cognitotest.User, bool) {
		n, err := strconv.Atoi(strings.TrimPrefix(name, "user-"))
		if err != nil || n < 0 || n >= 1_000_000 {
			return cognitotest.User{}, false
		}
		return legacyUser(name), true
	})
	return s
}

// BenchmarkMigrateParallel reads and migrates distinct synthetic users from
// parallel goroutines through the real SDK client.
func BenchmarkMigrateParallel(b *testing.B) {
	s := syntheticServer(b)
	c := s.Client()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := fmt.Sprintf("user-%d", next.Add(1)%1_000_000)
			if _, err := c.AdminGetUser(b.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)}); err != nil {
				b.Fatal(err)
			}
			if _, err := c.AdminSetUserMFAPreference(b.Context(), &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(pool), Username: aws.String(name),
				SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAdminGetUserReadOnly reads synthetic users; with recording off
// the server keeps no per-request state, so memory stays flat.
func BenchmarkAdminGetUserReadOnly(b *testing.B) {
	s := syntheticServer(b)
	c := s.Client()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		name := "user-" + strconv.Itoa(i%1_000_000)
		if _, err := c.AdminGetUser(b.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)}); err != nil {
			b.Fatal(err)
		}
	}
	if got := s.Calls("AdminGetUser"); got < b.N {
		b.Fatalf("Calls = %d, want >= %d", got, b.N)
	}
}

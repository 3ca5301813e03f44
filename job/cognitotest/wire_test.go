package cognitotest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go/middleware"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

func TestWireProtocol(t *testing.T) {
	s := newServer(t)
	addUsers(t, s, legacyUser("legacy"))
	getLegacy := `{"UserPoolId":"` + pool + `","Username":"legacy"}`
	tests := []struct {
		name, method, target, auth, body string
		wantStatus                       int
		wantCode                         string // "" for success
	}{
		{"success", "POST", target("AdminGetUser"), fakeAuth, getLegacy, 200, ""},
		{"unknown operation", "POST", target("AdminDisableUser"), fakeAuth, getLegacy, 400, "UnknownOperationException"},
		{"no target", "POST", "", fakeAuth, getLegacy, 400, "UnknownOperationException"},
		{"other service prefix", "POST", "AWSCognitoIdentityService.GetId", fakeAuth, `{}`, 400, "UnknownOperationException"},
		{"GET", "GET", target("AdminGetUser"), fakeAuth, "", 400, "UnknownOperationException"},
		{"malformed JSON", "POST", target("AdminGetUser"), fakeAuth, `{"UserPoolId":`, 400, "SerializationException"},
		{"wrong JSON type", "POST", target("ListUsers"), fakeAuth, `{"UserPoolId":"` + pool + `","Limit":"ten"}`, 400, "SerializationException"},
		{"empty body", "POST", target("AdminGetUser"), fakeAuth, ``, 400, "SerializationException"},
		{"no Authorization", "POST", target("AdminGetUser"), "", getLegacy, 400, "MissingAuthenticationTokenException"},
		{"missing username", "POST", target("AdminGetUser"), fakeAuth, `{"UserPoolId":"` + pool + `"}`, 400, "InvalidParameterException"},
		{"AdminSetUserSettings without MFAOptions", "POST", target("AdminSetUserSettings"), fakeAuth, getLegacy, 400, "InvalidParameterException"},
		{"unknown user", "POST", target("AdminGetUser"), fakeAuth, `{"UserPoolId":"` + pool + `","Username":"x"}`, 400, "UserNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, s, tt.method, tt.target, tt.auth, tt.body)
			if r.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %v)", r.Status, tt.wantStatus, r.Body)
			}
			if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type = %q, want application/x-amz-json-1.1", got)
			}
			if r.Header.Get("X-Amzn-Requestid") == "" {
				t.Errorf("X-Amzn-Requestid missing")
			}
			code, _ := r.Body["__type"].(string)
			if code != tt.wantCode || r.Header.Get("X-Amzn-ErrorType") != tt.wantCode {
				t.Errorf("__type = %q, X-Amzn-ErrorType = %q, want %q", code, r.Header.Get("X-Amzn-ErrorType"), tt.wantCode)
			}
			if msg, _ := r.Body["message"].(string); tt.wantCode != "" && msg == "" {
				t.Errorf("error body %v has no message", r.Body)
			}
		})
	}

	t.Run("legacy user body", func(t *testing.T) {
		r := post(t, s, "POST", target("AdminGetUser"), fakeAuth, getLegacy)
		for _, key := range []string{"UserMFASettingList", "PreferredMfaSetting"} {
			if _, ok := r.Body[key]; ok {
				t.Errorf("AdminGetUser(legacy) body has %s = %v, want it omitted", key, r.Body[key])
			}
		}
		for _, key := range []string{"UserCreateDate", "UserLastModifiedDate"} {
			if _, ok := r.Body[key].(float64); !ok {
				t.Errorf("AdminGetUser(legacy) %s = %#v, want a JSON number", key, r.Body[key])
			}
		}
		if opts, _ := r.Body["MFAOptions"].([]any); len(opts) != 1 {
			t.Errorf("AdminGetUser(legacy) MFAOptions = %v, want one entry", r.Body["MFAOptions"])
		}
	})

	t.Run("internal error is 500", func(t *testing.T) {
		s.FailNext("AdminGetUser", cognitotest.FaultError500, 1)
		r := post(t, s, "POST", target("AdminGetUser"), fakeAuth, getLegacy)
		if r.Status != 500 || r.Body["__type"] != "InternalErrorException" {
			t.Errorf("injected 500 = %d %v, want 500 InternalErrorException", r.Status, r.Body)
		}
	})
}

// TestLargeResponses pages ListUsers many times with a client that does not
// retry: every 60-user page must arrive whole (see AvoidRequestBodyRace).
func TestLargeResponses(t *testing.T) {
	s := newServer(t)
	for i := range 60 {
		addUsers(t, s, legacyUser(fmt.Sprintf("user-with-a-long-name-%03d", i)))
	}
	c := s.Client(noRetry)
	for i := range 100 {
		out, err := c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool)})
		if err != nil || len(out.Users) != 60 {
			t.Fatalf("ListUsers #%d = %v, want 60 users", i, err)
		}
	}
}

func TestServerClose(t *testing.T) {
	s := cognitotest.NewServer()
	c := s.Client(noRetry)
	s.Close()
	s.Close() // a second Close is harmless
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	if err == nil || !strings.Contains(err.Error(), "connect") {
		t.Errorf("ListUsers after Close = %v, want a connection error", err)
	}
}

func TestWithPool(t *testing.T) {
	s := newServer(t, cognitotest.WithPool("eu-west-1_AAA111"), cognitotest.WithPool("eu-west-1_BBB222"))
	if err := s.AddUser(cognitotest.DefaultPoolID, legacyUser("u")); err == nil {
		t.Errorf("AddUser(default pool) = nil, want an error when WithPool replaces it")
	}
	for _, p := range []string{"eu-west-1_AAA111", "eu-west-1_BBB222"} {
		if err := s.AddUser(p, legacyUser("u")); err != nil {
			t.Errorf("AddUser(%s) = %v", p, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("NewServer(WithPool(bad)) did not panic")
		}
	}()
	cognitotest.NewServer(cognitotest.WithPool("bad pool"))
}

func TestAddUser(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name    string
		user    cognitotest.User
		wantErr bool
	}{
		{"valid", legacyUser("ok"), false},
		{"duplicate", legacyUser("ok"), true},
		{"empty name", cognitotest.User{}, true},
		{"space in name", cognitotest.User{Username: "a b"}, true},
		{"bad status", cognitotest.User{Username: "s", Status: "ACTIVE"}, true},
		{"bad preferred", cognitotest.User{Username: "p", Preferred: "SMS"}, true},
		{"bad medium", cognitotest.User{Username: "m", MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "FAX"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.AddUser(pool, tt.user); (err != nil) != tt.wantErr {
				t.Errorf("AddUser(%+v) = %v, want error %v", tt.user, err, tt.wantErr)
			}
		})
	}
	if err := s.AddUser("us-east-1_Nope", legacyUser("x")); err == nil {
		t.Errorf("AddUser(unknown pool) = nil, want error")
	}

	u := legacyUser("copy")
	addUsers(t, s, u)
	u.Attributes["phone_number"] = "changed"
	u.MFAOptions[0].DeliveryMedium = "EMAIL"
	got, _ := s.User(pool, "copy")
	if got.Attributes["phone_number"] != "+14155550100" || got.MFAOptions[0].DeliveryMedium != "SMS" || got.Attributes["sub"] == "" ||
		got.Status != "CONFIRMED" || got.Created.IsZero() || !got.Modified.Equal(got.Created) {
		t.Errorf("User(copy) = %+v, want an independent copy with defaults filled in", got)
	}
	got.Attributes["email"] = "changed"
	if again, _ := s.User(pool, "copy"); again.Attributes["email"] == "changed" {
		t.Errorf("User returned a shared map")
	}
	if n := len(s.Users(pool)); n != 2 {
		t.Errorf("len(Users) = %d, want 2", n)
	}
}

// TestLoadDefaultConfigClient builds a client the way the product does,
// from the SDK's default configuration chain with the endpoint pointed at
// the server; AWS_CA_BUNDLE, when set in the environment, is honoured.
func TestLoadDefaultConfigClient(t *testing.T) {
	s := newServer(t)
	for i := range 70 {
		addUsers(t, s, legacyUser(fmt.Sprintf("user%03d", i)))
	}
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithBaseEndpoint(s.URL),
		config.WithAPIOptions([]func(*middleware.Stack) error{cognitotest.AvoidRequestBodyRace}),
	)
	if err != nil {
		t.Fatalf("LoadDefaultConfig = %v", err)
	}
	c := cip.NewFromConfig(cfg, noRetry)
	n := 0
	p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListUsers = %v", err)
		}
		n += len(out.Users)
	}
	if n != 70 {
		t.Errorf("ListUsers paged %d users, want 70", n)
	}
}

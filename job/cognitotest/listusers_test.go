package cognitotest_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// seedNumbered adds n legacy users named user000, user001, ....
func seedNumbered(t *testing.T, s *cognitotest.Server, n int) []string {
	t.Helper()
	var names []string
	for i := range n {
		u := legacyUser(fmt.Sprintf("user%03d", i))
		addUsers(t, s, u)
		names = append(names, u.Username)
	}
	return names
}

func TestListUsersPaging(t *testing.T) {
	const otherPool = "us-east-1_Other01"
	s := newServer(t, cognitotest.WithPool(pool), cognitotest.WithPool(otherPool))
	names := seedNumbered(t, s, 130)
	c := s.Client(noRetry)

	tests := []struct {
		limit     int32
		wantPages []int
	}{
		{0, []int{60, 60, 10}},
		{60, []int{60, 60, 10}},
		{50, []int{50, 50, 30}},
		{13, []int{13, 13, 13, 13, 13, 13, 13, 13, 13, 13}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("limit ", tt.limit), func(t *testing.T) {
			var got []string
			var pages []int
			p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(tt.limit)})
			for p.HasMorePages() {
				out, err := p.NextPage(t.Context())
				if err != nil {
					t.Fatalf("ListUsers page %d = %v", len(pages)+1, err)
				}
				pages = append(pages, len(out.Users))
				for _, u := range out.Users {
					got = append(got, aws.ToString(u.Username))
				}
			}
			if !slices.Equal(pages, tt.wantPages) {
				t.Errorf("ListUsers(Limit %d) page sizes = %v, want %v", tt.limit, pages, tt.wantPages)
			}
			if !slices.Equal(got, names) {
				t.Errorf("ListUsers(Limit %d) users = %v, want %v (insertion order, no duplicates)", tt.limit, got, names)
			}
		})
	}

	t.Run("last page has no token", func(t *testing.T) {
		out, err := c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(60)})
		if err != nil || out.PaginationToken == nil {
			t.Fatalf("ListUsers page 1 = %v, token %v, want a token", err, out)
		}
		out, err = c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(60), PaginationToken: out.PaginationToken})
		if err != nil || out.PaginationToken == nil {
			t.Fatalf("ListUsers page 2 = %v, want a token", err)
		}
		out, err = c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(60), PaginationToken: out.PaginationToken})
		if err != nil || len(out.Users) != 10 || out.PaginationToken != nil {
			t.Fatalf("ListUsers page 3 = %v, %d users, token %v, want 10 users and no token", err, len(out.Users), aws.ToString(out.PaginationToken))
		}
	})

	out, err := c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	if err != nil {
		t.Fatal(err)
	}
	foreignToken := out.PaginationToken

	errTests := []struct {
		name string
		in   cip.ListUsersInput
		want string
	}{
		{"limit 61", cip.ListUsersInput{Limit: aws.Int32(61)}, "InvalidParameterException"},
		{"negative limit", cip.ListUsersInput{Limit: aws.Int32(-1)}, "InvalidParameterException"},
		{"garbled token", cip.ListUsersInput{PaginationToken: aws.String("not-a-token")}, "InvalidParameterException"},
		{"empty token", cip.ListUsersInput{PaginationToken: aws.String("")}, "InvalidParameterException"},
		{"token of another pool", cip.ListUsersInput{UserPoolId: aws.String(otherPool), PaginationToken: foreignToken}, "InvalidParameterException"},
		{"unknown pool", cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Nope")}, "ResourceNotFoundException"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.UserPoolId == nil {
				in.UserPoolId = aws.String(pool)
			}
			_, err := c.ListUsers(t.Context(), &in)
			if got := errCode(err); got != tt.want {
				t.Errorf("ListUsers(%s) error = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestListUsersFilter(t *testing.T) {
	s := newServer(t)
	addUsers(t, s,
		cognitotest.User{Username: "alice", Enabled: true, Attributes: map[string]string{"email": "alice@example.com", "phone_number": "+14155550100", "custom:team": "a"}},
		cognitotest.User{Username: "alfred", Enabled: false, Attributes: map[string]string{"email": "alfred@example.org"}},
		cognitotest.User{Username: "bob", Enabled: true, Status: "RESET_REQUIRED", Attributes: map[string]string{"phone_number": "+442071838750", "custom:team": "b"}},
		cognitotest.User{Username: "Al", Enabled: true, Status: "UNCONFIRMED"},
	)
	c := s.Client(noRetry)
	tests := []struct {
		filter   string
		want     []string
		wantCode string
	}{
		{`username = "alice"`, []string{"alice"}, ""},
		{`username ^= "al"`, []string{"alice", "alfred"}, ""},
		{`username="Al"`, []string{"Al"}, ""},
		{`status = "Enabled"`, []string{"alice", "bob", "Al"}, ""},
		{`status = "Disabled"`, []string{"alfred"}, ""},
		{`cognito:user_status = "RESET_REQUIRED"`, []string{"bob"}, ""},
		{`cognito:user_status = "CONFIRMED"`, []string{"alice", "alfred"}, ""},
		{`phone_number ^= "+1"`, []string{"alice"}, ""},
		{`phone_number = "+442071838750"`, []string{"bob"}, ""},
		{`email ^= "al"`, []string{"alice", "alfred"}, ""},
		{`email = "alfred@example.org"`, []string{"alfred"}, ""},
		{`username = "nobody"`, nil, ""},
		{`username = "say \"hi\""`, nil, ""},
		{``, []string{"alice", "alfred", "bob", "Al"}, ""},
		{`custom:team = "a"`, nil, "InvalidParameterException"},
		{`username = alice`, nil, "InvalidParameterException"},
		{`username == "alice"`, nil, "InvalidParameterException"},
		{`username != "alice"`, nil, "InvalidParameterException"},
		{`username`, nil, "InvalidParameterException"},
		{`username = "alice" extra`, nil, "InvalidParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			out, err := c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool), Filter: aws.String(tt.filter)})
			if got := errCode(err); got != tt.wantCode {
				t.Fatalf("ListUsers(Filter %s) error = %q, want %q", tt.filter, got, tt.wantCode)
			}
			if err != nil {
				return
			}
			var got []string
			for _, u := range out.Users {
				got = append(got, aws.ToString(u.Username))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ListUsers(Filter %s) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}

	t.Run("filter pages", func(t *testing.T) {
		var got []string
		p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool), Filter: aws.String(`username ^= "al"`), Limit: aws.Int32(1)})
		for p.HasMorePages() {
			out, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range out.Users {
				got = append(got, aws.ToString(u.Username))
			}
		}
		if want := []string{"alice", "alfred"}; !slices.Equal(got, want) {
			t.Errorf("paged ListUsers(username ^= al) = %v, want %v", got, want)
		}
	})
}

func TestListUsersUserType(t *testing.T) {
	s := newServer(t)
	addUsers(t, s,
		cognitotest.User{Username: "migrated", Enabled: true, Attributes: map[string]string{"phone_number": "+14155550100", "email": "m@example.com"},
			MFAOptions: smsOption, SMSEnabled: true, Preferred: "SMS_MFA"},
		cognitotest.User{Username: "plain", Enabled: true, Attributes: map[string]string{"email": "p@example.com"}},
	)
	c := s.Client(noRetry)

	out, err := c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Users) != 2 || len(out.Users[0].MFAOptions) != 1 || out.Users[0].MFAOptions[0].DeliveryMedium != types.DeliveryMediumTypeSms ||
		len(out.Users[1].MFAOptions) != 0 || out.Users[0].UserCreateDate == nil {
		t.Errorf("ListUsers = %+v, want migrated with an SMS MFAOptions entry, plain without", out.Users)
	}

	raw := post(t, s, "POST", target("ListUsers"), fakeAuth, `{"UserPoolId":"`+pool+`"}`)
	users, _ := raw.Body["Users"].([]any)
	for _, u := range users {
		m := u.(map[string]any)
		for _, key := range []string{"UserMFASettingList", "PreferredMfaSetting"} {
			if _, ok := m[key]; ok {
				t.Errorf("ListUsers raw user %v has %s, which UserType lacks", m["Username"], key)
			}
		}
	}

	attrTests := []struct {
		name     string
		get      []string
		want     map[string][]string // username -> attribute names
		wantCode string
	}{
		{"email only", []string{"email"}, map[string][]string{"migrated": {"email"}, "plain": {"email"}}, ""},
		{"searchable attribute missing on some users", []string{"phone_number"}, map[string][]string{"migrated": {"phone_number"}, "plain": nil}, ""},
		{"custom attribute missing", []string{"custom:team"}, nil, "InvalidParameterException"},
	}
	for _, tt := range attrTests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool), AttributesToGet: tt.get})
			if got := errCode(err); got != tt.wantCode {
				t.Fatalf("ListUsers(AttributesToGet %v) error = %q, want %q", tt.get, got, tt.wantCode)
			}
			if err != nil {
				return
			}
			for _, u := range out.Users {
				var names []string
				for _, a := range u.Attributes {
					names = append(names, aws.ToString(a.Name))
				}
				if want := tt.want[aws.ToString(u.Username)]; !slices.Equal(names, want) {
					t.Errorf("ListUsers(AttributesToGet %v) %s attributes = %v, want %v", tt.get, aws.ToString(u.Username), names, want)
				}
			}
		})
	}
}

package cognitotest_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pquerna/otp/totp"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

func TestGetCallerIdentity(t *testing.T) {
	s := newServer(t)
	c := sts.NewFromConfig(s.Config())
	out, err := c.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity = %v", err)
	}
	if aws.ToString(out.Account) != cognitotest.AccountID || aws.ToString(out.Arn) != cognitotest.CallerARN ||
		aws.ToString(out.UserId) != cognitotest.DefaultAccessKeyID {
		t.Errorf("GetCallerIdentity = %s %s %s, want %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId),
			cognitotest.AccountID, cognitotest.CallerARN, cognitotest.DefaultAccessKeyID)
	}
	s.SetAuthError("ExpiredTokenException", "")
	_, err = c.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}, func(o *sts.Options) { o.Retryer = aws.NopRetryer{} })
	if got := errCode(err); got != "ExpiredToken" {
		t.Errorf("GetCallerIdentity with an expired token: code %q, want ExpiredToken", got)
	}
}

func TestRegionCheck(t *testing.T) {
	s := newServer(t)
	addUsers(t, s, legacyUser("u"))
	in := &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("u")}
	if _, err := s.Client(noRetry).AdminGetUser(t.Context(), in); err != nil {
		t.Fatalf("AdminGetUser signed for the pool's Region = %v", err)
	}
	other := s.Client(noRetry, func(o *cip.Options) { o.Region = "eu-west-1" })
	_, err := other.AdminGetUser(t.Context(), in)
	if got := errCode(err); got != "ResourceNotFoundException" {
		t.Errorf("AdminGetUser signed for eu-west-1 on %s: code %q, want ResourceNotFoundException", pool, got)
	}
}

func TestDeny(t *testing.T) {
	s := newServer(t)
	c := s.Client(noRetry)
	s.Deny("AdminSetUserMFAPreference")
	_, err := c.AdminSetUserMFAPreference(t.Context(), &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId: aws.String(pool), Username: aws.String("nobody"), SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true}})
	if got := errCode(err); got != "AccessDeniedException" {
		t.Errorf("denied AdminSetUserMFAPreference: code %q, want AccessDeniedException", got)
	}
	_, err = c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("nobody")})
	if got := errCode(err); got != "UserNotFoundException" {
		t.Errorf("AdminGetUser (not denied) of nobody: code %q, want UserNotFoundException", got)
	}
	s.Deny()
	_, err = c.AdminSetUserMFAPreference(t.Context(), &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId: aws.String(pool), Username: aws.String("nobody"), SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true}})
	if got := errCode(err); got != "UserNotFoundException" {
		t.Errorf("after Deny(): code %q, want UserNotFoundException", got)
	}
}

func TestDescribeAndListUserPools(t *testing.T) {
	s := newServer(t, cognitotest.WithPool(pool), cognitotest.WithPool("us-east-1_Other01"))
	addUsers(t, s, legacyUser("a"), legacyUser("b"))
	c := s.Client(noRetry)
	out, err := c.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt32(&out.UserPool.EstimatedNumberOfUsers); n != 2 || out.UserPool.MfaConfiguration != types.UserPoolMfaTypeOptional {
		t.Errorf("DescribeUserPool = %d users, MFA %s; want 2, OPTIONAL", n, out.UserPool.MfaConfiguration)
	}
	_, err = c.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: aws.String("us-east-1_Nope")})
	if got := errCode(err); got != "ResourceNotFoundException" {
		t.Errorf("DescribeUserPool(unknown) code %q, want ResourceNotFoundException", got)
	}
	var ids []string
	p := cip.NewListUserPoolsPaginator(c, &cip.ListUserPoolsInput{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.UserPools {
			ids = append(ids, aws.ToString(d.Id))
		}
	}
	if len(ids) != 2 {
		t.Errorf("ListUserPools = %v, want both pools", ids)
	}
}

// TestTOTPSetUp walks a user to a verified software token the way a user
// does, with a code computed from the secret, and checks that a wrong code
// is refused and that deleting the user forgets it.
func TestTOTPSetUp(t *testing.T) {
	s := newServer(t)
	c := s.Client(noRetry)
	ctx := t.Context()
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String("t"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	cl, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(pool), ClientName: aws.String("x"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(pool), Username: aws.String("t"), Password: aws.String("Passw0rd!x"), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	auth, err := c.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: aws.String(pool), ClientId: cl.UserPoolClient.ClientId,
		AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": "t", "PASSWORD": "Passw0rd!x"}})
	if err != nil || auth.AuthenticationResult == nil {
		t.Fatalf("AdminInitiateAuth = %v, %v", auth, err)
	}
	tok := auth.AuthenticationResult.AccessToken
	assoc, err := c.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(aws.ToString(assoc.SecretCode), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	_, err = c.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: tok, UserCode: aws.String(wrong)})
	if got := errCode(err); got != "EnableSoftwareTokenMFAException" {
		t.Errorf("VerifySoftwareToken(wrong code) code %q, want EnableSoftwareTokenMFAException", got)
	}
	if u, _ := s.User(pool, "t"); u.TOTPRegistered {
		t.Errorf("a wrong code registered the token")
	}
	if _, err := c.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: tok, UserCode: aws.String(code)}); err != nil {
		t.Fatalf("VerifySoftwareToken(right code) = %v", err)
	}
	if u, _ := s.User(pool, "t"); !u.TOTPRegistered || u.TOTPEnabled {
		t.Errorf("after VerifySoftwareToken: registered %v enabled %v, want true false", u.TOTPRegistered, u.TOTPEnabled)
	}
	if _, err := c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(pool), Username: aws.String("t"),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}}); err != nil {
		t.Fatalf("enable TOTP after verifying = %v", err)
	}
	if _, err := c.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: cl.UserPoolClient.ClientId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(pool), Username: aws.String("t")}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Users(pool)); n != 0 || s.ClientCount() != 0 {
		t.Errorf("after deleting: %d users, %d clients; want 0, 0", n, s.ClientCount())
	}
	_, err = c.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: tok})
	if got := errCode(err); got != "NotAuthorizedException" {
		t.Errorf("token of a deleted user: code %q, want NotAuthorizedException", got)
	}
}

func TestUserAttributesAndStatus(t *testing.T) {
	s := newServer(t)
	addUsers(t, s, legacyUser("u"))
	c := s.Client(noRetry)
	ctx := t.Context()
	ref := func() (*string, *string) { return aws.String(pool), aws.String("u") }
	p, u := ref()
	if _, err := c.AdminDeleteUserAttributes(ctx, &cip.AdminDeleteUserAttributesInput{UserPoolId: p, Username: u, UserAttributeNames: []string{"phone_number"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(pool, "u"); got.Attributes["phone_number"] != "" {
		t.Errorf("phone_number after AdminDeleteUserAttributes = %q", got.Attributes["phone_number"])
	}
	if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: p, Username: u,
		UserAttributes: []types.AttributeType{{Name: aws.String("phone_number"), Value: aws.String("+15555550100")}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(pool, "u"); got.Attributes["phone_number"] != "+15555550100" {
		t.Errorf("phone_number after AdminUpdateUserAttributes = %q", got.Attributes["phone_number"])
	}
	if _, err := c.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: p, Username: u}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(pool, "u"); got.Status != cognitotest.StatusResetRequired {
		t.Errorf("status after AdminResetUserPassword = %s", got.Status)
	}
}

func TestQuirks(t *testing.T) {
	s := newServer(t)
	addUsers(t, s, cognitotest.User{Username: "totp", Attributes: map[string]string{"phone_number": "+15555550100"},
		TOTPRegistered: true, TOTPEnabled: true, Preferred: cognitotest.SoftwareTokenMFA, Enabled: true})
	s.SetQuirks(cognitotest.Quirks{DisableAbsentFactors: true})
	if _, err := s.Client(noRetry).AdminSetUserMFAPreference(t.Context(), &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(pool),
		Username: aws.String("totp"), SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(pool, "totp"); u.TOTPEnabled || u.Preferred != "" {
		t.Errorf("DisableAbsentFactors: TOTP enabled %v, preferred %q; want false, \"\"", u.TOTPEnabled, u.Preferred)
	}
}

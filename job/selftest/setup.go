package selftest

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// How users are set up without sending a message to anyone: AdminCreateUser
// with MessageAction SUPPRESS; a phone number is always written together
// with phone_number_verified=true (so no verification code is sent), and
// only after any step that could send a code (sign-in, password reset).
// Sign-in (for the TOTP states) happens before the user has any MFA, so no
// SMS challenge is ever sent.

func phoneAttrs() []types.AttributeType {
	return []types.AttributeType{
		{Name: aws.String("phone_number"), Value: aws.String(phone)},
		{Name: aws.String("phone_number_verified"), Value: aws.String("true")},
	}
}

// create creates a user (no message sent) and confirms it with a permanent
// password, as production users are. It returns the password.
func (t *tester) create(ctx context.Context, name string, withPhone bool) (string, error) {
	in := &cip.AdminCreateUserInput{UserPoolId: t.pool, Username: aws.String(name), MessageAction: types.MessageActionTypeSuppress}
	if withPhone {
		in.UserAttributes = phoneAttrs()
	}
	if _, err := t.api.AdminCreateUser(ctx, in); err != nil {
		if code(err) == "InvalidParameterException" {
			return "", fmt.Errorf("AdminCreateUser: %w (the self-test creates users with a username and at most a phone number: use a scratch pool without other required attributes)", err)
		}
		return "", fmt.Errorf("AdminCreateUser: %w", err)
	}
	t.created = append(t.created, name)
	pw := password()
	if _, err := t.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: t.pool, Username: aws.String(name),
		Password: aws.String(pw), Permanent: true}); err != nil {
		return "", fmt.Errorf("AdminSetUserPassword: %w", err)
	}
	return pw, nil
}

// setLegacy gives a user the legacy SMS MFA setting, with the API that
// made it (still callable: "You can use it to configure only SMS MFA").
func (t *tester) setLegacy(ctx context.Context, name string) error {
	_, err := t.api.AdminSetUserSettings(ctx, &cip.AdminSetUserSettingsInput{UserPoolId: t.pool, Username: aws.String(name),
		MFAOptions: []types.MFAOptionType{{DeliveryMedium: types.DeliveryMediumTypeSms, AttributeName: aws.String("phone_number")}}})
	if err != nil {
		return fmt.Errorf("AdminSetUserSettings: %w", err)
	}
	return nil
}

func (t *tester) addPhone(ctx context.Context, name string) error {
	_, err := t.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: t.pool, Username: aws.String(name), UserAttributes: phoneAttrs()})
	if err != nil {
		return fmt.Errorf("AdminUpdateUserAttributes: %w", err)
	}
	return nil
}

// setupLegacy: a confirmed user with a phone, with (sms) or without (nomfa)
// the legacy SMS setting.
func setupLegacy(legacy bool) func(context.Context, *tester, string) (string, error) {
	return func(ctx context.Context, t *tester, name string) (string, error) {
		if _, err := t.create(ctx, name, true); err != nil {
			return "", err
		}
		if legacy {
			return "", t.setLegacy(ctx, name)
		}
		return "", nil
	}
}

// setupNoPhone: legacy SMS, then the phone number removed.
func setupNoPhone(ctx context.Context, t *tester, name string) (string, error) {
	if _, err := t.create(ctx, name, true); err != nil {
		return "", err
	}
	if err := t.setLegacy(ctx, name); err != nil {
		return "", err
	}
	_, err := t.api.AdminDeleteUserAttributes(ctx, &cip.AdminDeleteUserAttributesInput{UserPoolId: t.pool, Username: aws.String(name),
		UserAttributeNames: []string{"phone_number", "phone_number_verified"}})
	if err != nil {
		return "Cognito refused to remove the phone number of a user with legacy SMS MFA: " + errText(err), nil
	}
	return "", nil
}

// setupMigrated: SMS enabled (and preferred) through the new API.
func setupMigrated(ctx context.Context, t *tester, name string) (string, error) {
	if _, err := t.create(ctx, name, true); err != nil {
		return "", err
	}
	_, err := t.api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: t.pool, Username: aws.String(name),
		SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true}})
	if err != nil {
		return "", fmt.Errorf("AdminSetUserMFAPreference: %w", err)
	}
	return "", nil
}

// client returns the temporary app client (created once), or why there is
// none.
func (t *tester) client(ctx context.Context) (*string, string) {
	if t.clientID != nil || t.noClient != "" {
		return t.clientID, t.noClient
	}
	out, err := t.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: t.pool, ClientName: aws.String(t.prefix + "client"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil || out.UserPoolClient == nil {
		t.noClient = "no temporary app client (CreateUserPoolClient: " + errText(err) + ")"
		return nil, t.noClient
	}
	t.clientID = out.UserPoolClient.ClientId
	return t.clientID, ""
}

// setupTOTP: a user who set up TOTP themselves (sign-in, associate, verify
// with a code computed from the secret), enabled with or without
// preference, then given a phone and the legacy SMS setting.
func setupTOTP(preferred bool) func(context.Context, *tester, string) (string, error) {
	return func(ctx context.Context, t *tester, name string) (string, error) {
		pw, err := t.create(ctx, name, false)
		if err != nil {
			return "", err
		}
		clientID, why := t.client(ctx)
		if clientID == nil {
			return why, nil
		}
		auth, err := t.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: t.pool, ClientId: clientID,
			AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": pw}})
		switch {
		case err != nil:
			return "the pool does not let the user sign in with a password (AdminInitiateAuth: " + errText(err) + ")", nil
		case auth.AuthenticationResult == nil:
			return fmt.Sprintf("sign-in answered the challenge %s instead of tokens (pool MFA required?)", auth.ChallengeName), nil
		}
		token := auth.AuthenticationResult.AccessToken
		assoc, err := t.api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: token})
		if err != nil {
			return "the pool does not allow TOTP (AssociateSoftwareToken: " + errText(err) + ")", nil
		}
		code, err := totp.GenerateCodeCustom(aws.ToString(assoc.SecretCode), t.cfg.Now(),
			totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return "", fmt.Errorf("compute a TOTP code: %w", err)
		}
		if _, err := t.api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: token, UserCode: aws.String(code),
			FriendlyDeviceName: aws.String("selftest")}); err != nil {
			return "VerifySoftwareToken refused a code computed from the secret: " + errText(err), nil
		}
		if _, err := t.api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: t.pool, Username: aws.String(name),
			SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: preferred}}); err != nil {
			return "the pool does not allow TOTP MFA (AdminSetUserMFAPreference: " + errText(err) + ")", nil
		}
		if err := t.addPhone(ctx, name); err != nil {
			return "", err
		}
		return "", t.setLegacy(ctx, name)
	}
}

// setupUnconfirmed: a user who signed up and never confirmed, with the
// legacy SMS setting.
func setupUnconfirmed(ctx context.Context, t *tester, name string) (string, error) {
	clientID, why := t.client(ctx)
	if clientID == nil {
		return why, nil
	}
	if _, err := t.api.SignUp(ctx, &cip.SignUpInput{ClientId: clientID, Username: aws.String(name), Password: aws.String(password())}); err != nil {
		return "the pool does not allow sign-up through an app client (SignUp: " + errText(err) + ")", nil
	}
	t.created = append(t.created, name)
	if err := t.addPhone(ctx, name); err != nil {
		return "", err
	}
	if err := t.setLegacy(ctx, name); err != nil {
		return "Cognito refused the legacy setting for an UNCONFIRMED user: " + errText(err), nil
	}
	return "", nil
}

// setupReset: a confirmed user whose password an administrator reset, with
// the legacy SMS setting. The reset happens before the user has a phone,
// so no code can be sent.
func setupReset(ctx context.Context, t *tester, name string) (string, error) {
	if _, err := t.create(ctx, name, false); err != nil {
		return "", err
	}
	if _, err := t.api.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: t.pool, Username: aws.String(name)}); err != nil {
		return "Cognito did not put the user in RESET_REQUIRED (AdminResetUserPassword: " + errText(err) + ")", nil
	}
	if err := t.addPhone(ctx, name); err != nil {
		return "", err
	}
	if err := t.setLegacy(ctx, name); err != nil {
		return "Cognito refused the legacy setting for a RESET_REQUIRED user: " + errText(err), nil
	}
	return "", nil
}

package cognitotest_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// This example seeds a user whose SMS MFA was set with the deprecated
// AdminSetUserSettings, reads it with the real SDK client, and migrates it
// with AdminSetUserMFAPreference.
func ExampleNewServer() {
	srv := cognitotest.NewServer()
	defer srv.Close()

	err := srv.AddUser(cognitotest.DefaultPoolID, cognitotest.User{
		Username:   "alice",
		Attributes: map[string]string{"phone_number": "+14155550100"},
		Enabled:    true,
		MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}},
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	client := srv.Client()
	show := func() {
		out, err := client.AdminGetUser(ctx, &cip.AdminGetUserInput{
			UserPoolId: aws.String(cognitotest.DefaultPoolID),
			Username:   aws.String("alice"),
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("MFAOptions=%d UserMFASettingList=%v PreferredMfaSetting=%q\n",
			len(out.MFAOptions), out.UserMFASettingList, aws.ToString(out.PreferredMfaSetting))
	}

	show()
	_, err = client.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId:     aws.String(cognitotest.DefaultPoolID),
		Username:       aws.String("alice"),
		SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	show()
	fmt.Println("writes:", srv.Stats("AdminSetUserMFAPreference").Applied)

	// Output:
	// MFAOptions=1 UserMFASettingList=[] PreferredMfaSetting=""
	// MFAOptions=1 UserMFASettingList=[SMS_MFA] PreferredMfaSetting="SMS_MFA"
	// writes: 1
}

// This example makes the next AdminSetUserMFAPreference call fail with
// Cognito's throttling error, which the SDK does not model for that
// operation, and classifies it by error code.
func ExampleServer_ThrottleNext() {
	srv := cognitotest.NewServer()
	defer srv.Close()
	_ = srv.AddUser(cognitotest.DefaultPoolID, cognitotest.User{
		Username: "bob", Enabled: true, Attributes: map[string]string{"phone_number": "+14155550101"},
	})
	srv.ThrottleNext("AdminSetUserMFAPreference", 1)

	client := srv.Client(func(o *cip.Options) { o.Retryer = aws.NopRetryer{} })
	_, err := client.AdminSetUserMFAPreference(context.Background(), &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId:     aws.String(cognitotest.DefaultPoolID),
		Username:       aws.String("bob"),
		SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true},
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.ErrorCode())
	}
	fmt.Printf("%+v\n", srv.Stats("AdminSetUserMFAPreference"))

	// Output:
	// TooManyRequestsException
	// {Received:1 OK:0 Throttled:1 Faulted500:0 ResetBefore:0 ResetAfter:0 Errors:0 Canceled:0 Applied:0}
}

package cognitotest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// This example denies an action, as an IAM policy without it does, and
// calls the pool from the wrong Region: the two mistakes a preflight finds.
func ExampleServer_Deny() {
	srv := cognitotest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	in := &cip.AdminGetUserInput{UserPoolId: aws.String(cognitotest.DefaultPoolID), Username: aws.String("nobody")}
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return fmt.Sprint(err)
	}

	client := srv.Client(func(o *cip.Options) { o.Retryer = aws.NopRetryer{} })
	_, err := client.AdminGetUser(ctx, in)
	fmt.Println("allowed:", code(err))

	srv.Deny("AdminGetUser")
	_, err = client.AdminGetUser(ctx, in)
	fmt.Println("denied:", code(err))
	srv.Deny()

	other := srv.Client(func(o *cip.Options) { o.Region = "eu-west-1"; o.Retryer = aws.NopRetryer{} })
	_, err = other.AdminGetUser(ctx, in)
	fmt.Println("wrong Region:", code(err))
	// Output:
	// allowed: UserNotFoundException
	// denied: AccessDeniedException
	// wrong Region: ResourceNotFoundException
}

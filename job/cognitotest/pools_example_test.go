package cognitotest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// This example serves pools of two Regions from one fake account and lists
// those of one Region, as a client configured for it sees them.
func ExampleServer_AddPool() {
	srv := cognitotest.NewServer(cognitotest.WithPool("us-east-1_Main"))
	defer srv.Close()
	for id, info := range map[string]cognitotest.PoolInfo{
		"eu-west-1_BrandA": {Name: "brand-a", EstimatedUsers: 2_400_000},
		"eu-west-1_BrandB": {Name: "brand-b", MFAConfiguration: "ON"},
	} {
		if err := srv.AddPool(id, info); err != nil {
			log.Fatal(err)
		}
	}

	ctx := context.Background()
	west := srv.Client(func(o *cip.Options) { o.Region = "eu-west-1" })
	pages := cip.NewListUserPoolsPaginator(west, &cip.ListUserPoolsInput{MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, p := range page.UserPools {
			d, err := west.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: p.Id})
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(aws.ToString(p.Id), aws.ToString(p.Name), d.UserPool.EstimatedNumberOfUsers, d.UserPool.MfaConfiguration, aws.ToString(d.UserPool.Arn))
		}
	}
	// Output:
	// eu-west-1_BrandA brand-a 2400000 OPTIONAL arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_BrandA
	// eu-west-1_BrandB brand-b 0 ON arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_BrandB
}

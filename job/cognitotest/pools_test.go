package cognitotest_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// listPools pages ListUserPools in region with the real SDK paginator.
func listPools(t *testing.T, s *cognitotest.Server, region string, max int32) (ids, names []string, pages int) {
	t.Helper()
	c := s.Client(func(o *cip.Options) { o.Region = region })
	p := cip.NewListUserPoolsPaginator(c, &cip.ListUserPoolsInput{MaxResults: aws.Int32(max)})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListUserPools(%s) page %d: %v", region, pages+1, err)
		}
		pages++
		for _, up := range out.UserPools {
			ids = append(ids, aws.ToString(up.Id))
			names = append(names, aws.ToString(up.Name))
		}
	}
	return ids, names, pages
}

func TestListUserPoolsPagesPerRegion(t *testing.T) {
	s := newServer(t, cognitotest.WithPool("us-east-1_Seed"))
	var east, west []string
	for i := range 7 {
		id := fmt.Sprintf("us-east-1_E%02d", i)
		east = append(east, id)
		if err := s.AddPool(id, cognitotest.PoolInfo{Name: fmt.Sprintf("east-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		id := fmt.Sprintf("eu-west-1_W%02d", i)
		west = append(west, id)
		if err := s.AddPool(id, cognitotest.PoolInfo{}); err != nil {
			t.Fatal(err)
		}
	}
	east = append(east, "us-east-1_Seed")
	slices.Sort(east)

	ids, names, pages := listPools(t, s, "us-east-1", 3)
	if !slices.Equal(ids, east) || pages != 3 {
		t.Errorf("ListUserPools(us-east-1, 3 a page) = %v in %d pages, want %v in 3", ids, pages, east)
	}
	if names[0] != "east-0" {
		t.Errorf("first pool's name = %q, want east-0", names[0])
	}
	ids, names, _ = listPools(t, s, "eu-west-1", 60)
	if !slices.Equal(ids, west) || names[0] == "" {
		t.Errorf("ListUserPools(eu-west-1) = %v %v, want %v with default names", ids, names, west)
	}
	if ids, _, pages := listPools(t, s, "ap-south-1", 10); len(ids) != 0 || pages != 1 {
		t.Errorf("ListUserPools(ap-south-1) = %v in %d pages, want none in 1", ids, pages)
	}
}

func TestListUserPoolsRejectsBadInput(t *testing.T) {
	s := newServer(t)
	c := s.Client()
	for _, tt := range []struct {
		name string
		in   *cip.ListUserPoolsInput
	}{
		{"MaxResults 0", &cip.ListUserPoolsInput{MaxResults: aws.Int32(0)}},
		{"MaxResults 61", &cip.ListUserPoolsInput{MaxResults: aws.Int32(61)}},
		{"foreign token", &cip.ListUserPoolsInput{MaxResults: aws.Int32(1), NextToken: aws.String("bm9wZQ")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ListUserPools(t.Context(), tt.in)
			if code := errCode(err); code != "InvalidParameterException" {
				t.Errorf("ListUserPools(%s) = %v, want InvalidParameterException", tt.name, err)
			}
		})
	}
}

func TestDescribeUserPool(t *testing.T) {
	s := newServer(t, cognitotest.WithPool("eu-west-1_Brand"))
	if err := s.AddPool("eu-west-1_Brand", cognitotest.PoolInfo{Name: "brand", MFAConfiguration: "ON"}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := s.AddUser("eu-west-1_Brand", cognitotest.User{Username: fmt.Sprint("u", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddPool("eu-west-1_Big", cognitotest.PoolInfo{EstimatedUsers: 4_000_000}); err != nil {
		t.Fatal(err)
	}
	west := s.Client(func(o *cip.Options) { o.Region = "eu-west-1" })

	out, err := west.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: aws.String("eu-west-1_Brand")})
	if err != nil {
		t.Fatal(err)
	}
	up := out.UserPool
	if aws.ToString(up.Name) != "brand" || up.MfaConfiguration != "ON" || up.EstimatedNumberOfUsers != 5 ||
		aws.ToString(up.Arn) != "arn:aws:cognito-idp:eu-west-1:"+cognitotest.AccountID+":userpool/eu-west-1_Brand" {
		t.Errorf("DescribeUserPool = name %q, mfa %q, users %d, arn %q; want brand, ON, 5, the eu-west-1 ARN of the server's account",
			aws.ToString(up.Name), up.MfaConfiguration, up.EstimatedNumberOfUsers, aws.ToString(up.Arn))
	}
	out, err = west.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: aws.String("eu-west-1_Big")})
	if err != nil || out.UserPool.EstimatedNumberOfUsers != 4_000_000 || out.UserPool.MfaConfiguration != "OPTIONAL" {
		t.Errorf("DescribeUserPool(Big) = %+v, %v; want 4,000,000 estimated users, OPTIONAL", out, err)
	}

	// A call signed for another Region does not see the pool (reference §10).
	_, err = s.Client().DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: aws.String("eu-west-1_Brand")})
	if code := errCode(err); code != "ResourceNotFoundException" {
		t.Errorf("DescribeUserPool from us-east-1 = %v, want ResourceNotFoundException", err)
	}
	if err := s.AddPool("bad id", cognitotest.PoolInfo{}); err == nil {
		t.Error(`AddPool("bad id") = nil, want an error`)
	}
	if err := s.AddPool("eu-west-1_X", cognitotest.PoolInfo{MFAConfiguration: "MAYBE"}); err == nil {
		t.Error("AddPool(MFAConfiguration MAYBE) = nil, want an error")
	}
}

func TestPoolReadQuota(t *testing.T) {
	s := newServer(t)
	s.SetQuota(cognitotest.UserPoolRead, 0.001, 1)
	c := s.Client(func(o *cip.Options) { o.RetryMaxAttempts = 1 })
	in := &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)}
	if _, err := c.DescribeUserPool(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListUserPools(t.Context(), &cip.ListUserPoolsInput{MaxResults: aws.Int32(1)}); errCode(err) != "TooManyRequestsException" {
		t.Errorf("second UserPoolRead call over a quota of 1 = %v, want TooManyRequestsException", err)
	}
}

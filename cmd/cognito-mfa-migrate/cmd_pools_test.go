package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// poolsFleet is a fake account with 130 pools in us-east-1 (three
// ListUserPools pages of 60) and 4 in eu-west-1, and the estimated users
// each must show.
func poolsFleet(t *testing.T, opts ...cognitotest.Option) (*cognitotest.Server, map[string]int) {
	t.Helper()
	srv := cognitotest.NewServer(append([]cognitotest.Option{cognitotest.WithPool("us-east-1_Zz")}, opts...)...)
	t.Cleanup(srv.Close)
	want := map[string]int{"us-east-1_Zz": 0}
	add := func(id string, users int) {
		if err := srv.AddPool(id, cognitotest.PoolInfo{Name: "tenant " + id, EstimatedUsers: users, MFAConfiguration: "OPTIONAL"}); err != nil {
			t.Fatal(err)
		}
		want[id] = users
	}
	for i := range 130 {
		add(fmt.Sprintf("us-east-1_T%03d", i), 1000+i)
	}
	for i := range 4 {
		add(fmt.Sprintf("eu-west-1_W%d", i), 50_000*(i+1))
	}
	return srv, want
}

// TestPoolsListsEveryPool runs the built binary's pools command against a
// fake with pools over several pages and two Regions, in every format.
func TestPoolsListsEveryPool(t *testing.T) {
	srv, want := poolsFleet(t)
	env := isolatedEnv(t, t.TempDir())
	base := []string{"pools", "--pool-read-rps", "1000", "--endpoint-url", srv.URL, "--region", "us-east-1,eu-west-1", "--region", "eu-west-1"}
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		p := startEnv(t, env, append(slices.Clone(base), args...)...)
		if code := p.wait(t, time.Minute); code != 0 {
			t.Fatalf("pools %v: exit %d, stderr:\n%s", args, code, p.stderr.String())
		}
		return p.stdout.String()
	}
	check := func(t *testing.T, got map[string]int, regions map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("listed %d pools, want %d", len(got), len(want))
		}
		for id, n := range want {
			if g, ok := got[id]; !ok || g != n {
				t.Errorf("pool %s: estimated users %d (listed %v), want %d", id, g, ok, n)
			}
			if r := regions[id]; r != strings.Split(id, "_")[0] {
				t.Errorf("pool %s listed in Region %q", id, r)
			}
		}
	}

	t.Run("csv", func(t *testing.T) {
		recs, err := csv.NewReader(strings.NewReader(run(t, "--format", "csv"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(recs[0], ","); got != "account,region,user_pool_id,name,estimated_users,mfa_configuration" {
			t.Errorf("header = %s", got)
		}
		got, regions := map[string]int{}, map[string]string{}
		for _, r := range recs[1:] {
			if _, dup := got[r[2]]; dup {
				t.Errorf("pool %s listed twice", r[2])
			}
			got[r[2]], _ = strconv.Atoi(r[4])
			regions[r[2]] = r[1]
			if r[0] != cognitotest.AccountID || r[5] != "OPTIONAL" {
				t.Errorf("row %v: want account %s and OPTIONAL", r, cognitotest.AccountID)
			}
		}
		check(t, got, regions)
	})
	t.Run("table", func(t *testing.T) {
		out := run(t)
		got, regions := map[string]int{}, map[string]string{}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines[1 : len(lines)-1] {
			f := strings.Fields(l)
			// account region id name... users mfa: the name has a space.
			got[f[2]], _ = strconv.Atoi(f[len(f)-2])
			regions[f[2]] = f[1]
		}
		check(t, got, regions)
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, fmt.Sprintf("%d pools", len(want))) {
			t.Errorf("last line = %q, want the total", last)
		}
	})
	t.Run("json", func(t *testing.T) {
		out := run(t, "--format", "json", "--location-template", "s3://fleet-bucket/jobs/{account}/{region}/{pool}")
		var m job.Manifest
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("manifest is not JSON: %v\n%s", err, out)
		}
		got, regions := map[string]int{}, map[string]string{}
		if len(m.Groups) != 2 {
			t.Fatalf("manifest has %d groups, want 2 (one account, two Regions)", len(m.Groups))
		}
		for _, g := range m.Groups {
			for _, p := range g.Pools {
				if g.Account != cognitotest.AccountID || p.Region != g.Region {
					t.Errorf("pool %s in group %s/%s", p.ID, g.Account, g.Region)
				}
				got[p.ID] = int(p.EstimatedUsers)
				regions[p.ID] = g.Region
				if wantCP := "s3://fleet-bucket/jobs/" + cognitotest.AccountID + "/" + g.Region + "/" + p.ID + "/checkpoint"; p.Checkpoint != wantCP {
					t.Errorf("pool %s checkpoint %s, want %s", p.ID, p.Checkpoint, wantCP)
				}
			}
		}
		check(t, got, regions)
	})
	t.Run("json without template", func(t *testing.T) {
		p := startEnv(t, env, append(slices.Clone(base), "--format", "json")...)
		if code := p.wait(t, time.Minute); code != 2 || !strings.Contains(p.stderr.String(), "--location-template") {
			t.Errorf("pools --format json without a template: exit %d, stderr %s; want 2 naming --location-template", code, p.stderr.String())
		}
	})
}

// fakeSTS answers AssumeRole (the query protocol, XML) with fixed
// credentials, counting the calls and recording the last role asked for.
type fakeSTS struct {
	*httptest.Server
	calls atomic.Int32
	role  atomic.Value
}

const (
	assumedKeyID = "ASIAASSUMEDROLE00001"
	callerKeyID  = cognitotest.DefaultAccessKeyID
)

func newFakeSTS(t *testing.T) *fakeSTS {
	t.Helper()
	f := &fakeSTS{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRole" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.calls.Add(1)
		f.role.Store(r.Form.Get("RoleArn"))
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+callerKeyID+"/") {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not the caller</Message></Error></ErrorResponse>`)
			return
		}
		if strings.HasSuffix(r.Form.Get("RoleArn"), "/forbidden") {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-token</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/x/cognito-mfa-migrate</Arn><AssumedRoleId>AROA:cognito-mfa-migrate</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			assumedKeyID, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(f.Close)
	return f
}

// TestRoleARN checks that --role-arn makes the Cognito calls with the
// credentials of the assumed role: the fake account accepts only those.
func TestRoleARN(t *testing.T) {
	srv, _ := poolsFleet(t, cognitotest.WithAccessKey(assumedKeyID))
	sts := newFakeSTS(t)
	env := append(isolatedEnv(t, t.TempDir()), "AWS_ENDPOINT_URL_STS="+sts.URL)
	const role = "arn:aws:iam::111122223333:role/cognito-mfa-migrate"
	args := []string{"pools", "--endpoint-url", srv.URL, "--region", "eu-west-1", "--format", "csv"}

	p := startEnv(t, env, append(slices.Clone(args), "--role-arn", role)...)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("pools --role-arn: exit %d, stderr:\n%s", code, p.stderr.String())
	}
	if n := strings.Count(p.stdout.String(), "\n"+cognitotest.AccountID+",eu-west-1,"); n != 4 {
		t.Errorf("pools --role-arn listed %d eu-west-1 pools, want 4:\n%s", n, p.stdout.String())
	}
	if got := sts.role.Load(); got != role {
		t.Errorf("AssumeRole RoleArn = %v, want %s", got, role)
	}

	p = startEnv(t, env, args...)
	if code := p.wait(t, time.Minute); code != 1 {
		t.Errorf("pools without --role-arn against the other account: exit %d, want 1 (credentials rejected)", code)
	}

	p = startEnv(t, env, append(slices.Clone(args), "--role-arn", "arn:aws:iam::111122223333:role/forbidden")...)
	if code := p.wait(t, time.Minute); code != 1 || !strings.Contains(p.stderr.String(), "assume role") {
		t.Errorf("pools --role-arn of a role we may not assume: exit %d, stderr %s; want 1 naming the role", code, p.stderr.String())
	}
	p = startEnv(t, env, append(slices.Clone(args), "--role-arn", "not-an-arn")...)
	if code := p.wait(t, time.Minute); code != 2 {
		t.Errorf("pools --role-arn not-an-arn: exit %d, want 2", code)
	}

	// The other commands take the role too: an export through it.
	dir := t.TempDir()
	if err := srv.AddUser("eu-west-1_W0", cognitotest.User{Username: "alice", Enabled: true,
		Attributes: map[string]string{"phone_number": "+12065550100"},
		MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}}}); err != nil {
		t.Fatal(err)
	}
	p = startEnv(t, env, "export", "--endpoint-url", srv.URL, "--role-arn", role, "--region", "eu-west-1", "--user-pool-id", "eu-west-1_W0",
		"--output", dir+"/users.csv", "--progress", "none")
	if code := p.wait(t, time.Minute); code != 0 {
		t.Errorf("export --role-arn: exit %d, stderr:\n%s", code, p.stderr.String())
	}
	p = startEnv(t, env, "export", "--endpoint-url", srv.URL, "--region", "eu-west-1,us-east-1", "--user-pool-id", "eu-west-1_W0")
	if code := p.wait(t, time.Minute); code != 2 || !strings.Contains(p.stderr.String(), "only pools") {
		t.Errorf("export with two Regions: exit %d, stderr %s; want 2", code, p.stderr.String())
	}
}

package job

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"golang.org/x/time/rate"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
)

// PoolsAPI is the part of the Cognito client that pool discovery uses.
// *cognitoidentityprovider.Client satisfies it.
type PoolsAPI interface {
	ListUserPools(ctx context.Context, in *cip.ListUserPoolsInput, optFns ...func(*cip.Options)) (*cip.ListUserPoolsOutput, error)
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
}

// listUserPoolsPageSize is the MaxResults of ListPools' ListUserPools
// calls: the largest Cognito accepts.
const listUserPoolsPageSize = 60

// DefaultPoolReadRPS is the rate of ListPools' calls. ListUserPools and
// DescribeUserPool share Cognito's UserPoolRead quota (15 per second per
// account and Region) with every other tool of the account.
const DefaultPoolReadRPS = 5

// Pool is one user pool as discovery reports it.
type Pool struct {
	Account          string `json:"account" csv:"account"`
	Region           string `json:"region" csv:"region"`
	ID               string `json:"user_pool_id" csv:"user_pool_id"`
	Name             string `json:"name" csv:"name"`
	EstimatedUsers   int64  `json:"estimated_users" csv:"estimated_users"`
	MFAConfiguration string `json:"mfa_configuration" csv:"mfa_configuration"` // OFF, ON or OPTIONAL
}

// ListPools returns every user pool of the Region api calls (api must be
// configured for region), ordered by ID: ListUserPools pages of
// listUserPoolsPageSize, then one DescribeUserPool per pool for its
// estimated number of users, MFA configuration and account (from its ARN).
// Calls are paced at rps per second (0 means DefaultPoolReadRPS). A pool
// deleted between the listing and its description is left out. Errors
// are *cognito.FatalError for rejected credentials or permissions (naming the
// Region), ctx.Err() when ctx ends, and the SDK's error otherwise.
func ListPools(ctx context.Context, api PoolsAPI, region string, rps float64) ([]Pool, error) {
	if rps <= 0 {
		rps = DefaultPoolReadRPS
	}
	lim := rate.NewLimiter(rate.Limit(rps), 1)
	var pools []Pool
	p := cip.NewListUserPoolsPaginator(api, &cip.ListUserPoolsInput{MaxResults: aws.Int32(listUserPoolsPageSize)})
	for p.HasMorePages() {
		if err := lim.Wait(ctx); err != nil {
			return nil, err
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, poolsError(ctx, "ListUserPools", region, err)
		}
		for _, up := range page.UserPools {
			pools = append(pools, Pool{Region: region, ID: aws.ToString(up.Id), Name: aws.ToString(up.Name)})
		}
	}
	kept := pools[:0]
	for _, pl := range pools {
		if err := lim.Wait(ctx); err != nil {
			return nil, err
		}
		out, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pl.ID)})
		if err != nil {
			if cls, code := cognito.Classify(ctx.Err(), err); cls == cognito.ClassFatal && code == "ResourceNotFoundException" {
				continue // deleted since it was listed
			}
			return nil, poolsError(ctx, "DescribeUserPool "+pl.ID, region, err)
		}
		d := out.UserPool
		pl.EstimatedUsers = int64(d.EstimatedNumberOfUsers)
		pl.MFAConfiguration = string(d.MfaConfiguration)
		if name := aws.ToString(d.Name); name != "" {
			pl.Name = name
		}
		if a, err := arn.Parse(aws.ToString(d.Arn)); err == nil {
			pl.Account = a.AccountID
		}
		kept = append(kept, pl)
	}
	slices.SortFunc(kept, func(a, b Pool) int { return cmp.Compare(a.ID, b.ID) })
	return kept, nil
}

// poolsError turns a failed discovery call into ListPools' error.
func poolsError(ctx context.Context, op, region string, err error) error {
	cls, code := cognito.Classify(ctx.Err(), err)
	switch cls {
	case cognito.ClassCanceled:
		return ctx.Err()
	case cognito.ClassFatal:
		return &cognito.FatalError{Op: op + " in " + region, Code: code, Err: err}
	}
	return fmt.Errorf("%s in %s: %w", op, region, err)
}

// Location template placeholders (see NewManifest).
const (
	placeholderAccount = "{account}"
	placeholderRegion  = "{region}"
	placeholderPool    = "{pool}"
)

// Manifest is the fleet manifest: the pools to migrate grouped by account
// and Region, the unit that shares Cognito's quotas. The fleet state
// machine (samples/fleet) runs the groups in parallel and the pools of a
// group one after another.
type Manifest struct {
	Generated time.Time       `json:"generated"`
	Template  string          `json:"location_template"`
	Groups    []ManifestGroup `json:"groups"`
}

// ManifestGroup is the pools of one account and Region.
type ManifestGroup struct {
	Account string         `json:"account"`
	Region  string         `json:"region"`
	RoleARN string         `json:"role_arn"` // the role the tasks assume for Cognito; "" = the task's own
	Pools   []ManifestPool `json:"pools"`
}

// ManifestPool is one pool of a group and where its job keeps its files.
type ManifestPool struct {
	Pool
	Input      string `json:"input"`      // the export's output and run's input
	Checkpoint string `json:"checkpoint"` // run's checkpoint
	Report     string `json:"report"`
	Summary    string `json:"summary"`
}

// NewManifest groups pools by account and Region and gives each pool its
// locations: the template with {account}, {region} and {pool} replaced, as
// a folder ("/" added when missing) holding users.csv, checkpoint,
// report.csv and summary.json. roleARN is recorded in every group. The
// template must contain {pool} (pools must never share a checkpoint) and
// be a local path or an s3:// location; otherwise the error wraps
// ErrUsage.
func NewManifest(pools []Pool, template, roleARN string, now time.Time) (*Manifest, error) {
	if template == "" {
		return nil, fmt.Errorf("%w: --location-template is required for the JSON manifest, such as s3://bucket/cognito-mfa-migrate/{account}/{region}/{pool}/", ErrUsage)
	}
	if !strings.Contains(template, placeholderPool) {
		return nil, fmt.Errorf("%w: --location-template %q must contain {pool}: every pool needs its own checkpoint", ErrUsage, template)
	}
	m := &Manifest{Generated: now.UTC(), Template: template, Groups: []ManifestGroup{}}
	byKey := map[string]int{}
	for _, p := range pools {
		key := p.Account + "/" + p.Region
		i, ok := byKey[key]
		if !ok {
			i = len(m.Groups)
			byKey[key] = i
			m.Groups = append(m.Groups, ManifestGroup{Account: p.Account, Region: p.Region, RoleARN: roleARN})
		}
		dir := strings.NewReplacer(placeholderAccount, p.Account, placeholderRegion, p.Region, placeholderPool, p.ID).Replace(template)
		if !strings.HasSuffix(dir, "/") {
			dir += "/"
		}
		m.Groups[i].Pools = append(m.Groups[i].Pools, ManifestPool{
			Pool: p, Input: dir + "users.csv", Checkpoint: dir + "checkpoint", Report: dir + "report.csv", Summary: dir + "summary.json",
		})
	}
	slices.SortFunc(m.Groups, func(a, b ManifestGroup) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	return m, nil
}

// WriteJSON writes the manifest as indented JSON.
func (m *Manifest) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// poolColumns are the columns of the table and CSV forms.
var poolColumns = []string{"account", "region", "user_pool_id", "name", "estimated_users", "mfa_configuration"}

func (p Pool) cells() []string {
	return []string{p.Account, p.Region, p.ID, p.Name, strconv.FormatInt(p.EstimatedUsers, 10), p.MFAConfiguration}
}

// WritePoolsCSV writes pools as CSV with a header line. Pool names are
// chosen by the pools' owners, so cells a spreadsheet would evaluate are
// neutralised like the report's.
func WritePoolsCSV(w io.Writer, pools []Pool) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(poolColumns); err != nil {
		return err
	}
	for _, p := range pools {
		c := p.cells()
		c[3] = poolCell(c[3])
		if err := cw.Write(c); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WritePoolsTable writes pools as an aligned table for a terminal, with a
// total line.
func WritePoolsTable(w io.Writer, pools []Pool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(poolColumns, "\t")))
	var users int64
	for _, p := range pools {
		c := p.cells()
		c[3] = printable(c[3])
		fmt.Fprintln(tw, strings.Join(c, "\t"))
		users += p.EstimatedUsers
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d pools, about %d users\n", len(pools), users)
	return err
}

// poolCell prefixes a cell a spreadsheet would evaluate as a formula
// with a single quote (OWASP's CSV injection advice).
func poolCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

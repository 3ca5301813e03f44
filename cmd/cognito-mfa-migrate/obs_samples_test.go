package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/preflight"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/selftest"
)

// The samples are documentation an operator copies; these tests tie them to
// the code so that they cannot go stale.

const (
	samplesDir = "../../samples"
	repoRoot   = "../.."
)

// readSampleJSON decodes samples/name into v.
func readSampleJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("samples/%s: %v", name, err)
	}
}

// TestSamplesAreValidJSON parses every JSON file of samples/.
func TestSamplesAreValidJSON(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("samples/ has %d JSON files, want the task definition, the schedule and two policies", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var v map[string]any
			readSampleJSON(t, filepath.Base(f), &v)
			if len(v) == 0 {
				t.Error("empty JSON object")
			}
		})
	}
}

// taskDefinition is the part of an ECS task definition the tests read.
type taskDefinition struct {
	Family                  string
	RequiresCompatibilities []string
	NetworkMode             string
	TaskRoleArn             string
	ExecutionRoleArn        string
	Volumes                 []struct{ Name string }
	ContainerDefinitions    []struct {
		Name                   string
		Image                  string
		Essential              bool
		Command                []string
		User                   string
		ReadonlyRootFilesystem bool
		StopTimeout            int
		MountPoints            []struct {
			SourceVolume  string
			ContainerPath string
			ReadOnly      bool
		}
		Environment      []struct{ Name, Value string }
		Secrets          []struct{ Name, ValueFrom string }
		LogConfiguration struct {
			LogDriver string
			Options   map[string]string
		}
	}
}

// sampleTask returns the sample task definition's container and its
// environment.
func sampleTask(t *testing.T) (taskDefinition, map[string]string) {
	t.Helper()
	var td taskDefinition
	readSampleJSON(t, "ecs-task-definition.json", &td)
	if len(td.ContainerDefinitions) != 1 {
		t.Fatalf("task definition has %d containers, want 1", len(td.ContainerDefinitions))
	}
	env := map[string]string{}
	for _, e := range td.ContainerDefinitions[0].Environment {
		if _, dup := env[e.Name]; dup {
			t.Errorf("environment variable %s is set twice", e.Name)
		}
		env[e.Name] = e.Value
	}
	return td, env
}

// commandEnvs returns the environment variables the command accepts, by
// the flag they set, from the kong model: the global flags and those of
// the command named cmd.
func commandEnvs(t *testing.T, cmd string) map[string]*kong.Flag {
	t.Helper()
	var c cli
	p, err := newParser(&c, func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	flags := slices.Clone(p.Model.Flags)
	found := false
	for _, n := range p.Model.Children {
		if n.Name == cmd {
			flags, found = append(flags, n.Flags...), true
		}
	}
	if !found {
		t.Fatalf("no command %q in the command line model", cmd)
	}
	envs := map[string]*kong.Flag{}
	for _, f := range flags {
		for _, e := range f.Envs {
			envs[e] = f
		}
	}
	return envs
}

// sdkEnvs are the environment variables of the AWS SDK's standard chain a
// sample may set (they are read by the SDK, not by a flag).
var sdkEnvs = map[string]bool{"AWS_REGION": true}

// parseRunEnv parses the run command with env as its only configuration,
// as the container does, and returns the parsed command line.
func parseRunEnv(t *testing.T, args []string, env map[string]string) *cli {
	t.Helper()
	var c cli
	p, err := newParser(&c, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse(args); err != nil {
		t.Fatalf("%v with the task definition's environment: %v", args, err)
	}
	return &c
}

// TestSampleTaskDefinition checks the ECS task definition against the
// binary: every variable is one the run command accepts (from the kong
// model), every value parses and passes validation, and the container is
// set up as the job needs it on Fargate.
func TestSampleTaskDefinition(t *testing.T) {
	td, env := sampleTask(t)
	ct := td.ContainerDefinitions[0]
	accepted := commandEnvs(t, "run")
	for name := range env {
		if _, ok := accepted[name]; !ok && !sdkEnvs[name] {
			t.Errorf("environment variable %s is not one the run command accepts (accepted: %v)", name, slices.Sorted(maps.Keys(accepted)))
		}
	}
	if !slices.Equal(ct.Command, []string{"run"}) {
		t.Fatalf("command = %q, want [run]", ct.Command)
	}
	c := parseRunEnv(t, ct.Command, env)
	cfg := c.Run.config()
	if err := cfg.Validate(); err != nil {
		t.Errorf("the task definition's configuration does not validate: %v", err)
	}
	if _, err := c.Run.emf(io.Discard, cfg.UserPoolID, cfg.Mode(), "r"); err != nil || c.Run.Metrics != "emf" {
		t.Errorf("metrics %q: %v; want emf", c.Run.Metrics, err)
	}
	if c.Logging.LogFormat != "json" {
		t.Errorf("log format %q, want json (CloudWatch reads one JSON object per line)", c.Logging.LogFormat)
	}
	if cfg.DryRun {
		t.Error("the scheduled task is a dry run")
	}
	for name, loc := range map[string]string{"input": cfg.Input, "checkpoint": cfg.CheckpointLocation(), "report": cfg.ReportLocation(), "summary": cfg.SummaryLocation()} {
		if _, _, isS3, err := location.Parse(loc); err != nil || !isS3 {
			t.Errorf("%s %q is not an s3:// location (task storage is lost when the task ends): %v", name, loc, err)
		}
	}
	stop := time.Duration(ct.StopTimeout) * time.Second
	switch {
	case cfg.MaxDuration <= 0 || cfg.MaxDuration >= 23*time.Hour:
		t.Errorf("max duration %v: want a slice shorter than the nightly schedule's period", cfg.MaxDuration)
	case ct.StopTimeout < 1 || ct.StopTimeout > 120:
		t.Errorf("stopTimeout %d: Fargate allows 1 to 120 seconds", ct.StopTimeout)
	case cfg.ShutdownTimeout+30*time.Second > stop:
		t.Errorf("shutdown timeout %v leaves under 30 s of the %v stopTimeout to save the checkpoint and write the report", cfg.ShutdownTimeout, stop)
	}

	if !slices.Contains(td.RequiresCompatibilities, "FARGATE") || td.NetworkMode != "awsvpc" {
		t.Errorf("compatibilities %v, network mode %q: want FARGATE and awsvpc", td.RequiresCompatibilities, td.NetworkMode)
	}
	if u := ct.User; u == "" || u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		t.Errorf("container user %q: want a non-root user (the image's nonroot, 65532)", u)
	}
	if !ct.ReadonlyRootFilesystem {
		t.Error("readonlyRootFilesystem is off")
	}
	// The input scan and S3 uploads write temporary files (os.TempDir):
	// with a read-only root, /tmp must be a volume.
	tmp := false
	for _, m := range ct.MountPoints {
		if m.ContainerPath == "/tmp" && !m.ReadOnly && slices.ContainsFunc(td.Volumes, func(v struct{ Name string }) bool { return v.Name == m.SourceVolume }) {
			tmp = true
		}
	}
	if !tmp {
		t.Error("no writable volume mounted at /tmp, which the job needs with a read-only root file system")
	}
	if ct.LogConfiguration.LogDriver != "awslogs" || ct.LogConfiguration.Options["awslogs-group"] == "" || ct.LogConfiguration.Options["awslogs-stream-prefix"] == "" {
		t.Errorf("log configuration %+v: want awslogs with a group and a stream prefix", ct.LogConfiguration)
	}
	if !ct.Essential || td.TaskRoleArn == "" || td.ExecutionRoleArn == "" {
		t.Error("want an essential container, a task role and an execution role")
	}
}

// policy is an IAM policy document.
type policy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Action    stringList
		Resource  stringList
		Condition map[string]map[string]stringList
	}
}

// stringList is an IAM field that is a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// narrowInterfaces are the interfaces through which the code calls AWS,
// with the IAM service prefix of their operations and the sample policy
// that grants them. The policies follow the commands (least privilege):
// the ECS task role runs only run, so ListUsers, which reads every user's
// attributes, is in the workstation's policy with export.
var narrowInterfaces = []struct {
	prefix string
	typ    reflect.Type
	policy string // the sample policy that grants its actions
}{
	{"cognito-idp", reflect.TypeFor[cognito.API](), policyRun},                  // run (job.Deps.Cognito)
	{"cognito-idp", reflect.TypeFor[cognito.ListUsersAPI](), policyWorkstation}, // export (job.ExportDeps.Cognito)
	{"s3", reflect.TypeFor[job.S3API](), policyRun},
	{"s3", reflect.TypeFor[checkpoint.S3API](), policyRun},
	{"cognito-idp", reflect.TypeFor[preflight.CognitoAPI](), policySplit},
	{"s3", reflect.TypeFor[preflight.S3API](), policyRun},
	{"cognito-idp", reflect.TypeFor[selftest.API](), policySelftest},
	{"cognito-idp", reflect.TypeFor[job.PoolsAPI](), policyFleet},
	{"cloudwatch", reflect.TypeFor[allowance.CloudWatchAPI](), policyRun},
	{"servicequotas", reflect.TypeFor[allowance.ServiceQuotasAPI](), policyRun},
}

// The sample IAM policies: the ECS task role's, which runs run; the
// workstation's, which runs export and preflight; and the self-test's, for
// a scratch pool. policySplit marks an interface whose methods go to the
// task role when run calls them too, and to the workstation otherwise:
// preflight probes what run and export call, and reads the pool
// (DescribeUserPool) for its estimate.
const (
	policyRun         = "iam-policy.json"
	policyWorkstation = "iam-policy-export.json"
	policySelftest    = "iam-policy-selftest.json"
	policySplit       = "split"
	policyFleet       = "fleet/target-role-policy.json" // the role of the pool accounts (pools, export, run)
)

// unscopedActions are the read-only actions that IAM cannot scope to a
// resource (reference §9): the run's policy grants them on "*".
var unscopedActions = []string{"cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "servicequotas:ListServiceQuotas"}

// ifaceActions returns the IAM actions of the methods of the interfaces of
// policy, as listed in narrowInterfaces.
func ifaceActions(policy string) map[string]bool {
	set := map[string]bool{}
	for _, ni := range narrowInterfaces {
		if policy != "" && ni.policy != policy {
			continue
		}
		for i := range ni.typ.NumMethod() {
			set[ni.prefix+":"+ni.typ.Method(i).Name] = true
		}
	}
	return set
}

// impliedActions are permissions the code needs without calling the
// operation: s3:ListBucket makes S3 answer NoSuchKey rather than
// AccessDenied for a checkpoint that does not exist yet (see checkpoint.S3).
var impliedActions = []string{"s3:ListBucket"}

// codeActions returns the IAM actions of every operation the code can call
// that policy grants ("" for every policy).
func codeActions(policy string) []string {
	set := map[string]bool{}
	switch policy {
	case "":
		set = ifaceActions("")
	case policyRun, policyWorkstation, policySelftest, policyFleet:
		set = ifaceActions(policy)
	}
	run := ifaceActions(policyRun)
	for a := range ifaceActions(policySplit) {
		if (policy == policyRun && run[a]) || (policy == policyWorkstation && !run[a]) {
			set[a] = true
		}
	}
	if policy == "" || policy == policyRun {
		for _, a := range impliedActions {
			set[a] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// sdkServices maps the import paths of the AWS SDK service packages the
// code uses to their IAM prefixes.
var sdkServices = map[string]string{
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider": "cognito-idp",
	"github.com/aws/aws-sdk-go-v2/service/s3":                      "s3",
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch":              "cloudwatch",
	"github.com/aws/aws-sdk-go-v2/service/servicequotas":           "servicequotas",
}

// sourceOperations finds, in the non-test Go source of the module, every
// interface method shaped like an AWS SDK operation (a parameter of type
// *<service>.<Operation>Input) and returns the IAM actions they stand for.
// It catches a narrow interface added without updating narrowInterfaces.
func sourceOperations(t *testing.T) map[string]string {
	t.Helper()
	found := map[string]string{} // action → where
	fset := token.NewFileSet()
	for _, dir := range []string{"job", "checkpoint", "cmd"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "cognitotest") {
				return filepath.SkipDir // cognitotest is the fake server, not a client
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			aliases := map[string]string{}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				prefix, ok := sdkServices[p]
				if !ok {
					continue
				}
				name := filepath.Base(p)
				if imp.Name != nil {
					name = imp.Name.Name
				}
				aliases[name] = prefix
			}
			ast.Inspect(f, func(n ast.Node) bool {
				it, ok := n.(*ast.InterfaceType)
				if !ok {
					return true
				}
				for _, m := range it.Methods.List {
					ft, ok := m.Type.(*ast.FuncType)
					if !ok {
						continue
					}
					for _, p := range ft.Params.List {
						star, ok := p.Type.(*ast.StarExpr)
						if !ok {
							continue
						}
						sel, ok := star.X.(*ast.SelectorExpr)
						if !ok {
							continue
						}
						pkg, ok := sel.X.(*ast.Ident)
						if !ok || aliases[pkg.Name] == "" || !strings.HasSuffix(sel.Sel.Name, "Input") {
							continue
						}
						found[aliases[pkg.Name]+":"+strings.TrimSuffix(sel.Sel.Name, "Input")] = fset.Position(m.Pos()).String()
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}

// TestSampleIAMPolicy checks the task role's policy: its actions are
// exactly the operations the code can call (the methods of the narrow
// interfaces) plus s3:ListBucket, with no wildcard; the Cognito actions are
// on the pool of the task definition; and each S3 key of the task
// definition gets exactly the actions the job uses on it.
func TestSampleIAMPolicy(t *testing.T) {
	want := codeActions(policyRun)
	all := codeActions("")
	found := sourceOperations(t)
	for action, where := range found {
		if !slices.Contains(all, action) {
			t.Errorf("%s declares an interface calling %s, which narrowInterfaces does not list", where, action)
		}
	}
	for _, action := range all {
		if _, ok := found[action]; !ok && !slices.Contains(impliedActions, action) {
			t.Errorf("the source scan found no interface calling %s: the scan is broken", action)
		}
	}

	var p policy
	readSampleJSON(t, policyRun, &p)
	if p.Version != "2012-10-17" {
		t.Errorf("policy Version %q, want 2012-10-17", p.Version)
	}
	got := map[string]bool{}
	byResource := map[string][]string{}
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			t.Errorf("statement %s: effect %q, want Allow", st.Sid, st.Effect)
		}
		for _, a := range st.Action {
			if strings.ContainsAny(a, "*?") {
				t.Errorf("statement %s: action %q has a wildcard", st.Sid, a)
			}
			got[a] = true
			for _, r := range st.Resource {
				if (r == "*" && !slices.Contains(unscopedActions, a)) || strings.HasSuffix(r, "/*") {
					t.Errorf("statement %s: resource %q is a wildcard", st.Sid, r)
				}
				byResource[r] = append(byResource[r], a)
			}
		}
	}
	if g := slices.Sorted(maps.Keys(got)); !slices.Equal(g, want) {
		t.Errorf("policy actions = %v, want the operations the code can call %v", g, want)
	}

	_, env := sampleTask(t)
	cfg := parseRunEnv(t, []string{"run"}, env).Run.config()
	region, account := "us-east-1", "111122223333"
	poolARN := "arn:aws:cognito-idp:" + region + ":" + account + ":userpool/" + cfg.UserPoolID
	s3ARN := func(loc string) (bucketARN, objectARN, key string) {
		bucket, key, _, err := location.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		return "arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/" + key, key
	}
	bucketARN, cpARN, cpKey := s3ARN(cfg.CheckpointLocation())
	_, inARN, _ := s3ARN(cfg.Input)
	_, reportARN, _ := s3ARN(cfg.ReportLocation())
	_, summaryARN, _ := s3ARN(cfg.SummaryLocation())
	wantByResource := map[string][]string{
		poolARN:         {"cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserMFAPreference"},
		inARN:           {"s3:GetObject"},
		cpARN:           {"s3:GetObject", "s3:PutObject"},
		cpARN + ".lock": {"s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
		cpARN + ".scan": {"s3:GetObject", "s3:PutObject"}, // the input scan cache
		reportARN:       {"s3:PutObject"},
		summaryARN:      {"s3:PutObject"},
		bucketARN:       {"s3:ListBucket"},
		"*":             unscopedActions,
	}
	for r, acts := range byResource {
		slices.Sort(acts)
		if w, ok := wantByResource[r]; !ok {
			t.Errorf("policy grants %v on %s, which the task definition does not use", acts, r)
		} else if !slices.Equal(acts, w) {
			t.Errorf("policy grants %v on %s, want %v", acts, r, w)
		}
	}
	for r := range wantByResource {
		if _, ok := byResource[r]; !ok {
			t.Errorf("policy grants nothing on %s, which the task definition uses", r)
		}
	}
	for _, st := range p.Statement {
		if slices.Contains(st.Action, "s3:ListBucket") {
			prefixes := st.Condition["StringEquals"]["s3:prefix"]
			if !slices.Contains(prefixes, cpKey) || !slices.Contains(prefixes, cpKey+".lock") {
				t.Errorf("s3:ListBucket condition s3:prefix = %v, want it limited to %s and its .lock", prefixes, cpKey)
			}
		}
	}
}

// TestSampleExportPolicy checks the workstation's policy (export and
// preflight): exactly the Cognito operations they call that the task role
// does not need (ListUsers, DescribeUserPool), on the sample's pool only;
// every operation the code calls is in one of the policies.
func TestSampleExportPolicy(t *testing.T) {
	want := codeActions(policyWorkstation)
	all := slices.Concat(codeActions(policyRun), want, codeActions(policySelftest), codeActions(policyFleet))
	slices.Sort(all)
	if all = slices.Compact(all); !slices.Equal(all, codeActions("")) {
		t.Errorf("the policies grant %v, want every operation the code can call %v", all, codeActions(""))
	}
	if slices.Contains(codeActions(policyRun), "cognito-idp:ListUsers") || !slices.Contains(want, "cognito-idp:ListUsers") {
		t.Errorf("ListUsers must be in the workstation's policy, not the task role's")
	}
	var p policy
	readSampleJSON(t, policyWorkstation, &p)
	_, env := sampleTask(t)
	cfg := parseRunEnv(t, []string{"run"}, env).Run.config()
	poolARN := "arn:aws:cognito-idp:us-east-1:111122223333:userpool/" + cfg.UserPoolID
	var got []string
	for _, st := range p.Statement {
		if st.Effect != "Allow" || !slices.Equal(st.Resource, []string{poolARN}) {
			t.Errorf("statement %s: %s on %v, want Allow on %s only", st.Sid, st.Effect, st.Resource, poolARN)
		}
		got = append(got, st.Action...)
	}
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Errorf("workstation policy actions = %v, want what export and preflight call beyond run %v", got, want)
	}
}

// TestSampleTaskRoleTrust checks the task role's trust policy: only ECS
// tasks assume it, and only for the sample's account and Region
// (aws:SourceAccount, aws:SourceArn), so that another account's task
// cannot be handed the role (the confused deputy).
func TestSampleTaskRoleTrust(t *testing.T) {
	var p struct {
		Version   string
		Statement []struct {
			Effect    string
			Principal struct{ Service string }
			Action    string
			Condition map[string]map[string]string
		}
	}
	readSampleJSON(t, "task-role-trust-policy.json", &p)
	if len(p.Statement) != 1 {
		t.Fatalf("%d statements, want 1", len(p.Statement))
	}
	st := p.Statement[0]
	if st.Effect != "Allow" || st.Principal.Service != "ecs-tasks.amazonaws.com" || st.Action != "sts:AssumeRole" {
		t.Errorf("statement = %+v, want ecs-tasks.amazonaws.com allowed sts:AssumeRole", st)
	}
	if got := st.Condition["StringEquals"]["aws:SourceAccount"]; got != "111122223333" {
		t.Errorf("aws:SourceAccount = %q, want the sample's account 111122223333", got)
	}
	if got := st.Condition["ArnLike"]["aws:SourceArn"]; got != "arn:aws:ecs:us-east-1:111122223333:*" {
		t.Errorf("aws:SourceArn = %q, want ECS resources of the sample's account and Region", got)
	}
	readme := string(readFile(t, filepath.Join(repoRoot, "samples", "README.md")))
	if !strings.Contains(readme, "--role-name cognito-mfa-migrate-task \\\n  --assume-role-policy-document file://samples/task-role-trust-policy.json") {
		t.Errorf("samples/README.md does not create the task role with samples/task-role-trust-policy.json")
	}
}

// TestSampleSchedule checks the EventBridge Scheduler schedule: a nightly
// cron that runs one Fargate task of the sample task definition, and the
// scheduler role's policy that lets it.
func TestSampleSchedule(t *testing.T) {
	var s struct {
		Name, ScheduleExpression, ScheduleExpressionTimezone, State string
		FlexibleTimeWindow                                          struct{ Mode string }
		Target                                                      struct {
			Arn, RoleArn  string
			EcsParameters struct {
				TaskDefinitionArn    string
				TaskCount            int
				LaunchType           string
				NetworkConfiguration struct {
					AwsvpcConfiguration struct {
						Subnets, SecurityGroups []string
						AssignPublicIp          string
					} `json:"awsvpcConfiguration"`
				}
			}
		}
	}
	readSampleJSON(t, "eventbridge-schedule.json", &s)
	td, _ := sampleTask(t)
	ecs := s.Target.EcsParameters
	if !regexp.MustCompile(`^cron\(\d+ \d+ \* \* \? \*\)$`).MatchString(s.ScheduleExpression) {
		t.Errorf("schedule %q, want a nightly cron(m h * * ? *)", s.ScheduleExpression)
	}
	if s.FlexibleTimeWindow.Mode == "" || s.State != "ENABLED" || s.Name == "" {
		t.Errorf("schedule name %q, state %q, flexible window %q: want a name, ENABLED and a window mode", s.Name, s.State, s.FlexibleTimeWindow.Mode)
	}
	if !strings.Contains(s.Target.Arn, ":cluster/") || !strings.Contains(s.Target.RoleArn, ":role/") {
		t.Errorf("target %q with role %q, want an ECS cluster and an IAM role", s.Target.Arn, s.Target.RoleArn)
	}
	if fam := strings.TrimSuffix(ecs.TaskDefinitionArn[strings.LastIndex(ecs.TaskDefinitionArn, "/")+1:], ":"); strings.Split(fam, ":")[0] != td.Family {
		t.Errorf("schedule runs task definition %q, want the family %q", ecs.TaskDefinitionArn, td.Family)
	}
	if ecs.TaskCount != 1 || ecs.LaunchType != "FARGATE" || len(ecs.NetworkConfiguration.AwsvpcConfiguration.Subnets) == 0 {
		t.Errorf("ECS parameters %+v: want one FARGATE task with subnets", ecs)
	}

	var p policy
	readSampleJSON(t, "scheduler-role-policy.json", &p)
	var runTask, passRole []string
	for _, st := range p.Statement {
		for _, a := range st.Action {
			switch a {
			case "ecs:RunTask":
				runTask = append(runTask, st.Resource...)
			case "iam:PassRole":
				passRole = append(passRole, st.Resource...)
			default:
				t.Errorf("scheduler role action %q, want only ecs:RunTask and iam:PassRole", a)
			}
		}
	}
	if !slices.Contains(runTask, ecs.TaskDefinitionArn) {
		t.Errorf("scheduler role may run %v, not the schedule's %s", runTask, ecs.TaskDefinitionArn)
	}
	slices.Sort(passRole)
	if w := []string{td.ExecutionRoleArn, td.TaskRoleArn}; !slices.Equal(passRole, slices.Sorted(slices.Values(w))) {
		t.Errorf("scheduler role may pass %v, want the task definition's roles %v", passRole, w)
	}
}

// TestSampleCSVs reads every CSV of samples/ as run does: no fatal error,
// no invalid row, and the format its name promises.
func TestSampleCSVs(t *testing.T) {
	want := map[string]input.Format{
		"users.csv":          input.FormatPlain,
		"users.export.csv":   input.FormatExport,
		"cognito-import.csv": input.FormatCognitoImport,
	}
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("samples/ has CSV files %v, want %v", files, slices.Sorted(maps.Keys(want)))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rd, err := input.NewReader(f, name, input.Options{})
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			if rd.Format() != want[name] {
				t.Errorf("format = %v, want %v", rd.Format(), want[name])
			}
			rows := 0
			for {
				row, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if row.Invalid != "" {
					t.Errorf("line %d is invalid: %s", row.Line, row.Invalid)
				}
				rows++
			}
			if rows == 0 {
				t.Error("no rows")
			}
		})
	}
}

// TestSampleRunbookCommands parses every cognito-mfa-migrate command of
// samples/README.md with the command line model, so that a renamed flag or
// command breaks the test rather than the runbook.
func TestSampleRunbookCommands(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(samplesDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile(`(?m)^cognito-mfa-migrate (.+)$`).FindAllStringSubmatch(string(data), -1)
	seen := map[string]bool{}
	for _, m := range cmds {
		args := strings.Fields(m[1])
		seen[args[0]] = true
		t.Run(strings.Join(args[:1], ""), func(t *testing.T) {
			var c cli
			p, err := newParser(&c, func(string) string { return "" }, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Parse(args); err != nil {
				t.Errorf("cognito-mfa-migrate %s: %v", m[1], err)
			}
		})
	}
	for _, cmd := range []string{"export", "run", "status", "report"} {
		if !seen[cmd] {
			t.Errorf("the runbook has no %s command", cmd)
		}
	}
}

// TestDockerfileMatchesCI checks the Dockerfile (multi-stage, modules
// downloaded in their own cached layer, distroless static non-root, an
// exec-form ENTRYPOINT) and that CI builds with the very same go build line.
func TestDockerfileMatchesCI(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	docker, ci := read("Dockerfile"), read(".ci/run")
	buildLine := regexp.MustCompile(`(?m)CGO_ENABLED=0 go build [^\n]*$`)
	d, c := buildLine.FindAllString(docker, -1), buildLine.FindAllString(ci, -1)
	if len(d) != 1 || len(c) != 1 || d[0] != c[0] {
		t.Fatalf("go build lines differ:\n Dockerfile: %q\n .ci/run:    %q", d, c)
	}
	for _, flag := range []string{"-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "./cmd/cognito-mfa-migrate"} {
		if !strings.Contains(d[0], flag) {
			t.Errorf("go build line %q lacks %s", d[0], flag)
		}
	}
	for _, re := range []string{
		// Pinned by digest; the build stage runs on the builder's platform
		// and cross-compiles for the target.
		`(?m)^FROM --platform=\$BUILDPLATFORM golang:1\.26@sha256:[0-9a-f]{64} AS \w+$`,
		`(?m)^ARG TARGETOS$`,
		`(?m)^ARG TARGETARCH$`,
		`(?m)^RUN GOOS="\$\{TARGETOS\}" GOARCH="\$\{TARGETARCH\}" CGO_ENABLED=0 go build `,
		`(?m)^COPY go\.mod go\.sum \./$\n(?:.*\n)*?^RUN go mod download$\n(?:.*\n)*?^COPY \. \.$`,
		`(?m)^FROM gcr\.io/distroless/static-debian12:nonroot@sha256:[0-9a-f]{64}$`,
		`(?m)^#   docker buildx imagetools inspect golang:1\.26 `,
		`(?m)^USER nonroot:nonroot$`,
		`(?m)^ENTRYPOINT \["/[^"]+"\]$`,
	} {
		if !regexp.MustCompile(re).MatchString(docker) {
			t.Errorf("Dockerfile does not match %s", re)
		}
	}
	for _, label := range []string{"source", "version", "revision", "licenses", "title"} {
		if !regexp.MustCompile(`(?m)^(?:LABEL|\s+)\s*org\.opencontainers\.image\.` + label + `="[^"]+"`).MatchString(docker) {
			t.Errorf("Dockerfile has no org.opencontainers.image.%s label", label)
		}
	}
	for _, want := range []string{"set -euo pipefail", "go vet ./...", `test -z "$(gofmt -l .)"`, "go test ./...", "go test -race ./job/... ./checkpoint/... ./cmd/..."} {
		if !strings.Contains(ci, want) {
			t.Errorf(".ci/run lacks %q", want)
		}
	}
}

// TestSampleSelftestIAMPolicy checks the self-test's policy: exactly the
// operations the self-test can call, without wildcards, on one scratch
// pool that is not the production pool of the task definition.
func TestSampleSelftestIAMPolicy(t *testing.T) {
	var p policy
	readSampleJSON(t, policySelftest, &p)
	got := map[string]bool{}
	var resources []string
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			t.Errorf("statement %s: effect %q, want Allow", st.Sid, st.Effect)
		}
		for _, a := range st.Action {
			if strings.ContainsAny(a, "*?") {
				t.Errorf("statement %s: action %q has a wildcard", st.Sid, a)
			}
			got[a] = true
		}
		resources = append(resources, st.Resource...)
	}
	if g, want := slices.Sorted(maps.Keys(got)), codeActions(policySelftest); !slices.Equal(g, want) {
		t.Errorf("selftest policy actions = %v, want the operations selftest calls %v", g, want)
	}
	_, env := sampleTask(t)
	prod := parseRunEnv(t, []string{"run"}, env).Run.config().UserPoolID
	for _, r := range resources {
		if strings.ContainsAny(r, "*?") || !strings.HasPrefix(r, "arn:aws:cognito-idp:") || strings.HasSuffix(r, "/"+prod) {
			t.Errorf("selftest policy resource %q: want one scratch pool's ARN, never the production pool %s", r, prod)
		}
	}
}

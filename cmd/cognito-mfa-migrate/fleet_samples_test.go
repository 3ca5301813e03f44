package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// aslState is the part of an Amazon States Language state the tests read.
type aslState struct {
	Type          string
	Next          string
	End           bool
	Default       string
	Choices       []struct{ Next string }
	Catch         []struct{ Next string }
	Resource      string
	ItemsPath     string
	ItemProcessor *aslMachine
	Parameters    json.RawMessage
	ResultWriter  *struct {
		Resource   string
		Parameters struct{ Bucket, Prefix string }
	}
	MaxConcurrency int
}

// aslMachine is a state machine, or the processor of a Map state.
type aslMachine struct {
	StartAt         string
	States          map[string]*aslState
	ProcessorConfig *struct{ Mode, ExecutionType string }
}

func readStateMachine(t *testing.T) *aslMachine {
	t.Helper()
	var m aslMachine
	readSampleJSON(t, "fleet/state-machine.asl.json", &m)
	return &m
}

// checkGraph checks one scope of states (a machine or a Map processor) and
// the processors nested in it: StartAt and every Next exist in the scope,
// every state has a way out (Next, End, or a terminal type), every state
// is reachable, and from every state an end can be reached. name is the
// scope's name in messages.
func checkGraph(t *testing.T, name string, m *aslMachine) {
	t.Helper()
	if _, ok := m.States[m.StartAt]; !ok {
		t.Errorf("%s: StartAt %q is not a state", name, m.StartAt)
	}
	edges := map[string][]string{}
	ends := map[string]bool{}
	for sn, s := range m.States {
		var next []string
		if s.Next != "" {
			next = append(next, s.Next)
		}
		for _, c := range s.Choices {
			next = append(next, c.Next)
		}
		if s.Default != "" {
			next = append(next, s.Default)
		}
		for _, c := range s.Catch {
			next = append(next, c.Next)
		}
		for _, n := range next {
			if _, ok := m.States[n]; !ok {
				t.Errorf("%s: state %s goes to %q, which is not a state of its scope", name, sn, n)
			}
		}
		edges[sn] = next
		switch {
		case s.Type == "Succeed" || s.Type == "Fail" || s.End:
			ends[sn] = true
			if s.Next != "" {
				t.Errorf("%s: state %s ends and has Next %q", name, sn, s.Next)
			}
		case s.Type == "Choice":
			if len(s.Choices) == 0 || s.Default == "" {
				t.Errorf("%s: Choice %s needs choices and a Default", name, sn)
			}
		case s.Next == "":
			t.Errorf("%s: state %s has neither Next nor End", name, sn)
		}
		if s.Type == "Map" {
			if s.ItemProcessor == nil || s.ItemProcessor.ProcessorConfig == nil {
				t.Errorf("%s: Map %s has no ItemProcessor with a ProcessorConfig", name, sn)
				continue
			}
			pc := s.ItemProcessor.ProcessorConfig
			switch pc.Mode {
			case "INLINE":
			case "DISTRIBUTED":
				if pc.ExecutionType != "STANDARD" && pc.ExecutionType != "EXPRESS" {
					t.Errorf("%s: distributed Map %s has ExecutionType %q", name, sn, pc.ExecutionType)
				}
			default:
				t.Errorf("%s: Map %s has Mode %q", name, sn, pc.Mode)
			}
			if !strings.HasPrefix(s.ItemsPath, "$.") {
				t.Errorf("%s: Map %s has ItemsPath %q, want a path into its input", name, sn, s.ItemsPath)
			}
			checkGraph(t, name+"/"+sn, s.ItemProcessor)
		}
	}
	// Every state is reachable from StartAt...
	seen := map[string]bool{}
	var visit func(string)
	visit = func(s string) {
		if seen[s] {
			return
		}
		seen[s] = true
		for _, n := range edges[s] {
			visit(n)
		}
	}
	visit(m.StartAt)
	for sn := range m.States {
		if !seen[sn] {
			t.Errorf("%s: state %s cannot be reached from %s", name, sn, m.StartAt)
		}
	}
	// ...and every state can reach an end (loops such as slice, pause,
	// slice are fine as long as they have a way out).
	canEnd := maps.Clone(ends)
	for changed := true; changed; {
		changed = false
		for sn, next := range edges {
			if !canEnd[sn] && slices.ContainsFunc(next, func(n string) bool { return canEnd[n] }) {
				canEnd[sn], changed = true, true
			}
		}
	}
	for sn := range m.States {
		if !canEnd[sn] {
			t.Errorf("%s: no path from state %s reaches an end", name, sn)
		}
	}
}

// TestFleetStateMachine checks the fleet state machine's structure: the
// graph of every scope, the two Maps (groups in parallel, distributed;
// pools one at a time), the ECS tasks (the sample task definition, its
// container, overrides that name the real commands, flags and environment
// variables of the binary, paths that exist in the manifest), the exit
// code handling, and the results written to S3.
func TestFleetStateMachine(t *testing.T) {
	m := readStateMachine(t)
	checkGraph(t, "machine", m)

	groups := m.States[m.StartAt]
	if groups == nil || groups.Type != "Map" || groups.ItemProcessor == nil || groups.ItemProcessor.ProcessorConfig.Mode != "DISTRIBUTED" {
		t.Fatalf("the machine must start with a distributed Map over the manifest's groups")
	}
	if groups.ItemsPath != "$.groups" || groups.MaxConcurrency == 1 {
		t.Errorf("groups Map: ItemsPath %q, MaxConcurrency %d; want $.groups, in parallel", groups.ItemsPath, groups.MaxConcurrency)
	}
	if rw := groups.ResultWriter; rw == nil || rw.Resource != "arn:aws:states:::s3:putObject" || rw.Parameters.Bucket == "" {
		t.Errorf("groups Map: results must be written to S3 (ResultWriter)")
	}
	var pools *aslState
	for _, s := range groups.ItemProcessor.States {
		if s.Type == "Map" {
			pools = s
		}
	}
	if pools == nil || pools.MaxConcurrency != 1 || pools.ItemsPath != "$.pools" {
		t.Fatalf("each group must map over its pools one at a time (MaxConcurrency 1): they share the quota")
	}

	td, _ := sampleTask(t)
	container := td.ContainerDefinitions[0].Name
	var manifest map[string]any
	readSampleJSON(t, "fleet/manifest.json", &manifest)
	poolItem := map[string]any{ // the input of a pool's processor, as its ItemSelector builds it
		"account": "a", "region": "r", "role_arn": "x",
		"pool": manifest["groups"].([]any)[0].(map[string]any)["pools"].([]any)[0],
	}
	tasks := 0
	for sn, s := range pools.ItemProcessor.States {
		if s.Type != "Task" {
			continue
		}
		tasks++
		if s.Resource != "arn:aws:states:::ecs:runTask.sync" {
			t.Errorf("task %s: Resource %s, want ecs:runTask.sync", sn, s.Resource)
		}
		var p struct {
			TaskDefinition string
			Overrides      struct {
				ContainerOverrides []struct {
					Name        string
					Command     []string
					Environment []map[string]string
				}
			}
		}
		if err := json.Unmarshal(s.Parameters, &p); err != nil {
			t.Fatalf("task %s: %v", sn, err)
		}
		if !strings.HasSuffix(p.TaskDefinition, ":task-definition/"+td.Family) {
			t.Errorf("task %s: task definition %s, want the sample's family %s", sn, p.TaskDefinition, td.Family)
		}
		if len(p.Overrides.ContainerOverrides) != 1 || p.Overrides.ContainerOverrides[0].Name != container {
			t.Fatalf("task %s: want one container override of %s", sn, container)
		}
		o := p.Overrides.ContainerOverrides[0]
		cmd := o.Command[0]
		envs := commandEnvs(t, cmd)
		env := map[string]string{}
		for _, e := range o.Environment {
			name := e["Name"]
			if envs[name] == nil && !sdkEnvs[name] {
				t.Errorf("task %s: %s is not an environment variable of %s", sn, name, cmd)
			}
			path := e["Value.$"]
			if !pathExists(poolItem, path) {
				t.Errorf("task %s: %s takes %s, which a pool item of the manifest does not have", sn, name, path)
			}
			env[name] = "x"
		}
		for _, need := range []string{"COGNITO_MFA_MIGRATE_USER_POOL_ID", "COGNITO_MFA_MIGRATE_REGION", "COGNITO_MFA_MIGRATE_ROLE_ARN"} {
			if _, ok := env[need]; !ok {
				t.Errorf("task %s: no %s override", sn, need)
			}
		}
		// The command and its flags parse, as the container runs them.
		var c cli
		parser, err := newParser(&c, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.Parse(append(slices.Clone(o.Command), "--user-pool-id", "us-east-1_X", "--input", "x.csv")); err != nil &&
			!strings.Contains(err.Error(), "unknown flag --input") {
			t.Errorf("task %s: command %v does not parse: %v", sn, o.Command, err)
		}
		// Exit codes: the next state is a Choice that ends the pool on 0,
		// loops on 4 (through a Wait back to this task) and fails otherwise.
		exit := pools.ItemProcessor.States[s.Next]
		if exit == nil || exit.Type != "Choice" {
			t.Fatalf("task %s: next state %q is not the exit code Choice", sn, s.Next)
		}
		checkExitChoice(t, sn, pools.ItemProcessor, s.Next)
	}
	if tasks != 2 {
		t.Errorf("the pool processor has %d ECS tasks, want 2 (export, run)", tasks)
	}
}

// checkExitChoice checks the exit code Choice named choice of task.
func checkExitChoice(t *testing.T, task string, m *aslMachine, choice string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir, "fleet/state-machine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Find the choice's rules by decoding the whole file again, with the
	// rule fields.
	var raw struct {
		States map[string]struct {
			ItemProcessor struct {
				States map[string]struct {
					ItemProcessor struct {
						States map[string]struct {
							Choices []struct {
								Variable      string
								NumericEquals *float64
								IsPresent     *bool
								Next          string
							}
							Default string
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var rules []struct {
		Variable      string
		NumericEquals *float64
		IsPresent     *bool
		Next          string
	}
	var def string
	for _, g := range raw.States {
		for _, p := range g.ItemProcessor.States {
			if c, ok := p.ItemProcessor.States[choice]; ok {
				rules, def = c.Choices, c.Default
			}
		}
	}
	on := map[float64]string{}
	for _, r := range rules {
		if r.NumericEquals != nil {
			on[*r.NumericEquals] = r.Next
		}
	}
	if m.States[def].Type != "Pass" || !strings.Contains(def, "Failed") {
		t.Errorf("%s: exit codes other than 0 and 4 go to %s, want the pool's failure", task, def)
	}
	wait := m.States[on[4]]
	if wait == nil || wait.Type != "Wait" || wait.Next != task {
		t.Errorf("%s: exit 4 goes to %q, want a Wait that runs %s again", task, on[4], task)
	}
	if on[0] == "" || on[0] == def {
		t.Errorf("%s: exit 0 goes to %q, want the next step", task, on[0])
	}
}

// pathExists reports whether a simple JSONPath ($.a.b) names a value in v.
func pathExists(v any, path string) bool {
	rest, ok := strings.CutPrefix(path, "$.")
	if !ok {
		return false
	}
	for _, k := range strings.Split(rest, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

// TestFleetManifest checks the sample manifest against the pools command's
// own type and rules: every field known, locations from the template.
func TestFleetManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(samplesDir, "fleet/manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m job.Manifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("samples/fleet/manifest.json is not a manifest: %v", err)
	}
	var pools []job.Pool
	for _, g := range m.Groups {
		for _, p := range g.Pools {
			pools = append(pools, p.Pool)
		}
	}
	want, err := job.NewManifest(pools, m.Template, "", m.Generated)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Groups {
		want.Groups[i].RoleARN = m.Groups[i].RoleARN
	}
	if !reflect.DeepEqual(want, &m) {
		t.Errorf("manifest differs from what pools writes for its pools:\n got %+v\nwant %+v", m, want)
	}
	for _, g := range m.Groups {
		if !strings.HasPrefix(g.RoleARN, "arn:aws:iam::"+g.Account+":role/") {
			t.Errorf("group %s/%s: role %s is not in the group's account", g.Account, g.Region, g.RoleARN)
		}
	}
}

// TestFleetIAM checks the fleet's IAM: the pool accounts' role allows the
// Cognito operations the code calls and nothing else, and trusts the task
// role of the sample task definition; the task role may assume it and use
// the fleet's S3 prefix with the S3 operations the code calls; the state
// machine's role runs the sample task definition, passes its roles, and
// writes the results where the ResultWriter puts them.
func TestFleetIAM(t *testing.T) {
	td, _ := sampleTask(t)
	actions := func(name string) (map[string][]string, []string) {
		var p policy
		readSampleJSON(t, "fleet/"+name, &p)
		byAction := map[string][]string{}
		for _, st := range p.Statement {
			if st.Effect != "Allow" {
				t.Errorf("%s: statement %s is not Allow", name, st.Sid)
			}
			for _, a := range st.Action {
				byAction[a] = append(byAction[a], st.Resource...)
			}
		}
		return byAction, slices.Sorted(maps.Keys(byAction))
	}
	// The pool accounts' role: the Cognito actions of a job (run; export and
	// preflight, which the fleet runs in its tasks too) and of pools. The
	// task role: the S3 actions of the same.
	var cognito, s3 []string
	all := append(codeActions(policyRun), codeActions(policyWorkstation)...)
	for a := range ifaceActions(policyFleet) {
		all = append(all, a)
	}
	for _, a := range all {
		switch {
		case strings.HasPrefix(a, "cognito-idp:") && !slices.Contains(cognito, a):
			cognito = append(cognito, a)
		case strings.HasPrefix(a, "s3:") && !slices.Contains(s3, a):
			s3 = append(s3, a)
		}
	}
	slices.Sort(cognito)
	slices.Sort(s3)

	target, got := actions("target-role-policy.json")
	if !slices.Equal(got, cognito) {
		t.Errorf("target role actions %v, want the Cognito operations of export, run and pools %v", got, cognito)
	}
	for a, res := range target {
		for _, r := range res {
			if a != "cognito-idp:ListUserPools" && !strings.Contains(r, ":userpool/") {
				t.Errorf("target role: %s on %s, want user pools only", a, r)
			}
		}
	}
	var trust policy
	readSampleJSON(t, "fleet/target-role-trust-policy.json", &trust)
	var trustDoc struct {
		Statement []struct{ Principal struct{ AWS string } }
	}
	readSampleJSON(t, "fleet/target-role-trust-policy.json", &trustDoc)
	if len(trustDoc.Statement) != 1 || trustDoc.Statement[0].Principal.AWS != td.TaskRoleArn || !slices.Equal(trust.Statement[0].Action, []string{"sts:AssumeRole"}) {
		t.Errorf("the target role must trust the task definition's task role %s for sts:AssumeRole", td.TaskRoleArn)
	}

	task, got := actions("task-role-policy.json")
	if want := append(slices.Clone(s3), "sts:AssumeRole"); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("task role actions %v, want the S3 operations the code calls and sts:AssumeRole %v", got, want)
	}
	var manifest job.Manifest
	readSampleJSON(t, "fleet/manifest.json", &manifest)
	for _, g := range manifest.Groups {
		roleName := g.RoleARN[strings.LastIndex(g.RoleARN, "/")+1:]
		if !slices.ContainsFunc(task["sts:AssumeRole"], func(r string) bool { return strings.HasSuffix(r, ":role/"+roleName) }) {
			t.Errorf("task role may not assume %s", g.RoleARN)
		}
		for _, p := range g.Pools {
			for _, loc := range []string{p.Input, p.Checkpoint, p.Checkpoint + ".lock", p.Checkpoint + ".scan", p.Report, p.Summary} {
				obj := "arn:aws:s3:::" + strings.TrimPrefix(loc, "s3://")
				if !slices.ContainsFunc(task["s3:PutObject"], func(r string) bool {
					return strings.HasSuffix(r, "/*") && strings.HasPrefix(obj, strings.TrimSuffix(r, "*"))
				}) {
					t.Errorf("task role cannot write %s", loc)
				}
			}
		}
	}

	sm, _ := actions("state-machine-role-policy.json")
	if res := sm["ecs:RunTask"]; len(res) != 1 || !strings.HasSuffix(res[0], ":task-definition/"+td.Family+":*") {
		t.Errorf("state machine role: ecs:RunTask on %v, want the task definition family %s", res, td.Family)
	}
	if pass := slices.Sorted(slices.Values(sm["iam:PassRole"])); !slices.Equal(pass, slices.Sorted(slices.Values([]string{td.TaskRoleArn, td.ExecutionRoleArn}))) {
		t.Errorf("state machine role passes %v, want the task definition's roles", pass)
	}
	for _, a := range []string{"ecs:DescribeTasks", "ecs:StopTask", "events:PutRule", "events:PutTargets", "events:DescribeRule", "states:StartExecution", "s3:PutObject"} {
		if len(sm[a]) == 0 {
			t.Errorf("state machine role lacks %s", a)
		}
	}
	m := readStateMachine(t)
	rw := m.States[m.StartAt].ResultWriter
	results := "arn:aws:s3:::" + rw.Parameters.Bucket + "/" + rw.Parameters.Prefix + "/*"
	if !slices.Contains(sm["s3:PutObject"], results) {
		t.Errorf("state machine role cannot write the results to %s", results)
	}
}

// TestExportKeepExisting: export --keep-existing leaves an existing output
// alone and lists nothing; without an output it exports as usual.
func TestExportKeepExisting(t *testing.T) {
	f := newFixture(t, 50)
	out := filepath.Join(f.dir, "kept.csv")
	writeFile(t, out, []byte("username,mfa_options\nfrom-before,SMS:phone_number\n"))
	args := []string{"export", "--endpoint-url", f.srv.URL, "--user-pool-id", cognitotest.DefaultPoolID, "--output", out, "--keep-existing", "--progress", "none"}
	if p, code := f.exec(t, time.Minute, args...); code != 0 {
		t.Fatalf("export --keep-existing over an existing output: exit %d\n%s", code, p.stderr.String())
	}
	if got := string(readFile(t, out)); !strings.Contains(got, "from-before") || f.srv.Calls("ListUsers") != 0 {
		t.Errorf("export --keep-existing rewrote the output or listed users (%d calls)", f.srv.Calls("ListUsers"))
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	if p, code := f.exec(t, time.Minute, args...); code != 0 || f.srv.Calls("ListUsers") == 0 {
		t.Fatalf("export --keep-existing without an output: exit %d, %d calls\n%s", code, f.srv.Calls("ListUsers"), p.stderr.String())
	}
}

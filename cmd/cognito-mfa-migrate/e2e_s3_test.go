package main

// End-to-end tests with every location in S3: gofakes3 over HTTP in the
// test process, reached by the built binary through --s3-endpoint-url.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
)

const e2eBucket = "e2e-checkpoints"

// fakeS3 is gofakes3 listening on loopback with the bucket e2eBucket, and a
// real SDK client aimed at it the way the command builds its own.
type fakeS3 struct {
	url    string
	client *s3.Client
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	url, client := checkpointtest.FakeS3(t, e2eBucket)
	return &fakeS3{url: url, client: client}
}

func (s *fakeS3) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if _, err := s.client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(e2eBucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

func (s *fakeS3) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := s.client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(e2eBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// s3Args returns run arguments that read the input from S3, and so keep the
// checkpoint, the report and the summary next to it in S3.
func (s *fakeS3) s3Args(f *fixture, extra ...string) []string {
	return f.runArgs(append([]string{"--input", "s3://" + e2eBucket + "/users.csv", "--s3-endpoint-url", s.url}, extra...)...)
}

// TestS3Job runs a job whose input, checkpoint, report and summary are all
// in S3: two runners started at once (exactly one proceeds), a resume to the
// end, then status and report reading the S3 checkpoint.
func TestS3Job(t *testing.T) {
	t.Parallel()
	const users = 300
	f := newFixture(t, users)
	s := newFakeS3(t)
	s.put(t, "users.csv", usersCSV(f.seeds))
	loc := "s3://" + e2eBucket + "/users.checkpoint"

	raceRunners(t, f, loc, s.s3Args(f, "--read-rps", "20", "--write-rps", "20"), nil)

	// The winner released its lock on the way out: the next run proceeds.
	if p, code := f.exec(t, time.Minute, s.s3Args(f, "--read-rps", "0", "--write-rps", "0")...); code != 0 {
		t.Fatalf("resumed run exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	f.checkUsers(t)
	report := s.get(t, "users.report.csv")
	f.checkReport(t, report, true)
	if sum := s.get(t, "users.summary.json"); !json.Valid(sum) {
		t.Errorf("summary in S3 is not JSON: %q", sum)
	}

	st := loadStatus(t, checkpoint.NewS3(s.client, e2eBucket, "users.checkpoint"))
	if st.Done != users || len(st.Runs) != 2 {
		t.Errorf("S3 checkpoint: %d rows done, %d runs; want %d and 2 (the refused run never wrote it)", st.Done, len(st.Runs), users)
	}
	status := []string{"--input", "s3://" + e2eBucket + "/users.csv", "--s3-endpoint-url", s.url}
	p, code := f.exec(t, time.Minute, append([]string{"status"}, status...)...)
	if want := "checkpoint " + loc; code != 0 || !strings.Contains(p.stdout.String(), want) || !strings.Contains(p.stdout.String(), "remaining 0") {
		t.Errorf("status = %d, %q; want 0 and the checkpoint %s with nothing remaining; stderr:\n%s", code, p.stdout.String(), loc, p.stderr.tail())
	}
	js := statusJSON(t, f, status...)
	if js.Checkpoint != loc || js.Done != users || js.Remaining != 0 {
		t.Errorf("status --json = checkpoint %s, done %d, remaining %d; want %s, %d, 0", js.Checkpoint, js.Done, js.Remaining, loc, users)
	}
	rebuilt := f.dir + "/rebuilt.csv"
	if p, code := f.exec(t, time.Minute, append([]string{"report", "--output", rebuilt}, status...)...); code != 0 {
		t.Fatalf("report exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	if got := readFile(t, rebuilt); !bytes.Equal(got, report) {
		t.Errorf("report rebuilt from the S3 checkpoint differs from the run's report")
	}
}

// TestS3CrashedRunnerLock kills a runner whose checkpoint is in S3: its lock
// object stays, so the next run is refused, naming the dead runner and when
// its lock expires; once it has, a new run takes the lock over and finishes
// the job.
func TestS3CrashedRunnerLock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	s := newFakeS3(t)
	s.put(t, "users.csv", usersCSV(f.seeds))
	args := s.s3Args(f, "--read-rps", "50", "--write-rps", "50", "--lock-ttl", "3s")

	p := f.start(t, args...)
	if !waitUntil(t, p, time.Minute, "10 reads", func() bool { return f.srv.Calls(opRead) >= 10 }) {
		t.Fatalf("the run exited before 10 reads; stderr:\n%s", p.stderr.tail())
	}
	p.signal(t, syscall.SIGKILL)
	p.wait(t, 10*time.Second)

	var lock checkpoint.LockInfo
	if err := json.Unmarshal(s.get(t, "users.checkpoint.lock"), &lock); err != nil {
		t.Fatalf("lock object: %v", err)
	}
	refused, code := f.exec(t, time.Minute, args...)
	msg := refused.messages()
	if code != 1 || !strings.Contains(msg, lock.Owner) || !strings.Contains(msg, "if it crashed") {
		t.Errorf("run while the dead runner's lock lives: exit code %d, want 1 and a message naming %q and what to do; stderr:\n%s", code, lock.Owner, msg)
	}

	// Wait out the lock's lifetime, then the next run takes it over.
	<-time.After(time.Until(lock.Expires) + 100*time.Millisecond)
	if p, code := f.exec(t, time.Minute, args...); code != 0 {
		t.Fatalf("run after the lock expired: exit code %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	f.checkUsers(t)
	f.checkReport(t, s.get(t, "users.report.csv"), true)
}

// TestSignalWhileStarting stops runs that are still starting, blocked on a
// storage call that does not answer: reading the input from S3, or taking
// the lock of an S3 checkpoint. A signal then is a stop like any other:
// exit 4, nothing written, nothing called, and no misleading error.
func TestSignalWhileStarting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args func(f *fixture, url string) []string
	}{
		{"reading the input", func(f *fixture, url string) []string {
			return f.runArgs("--input", "s3://"+e2eBucket+"/users.csv", "--s3-endpoint-url", url)
		}},
		{"locking the checkpoint", func(f *fixture, url string) []string {
			return f.runArgs("--checkpoint", "s3://"+e2eBucket+"/users.checkpoint", "--s3-endpoint-url", url)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 20)
			arrived, release := make(chan struct{}, 1), make(chan struct{})
			hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case arrived <- struct{}{}:
				default:
				}
				select { // until the client goes away or the test ends
				case <-r.Context().Done():
				case <-release:
				}
			}))
			t.Cleanup(hang.Close)
			t.Cleanup(func() { close(release) })

			p := f.start(t, tt.args(f, hang.URL)...)
			select {
			case <-arrived:
			case <-p.done:
				t.Fatalf("the run exited with %d before calling S3; stderr:\n%s", p.state.ExitCode(), p.stderr.tail())
			case <-time.After(time.Minute):
				t.Fatalf("the run made no S3 call within a minute; stderr:\n%s", p.stderr.tail())
			}
			p.signal(t, syscall.SIGTERM)
			if code := p.wait(t, 30*time.Second); code != 4 {
				t.Errorf("exit code after SIGTERM while starting = %d, want 4; stderr:\n%s", code, p.stderr.tail())
			}
			if msg := p.messages(); !strings.Contains(msg, "run again to resume") || strings.Contains(msg, "credentials") {
				t.Errorf("message after SIGTERM while starting does not just say the run stopped:\n%s", msg)
			}
			if n := f.srv.Calls(""); n != 0 {
				t.Errorf("the run made %d Cognito calls, want 0", n)
			}
		})
	}
}

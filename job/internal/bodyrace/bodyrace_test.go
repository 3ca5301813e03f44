package bodyrace_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/internal/bodyrace"
)

// streamProbe records whether the request stream is an io.WriterTo at the
// point of the stack where it is inserted.
type streamProbe struct {
	id       string
	writerTo []bool // one per attempt
}

func (p *streamProbe) ID() string { return p.id }

func (p *streamProbe) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	p.record(in.Request)
	return next.HandleFinalize(ctx, in)
}

func (p *streamProbe) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	p.record(in.Request)
	return next.HandleDeserialize(ctx, in)
}

func (p *streamProbe) record(req any) {
	r, ok := req.(*smithyhttp.Request)
	_, isWriterTo := r.GetStream().(io.WriterTo)
	p.writerTo = append(p.writerTo, ok && isWriterTo)
}

// TestInstallHidesAfterPayloadHash checks where the workaround acts: the
// SDK's payload hash (ComputePayloadHash) must still see the body's WriteTo,
// so that it hashes the body without a 32 KiB copy buffer, and the HTTP
// client must not, on every attempt (the body is rewound and sent again).
func TestInstallHidesAfterPayloadHash(t *testing.T) {
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	if err := srv.AddUser(cognitotest.DefaultPoolID, cognitotest.User{Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	srv.FailNext("AdminGetUser", cognitotest.FaultError500, 1)

	atHash := &streamProbe{id: "test/AtPayloadHash"}
	atSend := &streamProbe{id: "test/AtSend"}
	cfg := srv.Config()
	cfg.APIOptions = []func(*middleware.Stack) error{bodyrace.Install, func(s *middleware.Stack) error {
		if err := s.Finalize.Insert(atHash, "ComputePayloadHash", middleware.Before); err != nil {
			return err
		}
		return s.Deserialize.Add(atSend, middleware.After) // innermost: just before the HTTP client
	}}
	c := cip.NewFromConfig(cfg)
	_, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(cognitotest.DefaultPoolID), Username: aws.String("alice")})
	if err != nil {
		t.Fatalf("AdminGetUser = %v, want success after one 500", err)
	}
	for i, w := range atHash.writerTo {
		if !w {
			t.Errorf("attempt %d: the payload hash saw a body without WriteTo, want WriteTo (hidden only after the hash)", i+1)
		}
	}
	for i, w := range atSend.writerTo {
		if w {
			t.Errorf("attempt %d: the HTTP client got a body with WriteTo, want it hidden", i+1)
		}
	}
	if len(atHash.writerTo) != 2 || len(atSend.writerTo) != 2 {
		t.Errorf("probes saw %d and %d attempts, want 2 and 2", len(atHash.writerTo), len(atSend.writerTo))
	}
}

// TestInstallTwice checks that installing the workaround twice (as a
// configuration option and a client option) adds it once.
func TestInstallTwice(t *testing.T) {
	stack := middleware.NewStack("op", smithyhttp.NewStackRequest)
	for range 2 {
		if err := bodyrace.Install(stack); err != nil {
			t.Fatal(err)
		}
	}
	if ids := stack.Finalize.List(); len(ids) != 1 || ids[0] != bodyrace.ID {
		t.Errorf("Finalize step = %v, want [%s]", ids, bodyrace.ID)
	}
}

package cognitotest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
)

// AccountID is the AWS account the server answers for: STS
// GetCallerIdentity returns it, and it appears in pool ARNs and
// AccessDeniedException messages.
const AccountID = "123456789012"

// CallerARN is the identity STS GetCallerIdentity reports.
const CallerARN = "arn:aws:iam::" + AccountID + ":user/cognitotest"

// Quirks make the server disagree with one of the behaviours the reference
// documents or infers, so that a client's self-test can be shown to notice.
// The zero value is the documented behaviour.
type Quirks struct {
	// DisableAbsentFactors makes AdminSetUserMFAPreference disable every
	// factor whose settings object is absent from the request and clear a
	// preference it does not restate, as cognito-local PR #468 does
	// (reference §1), instead of leaving absent factors unchanged.
	DisableAbsentFactors bool
	// SMSWithoutPhone lets AdminSetUserMFAPreference enable SMS MFA for a
	// user without a phone_number attribute.
	SMSWithoutPhone bool
	// AcceptUnconfirmed lets AdminSetUserMFAPreference change UNCONFIRMED
	// users instead of answering UserNotConfirmedException.
	AcceptUnconfirmed bool
	// ClearLegacyOnEnable makes enabling SMS with AdminSetUserMFAPreference
	// remove the legacy SMS MFAOptions entry.
	ClearLegacyOnEnable bool
}

// extState is the server's state for the operations added for preflight
// and the self-test. It is guarded by Server.mu.
type extState struct {
	denied    map[string]bool       // operation → answered AccessDeniedException
	quirks    Quirks                // disagreements with the reference
	clients   map[string]*appClient // client ID → app client
	tokens    map[string]userKey    // access token → user
	secrets   map[userKey]string    // pending or verified TOTP secret (base32)
	passwords map[userKey]string    // permanent or temporary password
	seq       int                   // for client IDs and tokens
	poolMFA   map[string]string     // pool ID → MfaConfiguration, when not the default
}

// userKey names a user of a pool.
type userKey struct{ pool, username string }

// Deny makes every call of the operation op (such as "AdminSetUserMFAPreference")
// fail with AccessDeniedException, as an IAM policy without the action
// does; the message names the action and the resource, like AWS's. Deny
// with no operation lifts every denial.
func (s *Server) Deny(ops ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ops) == 0 {
		s.ext.denied = nil
		return
	}
	if s.ext.denied == nil {
		s.ext.denied = make(map[string]bool)
	}
	for _, op := range ops {
		s.ext.denied[op] = true
	}
}

// SetQuirks replaces the server's quirks (see Quirks).
func (s *Server) SetQuirks(q Quirks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ext.quirks = q
}

// anonymousOps are called with a user's token and sent unsigned by the SDK
// (its "anonymous" auth scheme).
var anonymousOps = map[string]bool{
	"AssociateSoftwareToken": true,
	"VerifySoftwareToken":    true,
	"SignUp":                 true,
}

// moreOps are the operations added for preflight and the self-test.
var moreOps = map[string]func(*Server, []byte) ([]byte, *apiError){
	"ListUserPools":             func(s *Server, b []byte) ([]byte, *apiError) { return s.listUserPools(b, "") },
	"DescribeUserPool":          (*Server).describeUserPool,
	"AdminDeleteUser":           (*Server).adminDeleteUser,
	"AdminUpdateUserAttributes": (*Server).adminUpdateUserAttributes,
	"AdminDeleteUserAttributes": (*Server).adminDeleteUserAttributes,
	"AdminSetUserPassword":      (*Server).adminSetUserPassword,
	"AdminResetUserPassword":    (*Server).adminResetUserPassword,
	"SignUp":                    (*Server).signUp,
	"CreateUserPoolClient":      (*Server).createUserPoolClient,
	"DeleteUserPoolClient":      (*Server).deleteUserPoolClient,
	"AdminInitiateAuth":         (*Server).adminInitiateAuth,
	"AssociateSoftwareToken":    (*Server).associateSoftwareToken,
	"VerifySoftwareToken":       (*Server).verifySoftwareToken,
}

// regionPattern matches an AWS Region name such as us-east-1.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// signedRegion returns the Region of a SigV4 Authorization header's
// credential scope (Credential=AKID/date/REGION/service/aws4_request).
func signedRegion(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[2]
}

// accessLocked applies IAM denials and the Region check: a call signed for
// a Region other than the one a pool ID names is answered
// ResourceNotFoundException, as real Cognito answers for a pool that does
// not exist in the Region called. s.mu must be held.
func (s *Server) accessLocked(op, auth string, body []byte) *apiError {
	var ref struct{ UserPoolId string }
	_ = json.Unmarshal(body, &ref) // a bad body is the operation's to report
	if s.ext.denied[op] {
		resource := "arn:aws:cognito-idp:" + Region + ":" + AccountID + ":userpool/*"
		if ref.UserPoolId != "" {
			resource = poolARN(ref.UserPoolId)
		}
		return &apiError{http.StatusBadRequest, "AccessDeniedException",
			"User: " + CallerARN + " is not authorized to perform: cognito-idp:" + op + " on resource: " + resource +
				" because no identity-based policy allows the cognito-idp:" + op + " action"}
	}
	if ref.UserPoolId == "" || anonymousOps[op] {
		return nil
	}
	poolRegion, _, _ := strings.Cut(ref.UserPoolId, "_")
	if got := signedRegion(auth); got != "" && regionPattern.MatchString(poolRegion) && got != poolRegion {
		return errPoolNotFound(ref.UserPoolId)
	}
	return nil
}

// poolARN returns the ARN of a pool of the server's account.
func poolARN(id string) string {
	region, _, _ := strings.Cut(id, "_")
	if !regionPattern.MatchString(region) {
		region = Region
	}
	return "arn:aws:cognito-idp:" + region + ":" + AccountID + ":userpool/" + id
}

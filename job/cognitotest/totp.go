package cognitotest

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/http"
	"slices"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// A self-test reaches the TOTP states the way a user does: an app client
// allowing ADMIN_USER_PASSWORD_AUTH, a permanent password, AdminInitiateAuth
// for an access token, AssociateSoftwareToken for a secret and
// VerifySoftwareToken with a code computed from it (RFC 6238: SHA-1, 6
// digits, 30-second steps, one step of skew), which registers the token so
// that AdminSetUserMFAPreference may enable SOFTWARE_TOKEN_MFA.

// appClient is an app client of a pool.
type appClient struct {
	id, name, pool string
	flows          []string
}

// TOTPOptions are the RFC 6238 parameters VerifySoftwareToken checks codes
// with, as Cognito and authenticator apps use them.
var TOTPOptions = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func errNoClient() *apiError {
	return &apiError{http.StatusBadRequest, "ResourceNotFoundException", "User pool client does not exist."}
}

func errBadToken() *apiError {
	return &apiError{http.StatusBadRequest, "NotAuthorizedException", "Invalid Access Token"}
}

// clientLocked returns the app client with the given ID. s.mu must be held.
func (s *Server) clientLocked(id *string) *appClient {
	if id == nil {
		return nil
	}
	return s.ext.clients[*id]
}

// next returns a new unique suffix. s.mu must be held.
func (s *Server) nextLocked() int { s.ext.seq++; return s.ext.seq }

// createUserPoolClient implements CreateUserPoolClient (name and
// ExplicitAuthFlows only; a generated secret is not modeled).
func (s *Server) createUserPoolClient(body []byte) ([]byte, *apiError) {
	var in struct {
		UserPoolId        *string
		ClientName        *string
		ExplicitAuthFlows []string
		GenerateSecret    bool
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := requirePoolID(in.UserPoolId); e != nil {
		return nil, e
	}
	if in.ClientName == nil || *in.ClientName == "" {
		return nil, errValidation("null", "clientName", "Member must not be null")
	}
	if in.GenerateSecret {
		return nil, errInvalidParameter("cognitotest does not model client secrets")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pools[*in.UserPoolId] == nil {
		return nil, errPoolNotFound(*in.UserPoolId)
	}
	c := &appClient{id: fmt.Sprintf("cognitotestclient%08d", s.nextLocked()), name: *in.ClientName, pool: *in.UserPoolId, flows: in.ExplicitAuthFlows}
	if s.ext.clients == nil {
		s.ext.clients = make(map[string]*appClient)
	}
	s.ext.clients[c.id] = c
	type client struct {
		ClientId, ClientName, UserPoolId string
		ExplicitAuthFlows                []string
	}
	return mustMarshal(struct{ UserPoolClient client }{client{c.id, c.name, c.pool, c.flows}}), nil
}

// deleteUserPoolClient implements DeleteUserPoolClient.
func (s *Server) deleteUserPoolClient(body []byte) ([]byte, *apiError) {
	var in struct{ UserPoolId, ClientId *string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := requirePoolID(in.UserPoolId); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pools[*in.UserPoolId] == nil {
		return nil, errPoolNotFound(*in.UserPoolId)
	}
	c := s.clientLocked(in.ClientId)
	if c == nil || c.pool != *in.UserPoolId {
		return nil, errNoClient()
	}
	delete(s.ext.clients, c.id)
	return []byte("{}"), nil
}

// ClientCount returns how many app clients the server's pools have, so a
// test can check that a self-test deleted its own.
func (s *Server) ClientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ext.clients)
}

// adminInitiateAuth implements AdminInitiateAuth with
// ADMIN_USER_PASSWORD_AUTH (or the older ADMIN_NO_SRP_AUTH): it checks the
// client, its auth flows, the password and the user's status, and answers
// with an MFA challenge when the user has MFA (or must set it up, in a pool
// whose MFA is ON), else with tokens. Only the access token is usable (for
// AssociateSoftwareToken and VerifySoftwareToken).
func (s *Server) adminInitiateAuth(body []byte) ([]byte, *apiError) {
	var in struct {
		UserPoolId     *string
		ClientId       *string
		AuthFlow       string
		AuthParameters map[string]string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := requirePoolID(in.UserPoolId); e != nil {
		return nil, e
	}
	switch in.AuthFlow {
	case "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH":
	default:
		return nil, errInvalidParameter("cognitotest: auth flow %q is not modeled", in.AuthFlow)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[*in.UserPoolId]
	if p == nil {
		return nil, errPoolNotFound(*in.UserPoolId)
	}
	c := s.clientLocked(in.ClientId)
	if c == nil || c.pool != p.id {
		return nil, errNoClient()
	}
	if !slices.Contains(c.flows, "ALLOW_ADMIN_USER_PASSWORD_AUTH") && !slices.Contains(c.flows, "ADMIN_NO_SRP_AUTH") {
		return nil, errInvalidParameter("Auth flow not enabled for this client")
	}
	u := p.stored(in.AuthParameters["USERNAME"])
	if u == nil {
		return nil, errNoUser()
	}
	k := userKey{p.id, u.Username}
	pw, ok := s.ext.passwords[k]
	if !ok || pw != in.AuthParameters["PASSWORD"] {
		return nil, &apiError{http.StatusBadRequest, "NotAuthorizedException", "Incorrect username or password."}
	}
	challenge := ""
	switch {
	case u.Status == StatusUnconfirmed:
		return nil, &apiError{http.StatusBadRequest, "UserNotConfirmedException", "User is not confirmed."}
	case u.Status == StatusResetRequired:
		return nil, &apiError{http.StatusBadRequest, "PasswordResetRequiredException", "Password reset required for the user"}
	case u.Status == StatusForceChangePassword:
		challenge = "NEW_PASSWORD_REQUIRED"
	case u.TOTPEnabled:
		challenge = "SOFTWARE_TOKEN_MFA"
	case u.SMSEnabled || u.hasSMSOption():
		challenge = "SMS_MFA"
	case s.mfaConfigLocked(p.id) == "ON":
		challenge = "MFA_SETUP"
	}
	if challenge != "" {
		return mustMarshal(struct {
			ChallengeName string
			Session       string
		}{challenge, fmt.Sprintf("cognitotest-session-%d", s.nextLocked())}), nil
	}
	token := fmt.Sprintf("cognitotest-access-%d", s.nextLocked())
	if s.ext.tokens == nil {
		s.ext.tokens = make(map[string]userKey)
	}
	s.ext.tokens[token] = k
	type result struct {
		AccessToken, IdToken, RefreshToken, TokenType string
		ExpiresIn                                     int
	}
	return mustMarshal(struct {
		AuthenticationResult result
		ChallengeParameters  map[string]string
	}{result{token, token + "-id", token + "-refresh", "Bearer", 3600}, map[string]string{}}), nil
}

// userOfTokenLocked returns the user an access token was issued to.
// s.mu must be held.
func (s *Server) userOfTokenLocked(token *string) (userKey, *User, *apiError) {
	if token == nil {
		return userKey{}, nil, errBadToken()
	}
	k, ok := s.ext.tokens[*token]
	if !ok {
		return userKey{}, nil, errBadToken()
	}
	p := s.pools[k.pool]
	if p == nil {
		return userKey{}, nil, errBadToken()
	}
	u := p.stored(k.username)
	if u == nil {
		return userKey{}, nil, errNoUser()
	}
	return k, u, nil
}

// associateSoftwareToken implements AssociateSoftwareToken with an access
// token: a new 160-bit secret, base32 without padding, as Cognito returns it.
func (s *Server) associateSoftwareToken(body []byte) ([]byte, *apiError) {
	var in struct{ AccessToken, Session *string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, _, e := s.userOfTokenLocked(in.AccessToken)
	if e != nil {
		return nil, e
	}
	raw := make([]byte, 20)
	_, _ = rand.Read(raw)
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	if s.ext.secrets == nil {
		s.ext.secrets = make(map[userKey]string)
	}
	s.ext.secrets[k] = secret
	return mustMarshal(struct{ SecretCode string }{secret}), nil
}

// verifySoftwareToken implements VerifySoftwareToken: the code must be the
// RFC 6238 code of the associated secret at the server's time (TOTPOptions);
// a match registers the token (User.TOTPRegistered) without enabling TOTP.
func (s *Server) verifySoftwareToken(body []byte) ([]byte, *apiError) {
	var in struct {
		AccessToken, Session *string
		UserCode             string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k, u, e := s.userOfTokenLocked(in.AccessToken)
	if e != nil {
		return nil, e
	}
	secret, ok := s.ext.secrets[k]
	if !ok {
		return nil, &apiError{http.StatusBadRequest, "InvalidParameterException", "User has not associated a software token"}
	}
	if valid, err := totp.ValidateCustom(in.UserCode, secret, now, TOTPOptions); err != nil || !valid {
		return nil, &apiError{http.StatusBadRequest, "EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA"}
	}
	c := u.clone()
	c.TOTPRegistered = true
	c.Modified = now
	s.pools[k.pool].store(&c)
	return mustMarshal(struct{ Status string }{"SUCCESS"}), nil
}

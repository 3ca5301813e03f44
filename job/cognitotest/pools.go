package cognitotest

import (
	"fmt"
	"slices"
	"strconv"
)

// DefaultMFAConfiguration is the MfaConfiguration DescribeUserPool reports
// for a pool unless SetMFAConfiguration says otherwise: a pool with SMS MFA
// users allows MFA.
const DefaultMFAConfiguration = "OPTIONAL"

// SetMFAConfiguration sets the MfaConfiguration ("OFF", "ON" or
// "OPTIONAL") DescribeUserPool reports for pool poolID. With "ON",
// AdminInitiateAuth answers a user without MFA with the MFA_SETUP
// challenge instead of tokens. It returns an error for an unknown pool or
// value.
func (s *Server) SetMFAConfiguration(poolID, cfg string) error {
	switch cfg {
	case "OFF", "ON", "OPTIONAL":
	default:
		return fmt.Errorf("cognitotest: invalid MFA configuration %q", cfg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pools[poolID] == nil {
		return errNoPool(poolID)
	}
	if s.ext.poolMFA == nil {
		s.ext.poolMFA = make(map[string]string)
	}
	s.ext.poolMFA[poolID] = cfg
	return nil
}

// mfaConfigLocked returns a pool's MfaConfiguration. s.mu must be held.
func (s *Server) mfaConfigLocked(poolID string) string {
	if c := s.ext.poolMFA[poolID]; c != "" {
		return c
	}
	return DefaultMFAConfiguration
}

// poolName is the name the server gives a pool: its ID's suffix.
func poolName(id string) string { return "cognitotest-" + id[len(id)-min(len(id), 8):] }

// describeUserPool implements DescribeUserPool with the fields a preflight
// reads: Id, Name, Arn, EstimatedNumberOfUsers (the stored users; a user
// source's generated users are not counted) and MfaConfiguration.
func (s *Server) describeUserPool(body []byte) ([]byte, *apiError) {
	var in struct{ UserPoolId *string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := requirePoolID(in.UserPoolId); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[*in.UserPoolId]
	if p == nil {
		return nil, errPoolNotFound(*in.UserPoolId)
	}
	type userPool struct {
		Id                     string
		Name                   string
		Arn                    string
		EstimatedNumberOfUsers int
		MfaConfiguration       string
	}
	name, users := s.describedLocked(p) // fleet.go
	return mustMarshal(struct{ UserPool userPool }{userPool{
		Id: p.id, Name: name, Arn: poolARN(p.id),
		EstimatedNumberOfUsers: users, MfaConfiguration: s.mfaConfigLocked(p.id),
	}}), nil
}

// listUserPools implements ListUserPools: every pool of the server in the
// Region a request is signed for (see inRegion; "" for every pool), by ID,
// MaxResults (1–60, required) at a time, NextToken an opaque offset.
func (s *Server) listUserPools(body []byte, region string) ([]byte, *apiError) {
	var in struct {
		MaxResults *int
		NextToken  *string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.MaxResults == nil || *in.MaxResults < 1 || *in.MaxResults > 60 {
		return nil, errValidation(fmt.Sprint(in.MaxResults), "maxResults", "Member must have value between 1 and 60")
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.pools))
	for id := range s.pools {
		if inRegion(id, region) {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	slices.Sort(ids)
	start := 0
	if in.NextToken != nil {
		n, err := strconv.Atoi(*in.NextToken)
		if err != nil || n < 0 || n > len(ids) {
			return nil, errInvalidParameter("Invalid NextToken: %s", *in.NextToken)
		}
		start = n
	}
	type desc struct{ Id, Name string }
	var out struct {
		UserPools []desc
		NextToken string `json:",omitempty"`
	}
	out.UserPools = []desc{}
	end := min(start+*in.MaxResults, len(ids))
	s.mu.Lock()
	for _, id := range ids[start:end] {
		if p := s.pools[id]; p != nil {
			name, _ := s.describedLocked(p)
			out.UserPools = append(out.UserPools, desc{id, name})
		}
	}
	s.mu.Unlock()
	if end < len(ids) {
		out.NextToken = strconv.Itoa(end)
	}
	return mustMarshal(out), nil
}

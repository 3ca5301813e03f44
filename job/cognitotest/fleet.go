package cognitotest

import (
	"fmt"
	"regexp"
)

// PoolInfo describes a user pool as ListUserPools and DescribeUserPool
// report it. The zero value is the server's defaults: the pool named as
// poolName names it, MFA configuration DefaultMFAConfiguration, and as
// many estimated users as the pool stores.
type PoolInfo struct {
	// Name is the pool's name; "" means the server's default name.
	Name string
	// MFAConfiguration is OFF, ON or OPTIONAL; "" leaves it as it is
	// (see SetMFAConfiguration).
	MFAConfiguration string
	// EstimatedUsers is what DescribeUserPool reports as
	// EstimatedNumberOfUsers; 0 means the number of users stored in the
	// pool (a pool backed by SetUserSource can say how many it stands for).
	EstimatedUsers int
}

// fleetState is the per-pool descriptions of a Server, guarded by
// Server.mu.
type fleetState struct {
	info map[string]PoolInfo
}

// regionPrefix matches a pool ID that starts with a Region name.
var regionPrefix = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-\d+)_`)

// AddPool adds the user pool id described by info, or replaces the
// description of an existing pool (its users are kept). As with real pool
// IDs, an ID that starts with a Region ("eu-west-1_AbC") belongs to that
// Region: ListUserPools lists it only to requests signed for that Region,
// and other operations on it from another Region get
// ResourceNotFoundException (see the package doc); an ID without a Region
// prefix is seen from every Region. One Server is one account (AccountID).
// AddPool returns an error if id does not match the model's pattern or
// info.MFAConfiguration is not OFF, ON, OPTIONAL or "".
func (s *Server) AddPool(id string, info PoolInfo) error {
	if !poolIDPattern.MatchString(id) {
		return fmt.Errorf("cognitotest: invalid user pool ID %q", id)
	}
	switch info.MFAConfiguration {
	case "", "OFF", "ON", "OPTIONAL":
	default:
		return fmt.Errorf("cognitotest: invalid MFA configuration %q", info.MFAConfiguration)
	}
	s.mu.Lock()
	if _, ok := s.pools[id]; !ok {
		s.pools[id] = newPool(id)
	}
	if s.fleet.info == nil {
		s.fleet.info = make(map[string]PoolInfo)
	}
	s.fleet.info[id] = info
	s.mu.Unlock()
	if info.MFAConfiguration != "" {
		return s.SetMFAConfiguration(id, info.MFAConfiguration)
	}
	return nil
}

// describedLocked returns the name and estimated number of users that
// ListUserPools and DescribeUserPool report for p. s.mu must be held.
func (s *Server) describedLocked(p *pool) (name string, users int) {
	info := s.fleet.info[p.id]
	name, users = info.Name, info.EstimatedUsers
	if name == "" {
		name = poolName(p.id)
	}
	if users == 0 {
		users = len(p.users)
	}
	return name, users
}

// inRegion reports whether pool id is seen from region: the Region its ID
// starts with, every Region for an ID without one, and every pool when
// region is "" (a request whose scope could not be read).
func inRegion(id, region string) bool {
	m := regionPrefix.FindStringSubmatch(id)
	return m == nil || region == "" || m[1] == region
}

// executeIn runs an operation for a request signed for region: ListUserPools
// lists that Region's pools; the others run in execute.
func (s *Server) executeIn(region, op string, body []byte) ([]byte, *apiError) {
	if op == "ListUserPools" {
		return s.listUserPools(body, region)
	}
	return s.execute(op, body)
}

package main

import (
	"bytes"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// probeMarker is in the username of every preflight probe.
const probeMarker = "cognito-mfa-migrate-preflight-"

// userReads returns the AdminGetUser calls that read a user, leaving out the
// probe run makes before its first call (a user that does not exist).
func userReads(srv *cognitotest.Server) int {
	n := srv.Calls(opRead)
	for _, r := range srv.Requests(opRead) {
		if bytes.Contains(r.Body, []byte(probeMarker)) {
			n--
		}
	}
	return n
}

package cognitotest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// MaxListUsersLimit is the largest Limit ListUsers accepts, and the page size
// when Limit is 0 or absent.
const MaxListUsersLimit = 60

// searchable lists the attributes ListUsers can filter on (reference §3).
var searchable = map[string]bool{
	"username": true, "email": true, "phone_number": true, "name": true,
	"given_name": true, "family_name": true, "preferred_username": true,
	"cognito:user_status": true, "status": true, "sub": true,
}

// userFilter is a parsed ListUsers Filter.
type userFilter struct {
	attr   string
	prefix bool // ^= rather than =
	value  string
}

// parseFilter parses `attr = "value"` or `attr ^= "value"`. Inside the
// quotes, \" and \\ are escapes.
func parseFilter(s string) (*userFilter, *apiError) {
	if len(s) > 256 {
		return nil, errValidation(quote(s), "filter", "Member must have length less than or equal to 256")
	}
	bad := errInvalidParameter("Error while parsing filter.")
	rest := strings.TrimSpace(s)
	i := strings.IndexAny(rest, "=^ \t")
	if i <= 0 {
		return nil, bad
	}
	f := &userFilter{attr: rest[:i]}
	rest = strings.TrimLeft(rest[i:], " \t")
	switch {
	case strings.HasPrefix(rest, "^="):
		f.prefix, rest = true, rest[2:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	default:
		return nil, bad
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '"' {
		return nil, bad
	}
	var v strings.Builder
	closed := false
	for j := 1; j < len(rest); j++ {
		c := rest[j]
		switch {
		case c == '\\' && j+1 < len(rest):
			j++
			v.WriteByte(rest[j])
		case c == '"':
			if j != len(rest)-1 {
				return nil, bad
			}
			closed = true
		default:
			v.WriteByte(c)
		}
	}
	if !closed {
		return nil, bad
	}
	if !searchable[f.attr] {
		return nil, errInvalidParameter("Invalid search attribute: %s", f.attr)
	}
	f.value = v.String()
	return f, nil
}

func (f *userFilter) match(u *User) bool {
	if f == nil {
		return true
	}
	var got string
	switch f.attr {
	case "username":
		got = u.Username
	case "status":
		got = "Disabled"
		if u.Enabled {
			got = "Enabled"
		}
	case "cognito:user_status":
		got = u.Status
	default:
		var ok bool
		if got, ok = u.Attributes[f.attr]; !ok {
			return false
		}
	}
	if f.prefix {
		return strings.HasPrefix(got, f.value)
	}
	return got == f.value
}

// pageToken is the decoded form of a ListUsers PaginationToken.
type pageToken struct {
	Pool string `json:"p"`
	Next int    `json:"n"`
}

func encodeToken(t pageToken) string {
	return base64.RawURLEncoding.EncodeToString(mustMarshal(t))
}

func decodeToken(s string) (pageToken, bool) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil {
		return t, false
	}
	return t, true
}

// listUsers implements ListUsers over the stored users of a pool, in
// insertion order. A synthetic pool's generated users are not listed.
func (s *Server) listUsers(body []byte) ([]byte, *apiError) {
	var in struct {
		UserPoolId      *string
		AttributesToGet []string
		Filter          *string
		Limit           *int
		PaginationToken *string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := requirePoolID(in.UserPoolId); e != nil {
		return nil, e
	}
	limit := MaxListUsersLimit
	if in.Limit != nil {
		switch n := *in.Limit; {
		case n < 0:
			return nil, errValidation(fmt.Sprint(n), "limit", "Member must have value greater than or equal to 0")
		case n > MaxListUsersLimit:
			return nil, errValidation(fmt.Sprint(n), "limit", "Member must have value less than or equal to 60")
		case n > 0:
			limit = n
		}
	}
	var filter *userFilter
	if in.Filter != nil && strings.TrimSpace(*in.Filter) != "" {
		var e *apiError
		if filter, e = parseFilter(*in.Filter); e != nil {
			return nil, e
		}
	}
	poolID := *in.UserPoolId

	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[poolID]
	if p == nil {
		return nil, errPoolNotFound(poolID)
	}
	start := 0
	if in.PaginationToken != nil {
		t, ok := decodeToken(*in.PaginationToken)
		if !ok || t.Pool != poolID || t.Next < 0 || t.Next > len(p.order) {
			return nil, errInvalidParameter("Invalid pagination token: %s", *in.PaginationToken)
		}
		start = t.Next
	}
	users := make([]wireUser, 0, min(limit, len(p.order)-start))
	i := start
	for ; i < len(p.order) && len(users) < limit; i++ {
		u := p.users[p.order[i]]
		if !filter.match(u) {
			continue
		}
		for _, name := range in.AttributesToGet {
			if _, ok := u.Attributes[name]; !ok && !searchable[name] {
				return nil, errInvalidParameter("Attribute %s is not set for every user in the results; it cannot be requested in AttributesToGet", name)
			}
		}
		users = append(users, userType(u, in.AttributesToGet))
	}
	var out struct {
		Users           []wireUser `json:"Users"`
		PaginationToken string     `json:"PaginationToken,omitempty"`
	}
	out.Users = users
	// Hand out a token only if another user would match.
	for j := i; j < len(p.order); j++ {
		if filter.match(p.users[p.order[j]]) {
			out.PaginationToken = encodeToken(pageToken{Pool: poolID, Next: i})
			break
		}
	}
	return mustMarshal(out), nil
}

package cognitotest

import (
	"net/http"
	"slices"
	"unicode/utf8"
)

// The user administration operations a self-test needs to set up and clean
// up its users. Where the reference is silent the fake keeps to what the
// API reference states and otherwise accepts the call.

// remove deletes the stored user username from p.
func (p *pool) remove(username string) {
	u := p.users[username]
	if u == nil {
		return
	}
	delete(p.users, username)
	delete(p.subs, u.Attributes["sub"])
	p.order = slices.DeleteFunc(p.order, func(n string) bool { return n == username })
}

// forgetLocked drops the passwords, secrets and tokens of a user. s.mu must
// be held.
func (s *Server) forgetLocked(k userKey) {
	delete(s.ext.passwords, k)
	delete(s.ext.secrets, k)
	for t, who := range s.ext.tokens {
		if who == k {
			delete(s.ext.tokens, t)
		}
	}
}

// adminDeleteUser implements AdminDeleteUser.
func (s *Server) adminDeleteUser(body []byte) ([]byte, *apiError) {
	var in userRef
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[*in.UserPoolId]
	if p == nil {
		return nil, errPoolNotFound(*in.UserPoolId)
	}
	u := p.stored(*in.Username)
	if u == nil {
		return nil, errNoUser()
	}
	s.forgetLocked(userKey{p.id, u.Username})
	p.remove(u.Username)
	return []byte("{}"), nil
}

// checkAttributes validates attributes as AdminCreateUser and
// AdminUpdateUserAttributes do.
func checkAttributes(attrs []wireAttribute) *apiError {
	for _, a := range attrs {
		switch {
		case a.Name == "" || utf8.RuneCountInString(a.Name) > 32:
			return errInvalidParameter("Invalid attribute name %q", a.Name)
		case a.Name == "sub":
			return errInvalidParameter("Cannot modify the non-mutable attribute sub")
		case a.Name == "phone_number" && !phonePattern.MatchString(a.Value):
			return errInvalidParameter("Invalid phone number format.")
		}
	}
	return nil
}

// adminUpdateUserAttributes implements AdminUpdateUserAttributes.
func (s *Server) adminUpdateUserAttributes(body []byte) ([]byte, *apiError) {
	var in struct {
		userRef
		UserAttributes []wireAttribute
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	if in.UserAttributes == nil {
		return nil, errValidation("null", "userAttributes", "Member must not be null")
	}
	if e := checkAttributes(in.UserAttributes); e != nil {
		return nil, e
	}
	now := s.now()
	e := s.withUser(*in.UserPoolId, *in.Username, true, func(_ *pool, u *User) *apiError {
		for _, a := range in.UserAttributes {
			u.Attributes[a.Name] = a.Value
		}
		u.Modified = now
		return nil
	})
	if e != nil {
		return nil, e
	}
	return []byte("{}"), nil
}

// adminDeleteUserAttributes implements AdminDeleteUserAttributes.
func (s *Server) adminDeleteUserAttributes(body []byte) ([]byte, *apiError) {
	var in struct {
		userRef
		UserAttributeNames []string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	if in.UserAttributeNames == nil {
		return nil, errValidation("null", "userAttributeNames", "Member must not be null")
	}
	if slices.Contains(in.UserAttributeNames, "sub") {
		return nil, errInvalidParameter("Cannot modify the non-mutable attribute sub")
	}
	now := s.now()
	e := s.withUser(*in.UserPoolId, *in.Username, true, func(_ *pool, u *User) *apiError {
		for _, n := range in.UserAttributeNames {
			delete(u.Attributes, n)
		}
		u.Modified = now
		return nil
	})
	if e != nil {
		return nil, e
	}
	return []byte("{}"), nil
}

// adminSetUserPassword implements AdminSetUserPassword: a permanent
// password confirms the user (CONFIRMED), a temporary one puts the user in
// FORCE_CHANGE_PASSWORD. Passwords shorter than 8 characters are refused
// (the default policy's minimum).
func (s *Server) adminSetUserPassword(body []byte) ([]byte, *apiError) {
	var in struct {
		userRef
		Password  *string
		Permanent bool
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	if in.Password == nil || utf8.RuneCountInString(*in.Password) < 8 {
		return nil, &apiError{http.StatusBadRequest, "InvalidPasswordException", "Password did not conform with policy: Password not long enough"}
	}
	now := s.now()
	e := s.withUser(*in.UserPoolId, *in.Username, true, func(p *pool, u *User) *apiError {
		if in.Permanent {
			u.Status = StatusConfirmed
		} else {
			u.Status = StatusForceChangePassword
		}
		u.Modified = now
		if s.ext.passwords == nil {
			s.ext.passwords = make(map[userKey]string)
		}
		s.ext.passwords[userKey{p.id, u.Username}] = *in.Password
		return nil
	})
	if e != nil {
		return nil, e
	}
	return []byte("{}"), nil
}

// adminResetUserPassword implements AdminResetUserPassword: the user's
// status becomes RESET_REQUIRED. No code is sent and no verified contact is
// required (the real service sends one where it can; not modeled).
func (s *Server) adminResetUserPassword(body []byte) ([]byte, *apiError) {
	var in userRef
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	now := s.now()
	e := s.withUser(*in.UserPoolId, *in.Username, true, func(p *pool, u *User) *apiError {
		u.Status = StatusResetRequired
		u.Modified = now
		delete(s.ext.passwords, userKey{p.id, u.Username})
		return nil
	})
	if e != nil {
		return nil, e
	}
	return []byte("{}"), nil
}

// signUp implements SignUp through an app client: the user is created
// UNCONFIRMED. Called unsigned, like the real operation.
func (s *Server) signUp(body []byte) ([]byte, *apiError) {
	var in struct {
		ClientId       *string
		Username       *string
		Password       *string
		UserAttributes []wireAttribute
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := requireUsername(in.Username); e != nil {
		return nil, e
	}
	if in.Password == nil || utf8.RuneCountInString(*in.Password) < 8 {
		return nil, &apiError{http.StatusBadRequest, "InvalidPasswordException", "Password did not conform with policy: Password not long enough"}
	}
	if e := checkAttributes(in.UserAttributes); e != nil {
		return nil, e
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clientLocked(in.ClientId)
	if c == nil {
		return nil, errNoClient()
	}
	p := s.pools[c.pool]
	if p == nil {
		return nil, errPoolNotFound(c.pool)
	}
	if p.stored(*in.Username) != nil {
		return nil, errUsernameExists()
	}
	attrs := make(map[string]string, len(in.UserAttributes))
	for _, a := range in.UserAttributes {
		attrs[a.Name] = a.Value
	}
	u := &User{Username: *in.Username, Attributes: attrs, Enabled: true, Status: StatusUnconfirmed, Created: now, Modified: now}
	if err := normalize(p.id, u, now); err != nil {
		return nil, errInvalidParameter("%v", err)
	}
	p.store(u)
	if s.ext.passwords == nil {
		s.ext.passwords = make(map[userKey]string)
	}
	s.ext.passwords[userKey{p.id, u.Username}] = *in.Password
	return mustMarshal(struct {
		UserConfirmed bool
		UserSub       string
	}{false, u.Attributes["sub"]}), nil
}

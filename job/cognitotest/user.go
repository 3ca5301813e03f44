package cognitotest

import (
	"crypto/sha1"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"
)

// User statuses (UserStatusType).
const (
	StatusUnconfirmed         = "UNCONFIRMED"
	StatusConfirmed           = "CONFIRMED"
	StatusExternalProvider    = "EXTERNAL_PROVIDER"
	StatusResetRequired       = "RESET_REQUIRED"
	StatusForceChangePassword = "FORCE_CHANGE_PASSWORD"
)

// MFA setting names as UserMFASettingList and PreferredMfaSetting report
// them.
const (
	SMSMFA           = "SMS_MFA"
	SoftwareTokenMFA = "SOFTWARE_TOKEN_MFA"
	EmailOTP         = "EMAIL_OTP"
)

var validStatuses = map[string]bool{
	StatusUnconfirmed: true, StatusConfirmed: true, StatusExternalProvider: true,
	StatusResetRequired: true, StatusForceChangePassword: true,
	"ARCHIVED": true, "UNKNOWN": true, "COMPROMISED": true,
}

// usernamePattern is UsernameType's pattern (reference §7).
var usernamePattern = regexp.MustCompile(`^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$`)

// MFAOption is a legacy MFA setting, as set with the deprecated
// AdminSetUserSettings and reported in MFAOptions.
type MFAOption struct {
	// DeliveryMedium is "SMS" or "EMAIL".
	DeliveryMedium string
	// AttributeName is the attribute that receives codes, normally
	// "phone_number".
	AttributeName string
}

// User is a user of a fake pool. The zero value is not a valid user:
// Username is required. Note that the zero Enabled means a disabled user.
type User struct {
	// Username is the user's name, 1 to 128 characters without spaces.
	Username string
	// Attributes holds the user's attributes by name, for example
	// "phone_number": "+14155550100" or "email". AddUser adds a
	// deterministic "sub" when it is missing.
	Attributes map[string]string
	// Enabled is false for a disabled user. Admin operations work on
	// disabled users; the flag is only reported.
	Enabled bool
	// Status is the UserStatus, one of the Status constants (or the
	// deprecated ARCHIVED, UNKNOWN, COMPROMISED); AddUser turns "" into
	// CONFIRMED.
	Status string
	// MFAOptions are the legacy MFA settings (see the package doc for how
	// they relate to SMSEnabled).
	MFAOptions []MFAOption
	// SMSEnabled, TOTPEnabled and EmailEnabled are what UserMFASettingList
	// reports (SMS_MFA, SOFTWARE_TOKEN_MFA, EMAIL_OTP).
	SMSEnabled, TOTPEnabled, EmailEnabled bool
	// TOTPRegistered says a software token is verified, so TOTP may be
	// enabled.
	TOTPRegistered bool
	// WebAuthnEnabled is set by AdminSetUserMFAPreference's
	// WebAuthnMfaSettings; AdminGetUser does not report it.
	WebAuthnEnabled bool
	// Preferred is the PreferredMfaSetting: "", SMS_MFA,
	// SOFTWARE_TOKEN_MFA or EMAIL_OTP.
	Preferred string
	// Created and Modified are the creation and last-modification dates;
	// AddUser sets zero ones to the server's current time.
	Created, Modified time.Time
}

// clone returns a deep copy of u.
func (u User) clone() User {
	u.Attributes = maps.Clone(u.Attributes)
	u.MFAOptions = slices.Clone(u.MFAOptions)
	return u
}

// settingList returns what UserMFASettingList reports for u.
func (u *User) settingList() []string {
	var l []string
	if u.SMSEnabled {
		l = append(l, SMSMFA)
	}
	if u.TOTPEnabled {
		l = append(l, SoftwareTokenMFA)
	}
	if u.EmailEnabled {
		l = append(l, EmailOTP)
	}
	return l
}

// hasSMSOption reports whether u has a legacy SMS MFAOptions entry.
func (u *User) hasSMSOption() bool {
	return slices.ContainsFunc(u.MFAOptions, func(o MFAOption) bool { return o.DeliveryMedium == "SMS" })
}

// pool is one user pool.
type pool struct {
	id     string
	users  map[string]*User
	order  []string          // usernames in insertion order, for ListUsers
	subs   map[string]string // sub -> username
	source func(username string) (User, bool)
}

func newPool(id string) *pool {
	return &pool{id: id, users: make(map[string]*User), subs: make(map[string]string)}
}

// store adds or replaces u in p.
func (p *pool) store(u *User) {
	if _, ok := p.users[u.Username]; !ok {
		p.order = append(p.order, u.Username)
	}
	p.users[u.Username] = u
	if sub := u.Attributes["sub"]; sub != "" {
		p.subs[sub] = u.Username
	}
}

// stored returns the stored user named name, looked up by username or sub.
func (p *pool) stored(name string) *User {
	if u := p.users[name]; u != nil {
		return u
	}
	if un, ok := p.subs[name]; ok {
		return p.users[un]
	}
	return nil
}

// defaultSub returns a deterministic UUID-shaped sub for a user.
func defaultSub(poolID, username string) string {
	h := sha1.Sum([]byte(poolID + "\x00" + username))
	h[6] = h[6]&0x0f | 0x50 // version 5
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// normalize validates u and fills its defaults.
func normalize(poolID string, u *User, now time.Time) error {
	if err := validUsername(u.Username); err != nil {
		return err
	}
	if u.Status == "" {
		u.Status = StatusConfirmed
	}
	if !validStatuses[u.Status] {
		return fmt.Errorf("invalid status %q", u.Status)
	}
	switch u.Preferred {
	case "", SMSMFA, SoftwareTokenMFA, EmailOTP:
	default:
		return fmt.Errorf("invalid preferred MFA setting %q", u.Preferred)
	}
	for _, o := range u.MFAOptions {
		if o.DeliveryMedium != "SMS" && o.DeliveryMedium != "EMAIL" {
			return fmt.Errorf("invalid MFA option delivery medium %q", o.DeliveryMedium)
		}
	}
	if u.Attributes == nil {
		u.Attributes = make(map[string]string)
	}
	if u.Attributes["sub"] == "" {
		u.Attributes["sub"] = defaultSub(poolID, u.Username)
	}
	if u.Created.IsZero() {
		u.Created = now
	}
	if u.Modified.IsZero() {
		u.Modified = u.Created
	}
	return nil
}

func validUsername(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 128 {
		return fmt.Errorf("username %q must have 1 to 128 characters", name)
	}
	if !usernamePattern.MatchString(name) {
		return fmt.Errorf("username %q must not contain spaces or control characters", name)
	}
	return nil
}

// errNoPool reports a pool the server does not have.
func errNoPool(id string) error { return fmt.Errorf("cognitotest: user pool %s does not exist", id) }

// AddUser adds a deep copy of u to the pool poolID. Zero Status becomes
// CONFIRMED, zero Created and Modified become the server's current time, and
// a missing "sub" attribute is derived from the pool and username. The state
// is stored as given, so any state real Cognito can hold, including the
// legacy one, can be seeded. AddUser returns an error if the pool does not
// exist, the username is invalid or already taken, or Status, Preferred or
// an MFAOptions delivery medium is not a valid value.
func (s *Server) AddUser(poolID string, u User) error {
	u = u.clone()
	now := s.now()
	if err := normalize(poolID, &u, now); err != nil {
		return fmt.Errorf("cognitotest: add user: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[poolID]
	if p == nil {
		return errNoPool(poolID)
	}
	if p.users[u.Username] != nil {
		return fmt.Errorf("cognitotest: add user: user %q already exists in %s", u.Username, poolID)
	}
	p.store(&u)
	return nil
}

// User returns a deep copy of the user named username (or whose sub is
// username) in pool poolID, and whether it exists. For a pool with a user
// source, users not stored are generated by the source.
func (s *Server) User(poolID, username string) (User, bool) {
	s.mu.Lock()
	p := s.pools[poolID]
	if p == nil {
		s.mu.Unlock()
		return User{}, false
	}
	if u := p.stored(username); u != nil {
		c := u.clone()
		s.mu.Unlock()
		return c, true
	}
	src := p.source
	s.mu.Unlock()
	if src == nil {
		return User{}, false
	}
	u, err := s.generate(poolID, src, username)
	if err != nil || u == nil {
		return User{}, false
	}
	return *u, true
}

// Users returns deep copies of the users stored in pool poolID, in the order
// ListUsers pages them (insertion order). Users a source could generate but
// that were never written are not included. It returns nil for an unknown
// pool.
func (s *Server) Users(poolID string) []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[poolID]
	if p == nil {
		return nil
	}
	out := make([]User, 0, len(p.order))
	for _, name := range p.order {
		out = append(out, p.users[name].clone())
	}
	return out
}

// SetUserSource makes pool poolID synthetic, for benchmarks with millions of
// users: a user not stored in the pool is generated on demand by fn, and an
// operation that changes a user stores the changed user, so memory grows
// only with the users written. The pool is created if it does not exist; a
// nil fn removes the source. fn is called without the server's lock held
// and must be safe for concurrent use; it must return the same user for the
// same name. Generated users are normalized like AddUser's; a user fn
// returns that is invalid, or whose Username differs from the name asked
// for, makes the operation fail with InternalErrorException. ListUsers,
// Users and lookups by sub see only stored users.
func (s *Server) SetUserSource(poolID string, fn func(username string) (User, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[poolID]
	if p == nil {
		p = newPool(poolID)
		s.pools[poolID] = p
	}
	p.source = fn
}

// generate asks a user source for username. It returns nil, nil when the
// source has no such user.
func (s *Server) generate(poolID string, src func(string) (User, bool), username string) (*User, error) {
	u, ok := src(username)
	if !ok {
		return nil, nil
	}
	u = u.clone()
	if u.Username != username {
		return nil, fmt.Errorf("user source returned user %q for %q", u.Username, username)
	}
	if err := normalize(poolID, &u, s.now()); err != nil {
		return nil, fmt.Errorf("user source returned an invalid user: %w", err)
	}
	return &u, nil
}

// withUser runs fn on the user named username in pool poolID with s.mu held.
// fn gets a copy; when write is true and fn returns nil, the copy replaces
// the stored user (or is stored, for a generated one). An unknown pool gives
// ResourceNotFoundException, an unknown user UserNotFoundException.
func (s *Server) withUser(poolID, username string, write bool, fn func(p *pool, u *User) *apiError) *apiError {
	s.mu.Lock()
	p := s.pools[poolID]
	if p == nil {
		s.mu.Unlock()
		return errPoolNotFound(poolID)
	}
	u := p.stored(username)
	if u == nil && p.source != nil {
		src := p.source
		s.mu.Unlock()
		gen, err := s.generate(poolID, src, username)
		if err != nil {
			return errInternal("cognitotest: " + err.Error())
		}
		s.mu.Lock()
		// A concurrent write may have stored the user meanwhile.
		if u = p.stored(username); u == nil {
			u = gen
		}
	}
	defer s.mu.Unlock()
	if u == nil {
		return errNoUser()
	}
	c := u.clone()
	if e := fn(p, &c); e != nil {
		return e
	}
	if write {
		p.store(&c)
	}
	return nil
}

func errPoolNotFound(id string) *apiError {
	return &apiError{400, "ResourceNotFoundException", "User pool " + id + " does not exist."}
}

func errNoUser() *apiError {
	return &apiError{400, "UserNotFoundException", "User does not exist."}
}

package cognitotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/internal/rejection"
)

// execute parses and runs one implemented operation.
func (s *Server) execute(op string, body []byte) ([]byte, *apiError) {
	switch op {
	case "AdminGetUser":
		return s.adminGetUser(body)
	case "AdminSetUserMFAPreference":
		return s.adminSetUserMFAPreference(body)
	case "AdminSetUserSettings":
		return s.adminSetUserSettings(body)
	case "ListUsers":
		return s.listUsers(body)
	case "AdminCreateUser":
		return s.adminCreateUser(body)
	}
	if h := moreOps[op]; h != nil {
		return h(s, body)
	}
	return nil, &apiError{http.StatusBadRequest, "UnknownOperationException", "Operation " + op + " is unknown."}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("cognitotest: " + err.Error())
	}
	return b
}

// decode parses a JSON request body into v.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "Cannot deserialize the request body: " + err.Error()}
	}
	return nil
}

// errValidation is the message AWS JSON services send for a constraint
// violation, with code InvalidParameterException as Cognito uses.
func errValidation(value, member, constraint string) *apiError {
	return errInvalidParameter("1 validation error detected: Value %s at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func quote(s string) string { return "'" + s + "'" }

func requirePoolID(id *string) *apiError {
	switch {
	case id == nil:
		return errValidation("null", "userPoolId", "Member must not be null")
	case utf8.RuneCountInString(*id) > 55 || !poolIDPattern.MatchString(*id):
		return errValidation(quote(*id), "userPoolId", `Member must satisfy regular expression pattern: [\w-]+_[0-9a-zA-Z]+`)
	}
	return nil
}

func requireUsername(name *string) *apiError {
	switch {
	case name == nil:
		return errValidation("null", "username", "Member must not be null")
	case *name == "":
		return errValidation("''", "username", "Member must have length greater than or equal to 1")
	case utf8.RuneCountInString(*name) > 128:
		return errValidation(quote(*name), "username", "Member must have length less than or equal to 128")
	case !usernamePattern.MatchString(*name):
		return errValidation(quote(*name), "username", `Member must satisfy regular expression pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+`)
	}
	return nil
}

// epoch is a time sent as JSON epoch seconds with millisecond fractions.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return fmt.Appendf(nil, "%d.%03d", floorDiv(ms, 1000), floorMod(ms, 1000)), nil
}

type wireAttribute struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type wireMFAOption struct {
	DeliveryMedium string `json:"DeliveryMedium,omitempty"`
	AttributeName  string `json:"AttributeName,omitempty"`
}

// wireUser is UserType, as ListUsers and AdminCreateUser return it.
type wireUser struct {
	Username             string          `json:"Username"`
	Attributes           []wireAttribute `json:"Attributes,omitempty"`
	Enabled              bool            `json:"Enabled"`
	UserStatus           string          `json:"UserStatus"`
	MFAOptions           []wireMFAOption `json:"MFAOptions,omitempty"`
	UserCreateDate       epoch           `json:"UserCreateDate"`
	UserLastModifiedDate epoch           `json:"UserLastModifiedDate"`
}

// attributesOf returns u's attributes sorted by name, only those named in
// only when it is not nil.
func attributesOf(u *User, only []string) []wireAttribute {
	out := make([]wireAttribute, 0, len(u.Attributes))
	for name, value := range u.Attributes {
		if only == nil || slices.Contains(only, name) {
			out = append(out, wireAttribute{name, value})
		}
	}
	slices.SortFunc(out, func(a, b wireAttribute) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func mfaOptionsOf(u *User) []wireMFAOption {
	if len(u.MFAOptions) == 0 {
		return nil
	}
	out := make([]wireMFAOption, len(u.MFAOptions))
	for i, o := range u.MFAOptions {
		out[i] = wireMFAOption{o.DeliveryMedium, o.AttributeName}
	}
	return out
}

func userType(u *User, only []string) wireUser {
	return wireUser{
		Username:             u.Username,
		Attributes:           attributesOf(u, only),
		Enabled:              u.Enabled,
		UserStatus:           u.Status,
		MFAOptions:           mfaOptionsOf(u),
		UserCreateDate:       epoch(u.Created),
		UserLastModifiedDate: epoch(u.Modified),
	}
}

type userRef struct {
	UserPoolId *string
	Username   *string
}

func (r *userRef) validate() *apiError {
	if e := requirePoolID(r.UserPoolId); e != nil {
		return e
	}
	return requireUsername(r.Username)
}

// adminGetUser implements AdminGetUser. UserMFASettingList and
// PreferredMfaSetting are omitted when empty, as real Cognito does.
func (s *Server) adminGetUser(body []byte) ([]byte, *apiError) {
	var in userRef
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	var out []byte
	e := s.withUser(*in.UserPoolId, *in.Username, false, func(_ *pool, u *User) *apiError {
		out = mustMarshal(struct {
			Username             string          `json:"Username"`
			UserAttributes       []wireAttribute `json:"UserAttributes,omitempty"`
			Enabled              bool            `json:"Enabled"`
			UserStatus           string          `json:"UserStatus"`
			MFAOptions           []wireMFAOption `json:"MFAOptions,omitempty"`
			UserMFASettingList   []string        `json:"UserMFASettingList,omitempty"`
			PreferredMfaSetting  string          `json:"PreferredMfaSetting,omitempty"`
			UserCreateDate       epoch           `json:"UserCreateDate"`
			UserLastModifiedDate epoch           `json:"UserLastModifiedDate"`
		}{
			Username:             u.Username,
			UserAttributes:       attributesOf(u, nil),
			Enabled:              u.Enabled,
			UserStatus:           u.Status,
			MFAOptions:           mfaOptionsOf(u),
			UserMFASettingList:   u.settingList(),
			PreferredMfaSetting:  u.Preferred,
			UserCreateDate:       epoch(u.Created),
			UserLastModifiedDate: epoch(u.Modified),
		})
		return nil
	})
	return out, e
}

// mfaSettings is SMSMfaSettingsType, SoftwareTokenMfaSettingsType and
// EmailMfaSettingsType. A present {} decodes to all false.
type mfaSettings struct {
	Enabled      bool
	PreferredMfa bool
}

// factor is one MFA factor of a user, for AdminSetUserMFAPreference.
type factor struct {
	name     string // SMS_MFA, SOFTWARE_TOKEN_MFA, EMAIL_OTP
	member   string // request member, for messages
	settings *mfaSettings
	enabled  *bool
}

// adminSetUserMFAPreference implements AdminSetUserMFAPreference; see the
// package doc for the rules.
func (s *Server) adminSetUserMFAPreference(body []byte) ([]byte, *apiError) {
	var in struct {
		userRef
		SMSMfaSettings           *mfaSettings
		SoftwareTokenMfaSettings *mfaSettings
		EmailMfaSettings         *mfaSettings
		WebAuthnMfaSettings      *struct{ Enabled bool }
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	now := s.now()
	e := s.withUser(*in.UserPoolId, *in.Username, true, func(_ *pool, u *User) *apiError {
		q := s.ext.quirks // s.mu is held
		// Inferred, not documented: the table the planner reads too
		// (package job/internal/rejection). Quirks.AcceptUnconfirmed makes
		// the fake disagree with it.
		if r, ok := rejection.ForStatus(u.Status); ok && (u.Status != StatusUnconfirmed || !q.AcceptUnconfirmed) {
			return &apiError{http.StatusBadRequest, r.Code, r.Message}
		}
		factors := []factor{
			{SMSMFA, "SMSMfaSettings", in.SMSMfaSettings, &u.SMSEnabled},
			{SoftwareTokenMFA, "SoftwareTokenMfaSettings", in.SoftwareTokenMfaSettings, &u.TOTPEnabled},
			{EmailOTP, "EmailMfaSettings", in.EmailMfaSettings, &u.EmailEnabled},
		}
		// Validate everything before changing anything.
		preferred := 0
		for _, f := range factors {
			if f.settings == nil {
				continue
			}
			if f.settings.PreferredMfa {
				if !f.settings.Enabled {
					return errInvalidParameter("%s cannot be preferred when it is not enabled", f.name)
				}
				preferred++
			}
			switch {
			case f.name == SMSMFA && u.Attributes["phone_number"] == "" && !q.SMSWithoutPhone:
				return errInvalidParameter("User does not have a phone_number set to turn on SMS MFA")
			case f.name == SoftwareTokenMFA && f.settings.Enabled && !u.TOTPRegistered:
				return errInvalidParameter("User has not verified software token mfa")
			case f.name == EmailOTP && f.settings.Enabled && u.Attributes["email"] == "":
				return errInvalidParameter("User does not have an email set to turn on email MFA")
			}
		}
		if preferred > 1 {
			return errInvalidParameter("Only one MFA factor can be set as preferred")
		}
		for _, f := range factors {
			if f.settings == nil && q.DisableAbsentFactors {
				f.settings = &mfaSettings{}
			}
			if f.settings == nil {
				continue
			}
			*f.enabled = f.settings.Enabled
			switch {
			case f.settings.PreferredMfa:
				u.Preferred = f.name
			case u.Preferred == f.name:
				u.Preferred = ""
			}
		}
		if in.SMSMfaSettings != nil {
			if u.SMSEnabled && !u.hasSMSOption() {
				u.MFAOptions = append(u.MFAOptions, MFAOption{DeliveryMedium: "SMS", AttributeName: "phone_number"})
			}
			if !u.SMSEnabled || q.ClearLegacyOnEnable {
				u.MFAOptions = slices.DeleteFunc(u.MFAOptions, func(o MFAOption) bool { return o.DeliveryMedium == "SMS" })
			}
		}
		if w := in.WebAuthnMfaSettings; w != nil {
			if w.Enabled && !u.SMSEnabled && !u.TOTPEnabled && !u.EmailEnabled {
				return errInvalidParameter("User must have at least one other MFA method enabled to turn on WebAuthn MFA")
			}
			u.WebAuthnEnabled = w.Enabled
		}
		u.Modified = now
		return nil
	})
	if e != nil {
		return nil, e
	}
	return []byte("{}"), nil
}

// adminSetUserSettings implements the deprecated AdminSetUserSettings: it
// stores MFAOptions verbatim and, when they hold no SMS entry, turns SMS_MFA
// off (see the package doc).
func (s *Server) adminSetUserSettings(body []byte) ([]byte, *apiError) {
	var in struct {
		userRef
		MFAOptions []wireMFAOption
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	if in.MFAOptions == nil {
		return nil, errValidation("null", "mFAOptions", "Member must not be null")
	}
	opts := make([]MFAOption, len(in.MFAOptions))
	for i, o := range in.MFAOptions {
		if o.DeliveryMedium != "" && o.DeliveryMedium != "SMS" && o.DeliveryMedium != "EMAIL" {
			return nil, errValidation(quote(o.DeliveryMedium), fmt.Sprintf("mFAOptions.%d.member.deliveryMedium", i+1), "Member must satisfy enum value set: [SMS, EMAIL]")
		}
		if n := utf8.RuneCountInString(o.AttributeName); n > 32 {
			return nil, errValidation(quote(o.AttributeName), fmt.Sprintf("mFAOptions.%d.member.attributeName", i+1), "Member must have length less than or equal to 32")
		}
		if o.DeliveryMedium == "" {
			return nil, errInvalidParameter("DeliveryMedium is required in MFAOptions")
		}
		opts[i] = MFAOption{o.DeliveryMedium, o.AttributeName}
	}
	now := s.now()
	e := s.withUser(*in.UserPoolId, *in.Username, true, func(_ *pool, u *User) *apiError {
		u.MFAOptions = opts
		if !u.hasSMSOption() {
			u.SMSEnabled = false
			if u.Preferred == SMSMFA {
				u.Preferred = ""
			}
		}
		u.Modified = now
		return nil
	})
	if e != nil {
		return nil, e
	}
	return []byte("{}"), nil
}

var phonePattern = regexp.MustCompile(`^\+[0-9]{4,15}$`)

// adminCreateUser implements AdminCreateUser. TemporaryPassword and the
// message settings are ignored; MessageAction RESEND returns an existing
// user in FORCE_CHANGE_PASSWORD unchanged.
func (s *Server) adminCreateUser(body []byte) ([]byte, *apiError) {
	var in struct {
		userRef
		UserAttributes []wireAttribute
		MessageAction  string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.validate(); e != nil {
		return nil, e
	}
	switch in.MessageAction {
	case "", "SUPPRESS", "RESEND":
	default:
		return nil, errValidation(quote(in.MessageAction), "messageAction", "Member must satisfy enum value set: [RESEND, SUPPRESS]")
	}
	attrs := make(map[string]string, len(in.UserAttributes))
	for _, a := range in.UserAttributes {
		switch {
		case a.Name == "" || utf8.RuneCountInString(a.Name) > 32:
			return nil, errInvalidParameter("Invalid attribute name %q", a.Name)
		case a.Name == "sub":
			return nil, errInvalidParameter("Cannot modify the non-mutable attribute sub")
		case a.Name == "phone_number" && !phonePattern.MatchString(a.Value):
			return nil, errInvalidParameter("Invalid phone number format.")
		case a.Name == "email" && !strings.Contains(a.Value, "@"):
			return nil, errInvalidParameter("Invalid email address format.")
		}
		attrs[a.Name] = a.Value
	}
	poolID, username := *in.UserPoolId, *in.Username

	if in.MessageAction == "RESEND" {
		var out []byte
		e := s.withUser(poolID, username, false, func(_ *pool, u *User) *apiError {
			if u.Status != StatusForceChangePassword {
				return &apiError{http.StatusBadRequest, "UnsupportedUserStateException", "Resend not possible. " + u.Username + " status is not FORCE_CHANGE_PASSWORD"}
			}
			out = mustMarshal(struct{ User wireUser }{userType(u, nil)})
			return nil
		})
		return out, e
	}

	s.mu.Lock()
	p := s.pools[poolID]
	var src func(string) (User, bool)
	if p != nil {
		src = p.source
	}
	s.mu.Unlock()
	if p == nil {
		return nil, errPoolNotFound(poolID)
	}
	if src != nil {
		if u, err := s.generate(poolID, src, username); err != nil {
			return nil, errInternal("cognitotest: " + err.Error())
		} else if u != nil {
			return nil, errUsernameExists()
		}
	}
	now := s.now()
	u := &User{Username: username, Attributes: attrs, Enabled: true, Status: StatusForceChangePassword, Created: now, Modified: now}
	if err := normalize(poolID, u, now); err != nil {
		return nil, errInvalidParameter("%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.users[username] != nil {
		return nil, errUsernameExists()
	}
	p.store(u)
	return mustMarshal(struct{ User wireUser }{userType(u, nil)}), nil
}

func errUsernameExists() *apiError {
	return &apiError{http.StatusBadRequest, "UsernameExistsException", "User account already exists"}
}

package cognitotest

import (
	"fmt"
	"math/rand/v2"
)

// Kinds of seeded users: the states of Cognito users that the migration's
// decision table (DESIGN.md) tells apart, one kind per row or more. The fake
// seeds them; what the migration must do to each is the job's business and
// lives in its tests (package job/jobtest).
const (
	KindLegacySMS         = "legacy_sms"                // legacy SMS entry, phone, no other factor
	KindLegacyDisabled    = "legacy_sms_disabled"       // the same, user disabled
	KindLegacyUnverified  = "legacy_sms_unverified"     // the same, phone not verified
	KindLegacyTOTPPref    = "legacy_sms_totp_preferred" // legacy SMS, TOTP enabled and preferred
	KindLegacyTOTPNoPref  = "legacy_sms_totp_enabled"   // legacy SMS, TOTP enabled, nothing preferred
	KindLegacyEmail       = "legacy_sms_email_enabled"  // legacy SMS, email OTP enabled
	KindAlreadyMigrated   = "already_migrated"          // legacy SMS, SMS_MFA enabled and preferred
	KindNoPhone           = "legacy_sms_no_phone"       // legacy SMS entry, no phone_number
	KindUnsupportedLegacy = "legacy_email_only"         // only an EMAIL legacy entry
	KindNoLegacy          = "no_legacy"                 // no MFA at all
	KindTOTPOnly          = "totp_only"                 // TOTP enabled and preferred, no legacy entry
	KindUnconfirmed       = "legacy_sms_unconfirmed"    // legacy SMS, status UNCONFIRMED
	KindResetRequired     = "legacy_sms_reset_required" // legacy SMS, status RESET_REQUIRED
	KindNotInPool         = "not_in_pool"               // a name that is not in the pool
)

// Seed is one user of a generated pool.
type Seed struct {
	User   User   // the user as stored (zero for KindNotInPool but the name)
	Kind   string // one of the Kind constants
	InPool bool   // false for a name that is in the CSV but not in the pool
}

// mixWeights is the share of each kind in a generated pool, in percent.
var mixWeights = []struct {
	kind   string
	weight int
}{
	{KindLegacySMS, 46}, {KindLegacyDisabled, 4}, {KindLegacyUnverified, 4},
	{KindLegacyTOTPPref, 6}, {KindLegacyTOTPNoPref, 3}, {KindLegacyEmail, 3},
	{KindAlreadyMigrated, 8}, {KindNoPhone, 4}, {KindUnsupportedLegacy, 3},
	{KindNoLegacy, 8}, {KindTOTPOnly, 4}, {KindUnconfirmed, 3}, {KindResetRequired, 2},
	{KindNotInPool, 2},
}

// Mix returns n seeded users in a deterministic, realistic mix of every
// kind (roughly half plain legacy SMS users), for demos and tests. The first len(kinds) users cover every kind once, so even a small
// n holds each of them. Usernames are "user-000001"…; phone numbers are in
// the +1-555-01xx fictional range.
func Mix(n int, seed int64) []Seed {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	total := 0
	for _, w := range mixWeights {
		total += w.weight
	}
	out := make([]Seed, 0, n)
	for i := range n {
		kind := ""
		if i < len(mixWeights) {
			kind = mixWeights[i].kind
		} else {
			r := rng.IntN(total)
			for _, w := range mixWeights {
				if r < w.weight {
					kind = w.kind
					break
				}
				r -= w.weight
			}
		}
		out = append(out, newSeed(i+1, kind, rng))
	}
	return out
}

// MixKinds returns every kind Mix generates.
func MixKinds() []string {
	kinds := make([]string, len(mixWeights))
	for i, w := range mixWeights {
		kinds[i] = w.kind
	}
	return kinds
}

func newSeed(i int, kind string, rng *rand.Rand) Seed {
	phone := fmt.Sprintf("+1%03d55501%02d", 200+rng.IntN(700), rng.IntN(100))
	u := User{
		Username: fmt.Sprintf("user-%06d", i),
		Attributes: map[string]string{
			"email":                 fmt.Sprintf("user%06d@example.com", i),
			"email_verified":        "true",
			"phone_number":          phone,
			"phone_number_verified": "true",
		},
		Enabled:    true,
		Status:     StatusConfirmed,
		MFAOptions: []MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}},
	}
	s := Seed{Kind: kind, InPool: true}
	switch kind {
	case KindLegacySMS:
	case KindLegacyDisabled:
		u.Enabled = false
	case KindLegacyUnverified:
		u.Attributes["phone_number_verified"] = "false"
	case KindLegacyTOTPPref:
		u.TOTPRegistered, u.TOTPEnabled, u.Preferred = true, true, SoftwareTokenMFA
	case KindLegacyTOTPNoPref:
		u.TOTPRegistered, u.TOTPEnabled = true, true
	case KindLegacyEmail:
		u.EmailEnabled = true
	case KindAlreadyMigrated:
		u.SMSEnabled, u.Preferred = true, SMSMFA
	case KindNoPhone:
		delete(u.Attributes, "phone_number")
		delete(u.Attributes, "phone_number_verified")
	case KindUnsupportedLegacy:
		u.MFAOptions = []MFAOption{{DeliveryMedium: "EMAIL", AttributeName: "email"}}
	case KindNoLegacy:
		u.MFAOptions = nil
	case KindTOTPOnly:
		u.MFAOptions = nil
		u.TOTPRegistered, u.TOTPEnabled, u.Preferred = true, true, SoftwareTokenMFA
	case KindUnconfirmed:
		u.Status = StatusUnconfirmed
	case KindResetRequired:
		u.Status = StatusResetRequired
	case KindNotInPool:
		s.InPool = false
		u = User{Username: u.Username}
	default:
		panic("cognitotest: unknown kind " + kind)
	}
	s.User = u
	return s
}

// AddSeeds adds the seeds that are in the pool to poolID.
func (s *Server) AddSeeds(poolID string, seeds []Seed) error {
	for _, sd := range seeds {
		if !sd.InPool {
			continue
		}
		if err := s.AddUser(poolID, sd.User); err != nil {
			return err
		}
	}
	return nil
}

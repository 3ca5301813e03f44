package cognitotest

import (
	"fmt"
	"math/rand/v2"
)

// Kinds of seeded users: every row of the migration's decision table
// (DESIGN.md), with the outcome the migration must record for each.
const (
	KindLegacySMS         = "legacy_sms"            // legacy SMS only → migrated, SMS enabled and preferred
	KindLegacyDisabled    = "legacy_sms_disabled"   // the same, user disabled → migrated
	KindLegacyUnverified  = "legacy_sms_unverified" // phone not verified → migrated
	KindLegacyTOTPPref    = "legacy_sms_totp_preferred"
	KindLegacyTOTPNoPref  = "legacy_sms_totp_enabled"
	KindLegacyEmail       = "legacy_sms_email_enabled"
	KindAlreadyMigrated   = "already_migrated"
	KindNoPhone           = "legacy_sms_no_phone"
	KindUnsupportedLegacy = "legacy_email_only"
	KindNoLegacy          = "no_legacy"
	KindTOTPOnly          = "totp_only"
	KindUnconfirmed       = "legacy_sms_unconfirmed"
	KindResetRequired     = "legacy_sms_reset_required"
	KindNotInPool         = "not_in_pool"
)

// Seed is one user of a generated pool.
type Seed struct {
	User   User   // the user as stored (zero for KindNotInPool but the name)
	Kind   string // one of the Kind constants
	InPool bool   // false for a name that is in the CSV but not in the pool

	// Want is the outcome the migration must record (its report name);
	// WantSMS, WantPreferred and WantTOTP are the user's MFA state after a
	// real run.
	Want          string
	WantSMS       bool
	WantPreferred string
	WantTOTP      bool
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

// Mix returns n seeded users in a deterministic, realistic mix of every row
// of the decision table (roughly half plain legacy SMS users), for demos and
// tests. The first len(kinds) users cover every kind once, so even a small
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
	s := Seed{Kind: kind, InPool: true, Want: "migrated", WantSMS: true, WantPreferred: SMSMFA}
	switch kind {
	case KindLegacySMS:
	case KindLegacyDisabled:
		u.Enabled = false
	case KindLegacyUnverified:
		u.Attributes["phone_number_verified"] = "false"
	case KindLegacyTOTPPref:
		u.TOTPRegistered, u.TOTPEnabled, u.Preferred = true, true, SoftwareTokenMFA
		s.WantPreferred, s.WantTOTP = SoftwareTokenMFA, true
	case KindLegacyTOTPNoPref:
		u.TOTPRegistered, u.TOTPEnabled = true, true
		s.WantPreferred, s.WantTOTP = "", true
	case KindLegacyEmail:
		u.EmailEnabled = true
		s.WantPreferred = ""
	case KindAlreadyMigrated:
		u.SMSEnabled, u.Preferred = true, SMSMFA
		s.Want = "already_migrated"
	case KindNoPhone:
		delete(u.Attributes, "phone_number")
		delete(u.Attributes, "phone_number_verified")
		s.Want, s.WantSMS, s.WantPreferred = "no_phone", false, ""
	case KindUnsupportedLegacy:
		u.MFAOptions = []MFAOption{{DeliveryMedium: "EMAIL", AttributeName: "email"}}
		s.Want, s.WantSMS, s.WantPreferred = "unsupported_legacy", false, ""
	case KindNoLegacy:
		u.MFAOptions = nil
		s.Want, s.WantSMS, s.WantPreferred = "no_legacy_mfa", false, ""
	case KindTOTPOnly:
		u.MFAOptions = nil
		u.TOTPRegistered, u.TOTPEnabled, u.Preferred = true, true, SoftwareTokenMFA
		s.Want, s.WantSMS, s.WantPreferred, s.WantTOTP = "no_legacy_mfa", false, SoftwareTokenMFA, true
	case KindUnconfirmed:
		u.Status = StatusUnconfirmed
		s.Want, s.WantSMS, s.WantPreferred = "rejected", false, ""
	case KindResetRequired:
		u.Status = StatusResetRequired
		s.Want, s.WantSMS, s.WantPreferred = "rejected", false, ""
	case KindNotInPool:
		s.InPool, s.Want, s.WantSMS, s.WantPreferred = false, "not_found", false, ""
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

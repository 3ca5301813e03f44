package job

import "strings"

// A row word is the uint32 the checkpoint keeps for every input row. It holds
// the row's outcome and enough of the user's state before the change to
// rebuild the report line without calling Cognito again:
//
//	bits  0-3   outcome
//	bits  4-11  flags: legacy SMS, legacy other, phone present, SMS_MFA,
//	            SOFTWARE_TOKEN_MFA, EMAIL_OTP, other factor, user enabled
//	bits 12-14  preferred: 0 none, 1 SMS, 2 TOTP, 3 email, 4 other, 7 state not read
//	bits 15-31  masked phone: 0 none, else 1 + first digit×10000 + last four digits
//
// The call that was made is not stored: it is plan(state).Call, a pure
// function of the stored state.
const (
	rowOutcomeMask = 0xF
	rowFlagShift   = 4
	rowPrefShift   = 12
	rowPhoneShift  = 15

	prefNone    = 0
	prefSMS     = 1
	prefTOTP    = 2
	prefEmail   = 3
	prefOther   = 4
	prefUnknown = 7 // the state was not read
)

const (
	flagLegacySMS = 1 << iota
	flagLegacyOther
	flagPhone
	flagSMS
	flagTOTP
	flagEmail
	flagOther
	flagEnabled
)

// encodeRow packs an outcome and, when the user was read, its state.
func encodeRow(o outcome, s *userState) uint32 {
	w := uint32(o) & rowOutcomeMask
	if s == nil || !s.Found {
		pref := uint32(prefUnknown)
		if s != nil {
			pref = prefNone // read, not found
		}
		return w | pref<<rowPrefShift
	}
	var f uint32
	set := func(b bool, bit uint32) {
		if b {
			f |= bit
		}
	}
	set(s.LegacySMS, flagLegacySMS)
	set(s.LegacyOther, flagLegacyOther)
	set(s.Phone != "", flagPhone)
	set(s.SMS, flagSMS)
	set(s.TOTP, flagTOTP)
	set(s.Email, flagEmail)
	set(s.OtherFactor, flagOther)
	set(s.Enabled, flagEnabled)
	var pref uint32
	switch s.Preferred {
	case "":
		pref = prefNone
	case mfaSMS:
		pref = prefSMS
	case mfaTOTP:
		pref = prefTOTP
	case mfaEmail:
		pref = prefEmail
	default:
		pref = prefOther
	}
	var phone uint32
	if first, last4, ok := phoneParts(s.Phone); ok {
		phone = 1 + uint32(first)*10000 + uint32(last4)
	}
	return w | f<<rowFlagShift | pref<<rowPrefShift | phone<<rowPhoneShift
}

// rowOutcome returns the outcome of a row word.
func rowOutcome(w uint32) outcome { return outcome(w & rowOutcomeMask) }

// decodeRow unpacks a row word. read is false when the user's state was never
// read (pending, invalid, duplicate, or skipped thanks to the export). The
// returned state's Phone is already masked; a phone too short to mask is
// reported as "******".
func decodeRow(w uint32) (o outcome, s userState, read bool) {
	o = rowOutcome(w)
	pref := (w >> rowPrefShift) & 0x7
	if pref == prefUnknown || o == outcomePending { // a pending row is the zero word
		return o, userState{}, false
	}
	f := (w >> rowFlagShift) & 0xFF
	if f == 0 && pref == prefNone && w>>rowPhoneShift == 0 && o == outcomeNotFound {
		return o, userState{}, true
	}
	s = userState{
		Found:       true,
		LegacySMS:   f&flagLegacySMS != 0,
		LegacyOther: f&flagLegacyOther != 0,
		SMS:         f&flagSMS != 0,
		TOTP:        f&flagTOTP != 0,
		Email:       f&flagEmail != 0,
		OtherFactor: f&flagOther != 0,
		Enabled:     f&flagEnabled != 0,
	}
	switch pref {
	case prefSMS:
		s.Preferred = mfaSMS
	case prefTOTP:
		s.Preferred = mfaTOTP
	case prefEmail:
		s.Preferred = mfaEmail
	case prefOther:
		s.Preferred = "OTHER"
	}
	if code := w >> rowPhoneShift; code != 0 {
		code--
		s.Phone = MaskPhone(phoneFromParts(int(code/10000), int(code%10000)))
	} else if f&flagPhone != 0 {
		s.Phone = "******"
	}
	return o, s, true
}

// phoneFromParts builds a stand-in number with the given first and last digits
// so that MaskPhone renders it; the middle digits are never stored.
func phoneFromParts(first, last4 int) string {
	b := []byte("+0000000000")
	b[1] = byte('0' + first)
	for i := 0; i < 4; i++ {
		b[len(b)-1-i] = byte('0' + last4%10)
		last4 /= 10
	}
	return string(b)
}

// The note codec: a row's note (error code, invalid-input reason,
// duplicate-of) is kept beside its word in the checkpoint.

// notePhone separates a row's note from the full phone number that a run
// with Config.NoMask appends to it. The checkpoint's row word keeps only the
// masked number; the full one lives in the note, so a checkpoint made with
// --no-mask holds phone numbers and must be protected like the report.
const notePhone = "\x1ephone="

// joinNote returns the note of a row whose full phone number is kept.
func joinNote(note, phone string) string {
	if phone == "" {
		return note
	}
	return note + notePhone + phone
}

// noteNotRead is the detail of a no_legacy_mfa row the job did not read
// because the export listed no legacy MFA options for the user.
const noteNotRead = "not read: the export shows no legacy MFA options"

// splitNote splits a row's note into its text and the full phone number, if
// a run with Config.NoMask kept one.
func splitNote(note string) (text, phone string) {
	text, phone, _ = strings.Cut(note, notePhone)
	return text, phone
}

// tallyRows counts the outcomes of checkpoint row words.
func tallyRows(rows []uint32) tally {
	var t tally
	for _, w := range rows {
		t.add(rowOutcome(w), 1)
	}
	return t
}

package job

// Names that package preflight and the commands use.

// RunSeconds returns the floor of a run's duration that the rates set
// (DESIGN.md "Rate limits"): max(reads/readRPS, writes/writeRPS) seconds; a
// rate of 0 (unlimited) sets no floor. Preflight uses it for its estimate.
func RunSeconds(reads, writes, readRPS, writeRPS float64) float64 {
	return runSeconds(reads, writes, readRPS, writeRPS)
}

// ValidatePoolID checks a user pool ID against Cognito's rules (1–55
// characters, pattern [\w-]+_[0-9a-zA-Z]+, such as us-east-1_AbC123). Its
// errors wrap ErrUsage.
func ValidatePoolID(id string) error { return validatePoolID(id) }

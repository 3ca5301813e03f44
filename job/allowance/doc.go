// Package allowance decides how fast the job may call each Cognito quota
// category so that production keeps what it needs: pacing that sees
// production (DESIGN.md, "Pacing that sees production").
//
// Cognito's request quotas are per account and Region, shared by every pool
// and by production's own calls. AWS publishes what is needed to share them
// well: each category's CallCount and ThrottleCount in CloudWatch (namespace
// AWS/Usage, dimension Resource=<category>) and the applied quota in Service
// Quotas. Every metric period a Controller
//
//   - takes production's use of each period: CallCount less the job's own
//     calls in that period (counted by Own), per second;
//   - allows quota × (1 − reserve) − production's peak over the last
//     PeakPeriods periods with data, within [FloorShare × quota, quota];
//   - cuts at once (to CutFactor of what it allowed) when production was
//     throttled in a period (ThrottleCount above the job's own throttles),
//     and holds the cut while that period is among the recent ones;
//   - hands the result to a Ceiling (the job's limiter, whose adaptive
//     control of its own throttles goes on below it) and logs every change.
//
// Data that arrives late is read again at the next decision; periods with no
// data are left out (unknown, not zero); 5-minute data queried at a 1-minute
// period is recognised by the spacing of its timestamps. Without permission
// or without data the controller falls back to the static rates with one
// warning, and never fails the run.
//
// The core depends on three small interfaces (Usage, Quotas, Ceiling), so
// it is tested with stubs under testing/synctest; CloudWatchUsage and
// ServiceQuotas are the thin adapters over the AWS SDK clients.
package allowance

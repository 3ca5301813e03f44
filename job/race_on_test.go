//go:build race

package job

// raceEnabled reports whether the tests run with the race detector, which
// makes the longest of them several times slower.
const raceEnabled = true

//go:build !race

package worker

// raceAllocs is how many allocations per run a test tolerates: none without
// the race detector.
const raceAllocs = 0

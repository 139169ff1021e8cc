//go:build race

package worker

// raceAllocs: the race detector allocates on its own account.
const raceAllocs = 1e9

//go:build !unix

package fdlimit

import "math"

// Raise has nothing to raise here: no per-process descriptor limit to read.
func Raise() (soft, hard uint64, err error) { return math.MaxUint64, math.MaxUint64, nil }

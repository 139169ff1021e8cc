package plan

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Value parsers, shared by the plan file and the overrides. Their errors are
// messages without a location; callers add where the value came from.

func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want a whole number, got %q", s)
	}
	return n, nil
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f != f || f > 1e300 || f < -1e300 {
		return 0, fmt.Errorf("want a number, got %q", s)
	}
	return f, nil
}

var bareNumber = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)$`)

// parseDuration reads a Go duration ("30s", "1m30s", "500ms"). A bare number
// other than 0 is an error: it would silently be nanoseconds.
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	if bareNumber.MatchString(t) {
		return 0, fmt.Errorf("%s has no unit (write %ss)", t, t)
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 30s, 1m30s or 500ms, got %q", s)
	}
	return d, nil
}

// parseThink reads "MIN-MAX" or a single duration.
func parseThink(s string) (Think, error) {
	t := strings.TrimSpace(s)
	// A leading minus belongs to the first duration, not the separator.
	if i := strings.Index(strings.TrimLeft(t, "+-"), "-"); i >= 0 {
		i += len(t) - len(strings.TrimLeft(t, "+-"))
		lo, err := parseDuration(t[:i])
		if err != nil {
			return Think{}, fmt.Errorf("min: %w", err)
		}
		hi, err := parseDuration(t[i+1:])
		if err != nil {
			return Think{}, fmt.Errorf("max: %w", err)
		}
		return Think{Min: lo, Max: hi}, nil
	}
	d, err := parseDuration(t)
	if err != nil {
		return Think{}, err
	}
	return Think{Min: d, Max: d}, nil
}

// parseRateStage reads "DURATION:RATE", as --rate-stage and list items in rate_stages take it.
func parseRateStage(s string) (RateStage, error) {
	ds, rs, ok := strings.Cut(s, ":")
	if !ok {
		return RateStage{}, errors.New("want DURATION:RATE, like 30s:200")
	}
	d, err := parseDuration(ds)
	if err != nil {
		return RateStage{}, fmt.Errorf("duration: %w", err)
	}
	r, err := parseNumber(rs)
	if err != nil {
		return RateStage{}, fmt.Errorf("rate: %w", err)
	}
	return RateStage{Duration: &d, Target: &r}, nil
}

// parseStage reads "DURATION:TARGET", as --stage and list items in stages take it.
func parseStage(s string) (Stage, error) {
	ds, ns, ok := strings.Cut(s, ":")
	if !ok {
		return Stage{}, errors.New("want DURATION:TARGET, like 30s:100")
	}
	d, err := parseDuration(ds)
	if err != nil {
		return Stage{}, fmt.Errorf("duration: %w", err)
	}
	n, err := parseInt(ns)
	if err != nil {
		return Stage{}, fmt.Errorf("target: %w", err)
	}
	return Stage{Duration: &d, Target: &n}, nil
}

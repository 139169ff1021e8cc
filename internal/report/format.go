package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// fmtMs writes a latency for people: 0.42ms, 12.3ms, 456ms, 1.23s.
func fmtMs(ms float64) string {
	switch {
	case ms == 0:
		return "0"
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	default:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	}
}

// fmtMsAxis is a latency axis label: short, no needless decimals.
func fmtMsAxis(ms float64) string {
	switch {
	case ms == 0:
		return "0"
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', -1, 64) + "s"
	default:
		return strconv.FormatFloat(ms, 'f', -1, 64) + "ms"
	}
}

// fmtCount writes a count with thin spaces between thousands: 1 234 567.
func fmtCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 4 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u2009")
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fmtNum writes a rate or an axis value: at most 3 significant decimals.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmtCount(uint64(math.Round(v)))
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// fmtAxis is a count or rate axis label.
func fmtAxis(v float64) string {
	if v >= 10000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// fmtPct writes part of whole as a percentage.
func fmtPct(part, whole uint64) string {
	if whole == 0 {
		return "0%"
	}
	p := 100 * float64(part) / float64(whole)
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return "<0.01%"
	case p >= 99.995 && part != whole:
		return ">99.99%"
	}
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

// fmtBytes writes a byte count in binary units.
func fmtBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// fmtSeconds writes a duration in seconds for people: 9.8s, 2m05s, 1h02m.
func fmtSeconds(s float64) string {
	switch {
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	case s < 3600:
		t := int64(math.Round(s))
		return fmt.Sprintf("%dm%02ds", t/60, t%60)
	default:
		t := int64(math.Round(s))
		return fmt.Sprintf("%dh%02dm", t/3600, t/60%60)
	}
}

// kv is one count of a map, for tables.
type kv struct {
	Key   string
	Count uint64
}

// sortedCounts lists a map's counts by key (status codes, error kinds).
func sortedCounts(m map[string]uint64) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration ("90m", "1h30m")
// or with a day suffix ("30d", "1d12h").
type Duration time.Duration

// MaxDuration is the longest duration driftd accepts: 36500 days (100
// years). Anything much longer would overflow time.Duration (about 292
// years of nanoseconds) and wrap round to a short or negative value.
const MaxDuration = 36500 * 24 * time.Hour

// maxDays is MaxDuration in days, as written in error messages.
const maxDays = int64(MaxDuration / (24 * time.Hour))

// ParseDuration accepts Go durations plus a leading whole number of days
// ("30d", "1d12h"). The result is never negative and never longer than
// MaxDuration; signs are not accepted anywhere.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	invalid := func() (time.Duration, error) {
		return 0, fmt.Errorf("invalid duration %q (use e.g. \"30d\", \"12h\")", s)
	}
	tooLong := func() (time.Duration, error) {
		return 0, fmt.Errorf("duration %q is too long (max %dd)", s, maxDays)
	}
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if s[0] == '-' {
		if _, err := ParseDuration(s[1:]); err == nil {
			return 0, fmt.Errorf("duration %q must not be negative", s)
		}
		return invalid()
	}
	if strings.ContainsAny(s, "+-") {
		return invalid()
	}
	var total time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		digits := s[:i]
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return invalid()
		}
		days, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || days > maxDays {
			// Only a value out of range fails: digits are checked above.
			return tooLong()
		}
		total = time.Duration(days) * 24 * time.Hour
		rest = s[i+1:]
		if rest == "" {
			return total, nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		if isGoDurationOverflow(rest) {
			return tooLong()
		}
		return invalid()
	}
	// total <= MaxDuration here, so MaxDuration-total cannot overflow.
	if d > MaxDuration-total {
		return tooLong()
	}
	return total + d, nil
}

// isGoDurationOverflow reports whether time.ParseDuration refused s only
// because the value does not fit: s is well-formed (numbers with units)
// and a smaller number of the same shape parses.
func isGoDurationOverflow(s string) bool {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			r = '1'
		}
		b.WriteRune(r)
	}
	shrunk := b.String()
	for strings.Contains(shrunk, "11") {
		shrunk = strings.ReplaceAll(shrunk, "11", "1")
	}
	_, err := time.ParseDuration(shrunk)
	return err == nil
}

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

package retention

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SettingsKey is the key the retention settings are stored under.
const SettingsKey = "retention"

// Bounds of every retention period.
const (
	MinPeriod = time.Hour
	MaxPeriod = 3650 * 24 * time.Hour
)

// Settings say how long each kind of data is kept. Expired refresh tokens have no setting: an
// expired token signs nobody in, so they are removed at the first clean-up after they expire.
type Settings struct {
	// Runs: a run in a final state (succeeded, failed, cancelled) is deleted this long after it
	// finished, with its log lines, checkpoint, dead letters and outputs record.
	Runs time.Duration
	// DeadLetters: a finished run's dead letters are deleted this long after they were written
	// (the run stays).
	DeadLetters time.Duration
	// ServerLogs: log lines that belong to no run are deleted this long after they were written.
	ServerLogs time.Duration
	// Uploads: an uploaded file no saved pipeline, connector or transformation refers to is deleted
	// this long after it was uploaded.
	Uploads time.Duration
	// StagedOutputs: the staged files of an abandoned run (see docs/runs.md) are deleted this long
	// after they were last written.
	StagedOutputs time.Duration
	// Metrics1m, Metrics1h and Metrics1d: the metrics history's 1-minute, 1-hour and 1-day
	// points are deleted this long after their bucket started (docs/metrics.md); the figures of
	// each finished run go with the 1-day points.
	Metrics1m time.Duration
	Metrics1h time.Duration
	Metrics1d time.Duration
}

// Defaults are the settings used until an administrator saves others.
func Defaults() Settings {
	const day = 24 * time.Hour
	return Settings{Runs: 90 * day, DeadLetters: 30 * day, ServerLogs: 30 * day, Uploads: 7 * day, StagedOutputs: day,
		Metrics1m: 30 * day, Metrics1h: 365 * day, Metrics1d: 1825 * day}
}

// field is one setting: its name in the API and the stored document, and where it lives.
type field struct {
	name string
	get  func(*Settings) *time.Duration
}

var fields = []field{
	{"runs", func(s *Settings) *time.Duration { return &s.Runs }},
	{"dead_letters", func(s *Settings) *time.Duration { return &s.DeadLetters }},
	{"server_logs", func(s *Settings) *time.Duration { return &s.ServerLogs }},
	{"uploads", func(s *Settings) *time.Duration { return &s.Uploads }},
	{"staged_outputs", func(s *Settings) *time.Duration { return &s.StagedOutputs }},
	{"metrics_1m", func(s *Settings) *time.Duration { return &s.Metrics1m }},
	{"metrics_1h", func(s *Settings) *time.Duration { return &s.Metrics1h }},
	{"metrics_1d", func(s *Settings) *time.Duration { return &s.Metrics1d }},
}

// FieldError is a problem with one setting, named as in the API ("runs", "dead_letters", ...).
type FieldError struct {
	Field   string
	Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// Errors are every problem of a settings document.
type Errors []FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Validate reports every period outside MinPeriod..MaxPeriod, each naming its field.
func (s Settings) Validate() error {
	var errs Errors
	for _, f := range fields {
		d := *f.get(&s)
		switch {
		case d < MinPeriod:
			errs = append(errs, FieldError{f.name, fmt.Sprintf("must be at least 1h (one hour), got %s", FormatPeriod(d))})
		case d > MaxPeriod:
			errs = append(errs, FieldError{f.name, fmt.Sprintf("must be at most 3650d (ten years), got %s", FormatPeriod(d))})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

var periodRE = regexp.MustCompile(`^([0-9]{1,7})\s*([dh])$`)

// ParsePeriod reads a period written as a whole number of days or hours: "90d", "36h".
func ParsePeriod(s string) (time.Duration, error) {
	m := periodRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, fmt.Errorf("%q is not a period: write a whole number of days or hours, such as 90d or 36h", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	unit := time.Hour
	if m[2] == "d" {
		unit = 24 * time.Hour
	}
	return time.Duration(n) * unit, nil
}

// FormatPeriod writes a period as ParsePeriod reads it: whole days as "90d", else hours ("36h");
// less than an hour is written in Go's form ("30m0s"), which ParsePeriod refuses.
func FormatPeriod(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}

// Periods are the settings as text, keyed by field name, as the API and the store hold them.
type Periods map[string]string

// Periods writes s as text.
func (s Settings) Periods() Periods {
	out := Periods{}
	for _, f := range fields {
		out[f.name] = FormatPeriod(*f.get(&s))
	}
	return out
}

// ParseSettings reads periods over base (a missing field keeps base's value) and validates the
// result; the error is Errors, each naming its field. Unknown fields are refused.
func ParseSettings(p Periods, base Settings) (Settings, error) {
	out := base
	var errs Errors
	known := map[string]bool{}
	for _, f := range fields {
		known[f.name] = true
		text, ok := p[f.name]
		if !ok {
			continue
		}
		d, err := ParsePeriod(text)
		if err != nil {
			errs = append(errs, FieldError{f.name, err.Error()})
			continue
		}
		*f.get(&out) = d
	}
	for name := range p {
		if !known[name] {
			errs = append(errs, FieldError{name, "unknown setting"})
		}
	}
	var ranged Errors
	if errors.As(out.Validate(), &ranged) {
		bad := map[string]bool{}
		for _, e := range errs {
			bad[e.Field] = true
		}
		for _, e := range ranged {
			if !bad[e.Field] {
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		return Settings{}, errs
	}
	return out, nil
}

// decodeStored reads a stored document over the defaults; a field that does not parse keeps its
// default (reported in the error, which the caller logs).
func decodeStored(raw json.RawMessage) (Settings, error) {
	var p Periods
	if err := json.Unmarshal(raw, &p); err != nil {
		return Defaults(), fmt.Errorf("stored retention settings are not a JSON object: %w", err)
	}
	out := Defaults()
	var bad []error
	for _, f := range fields {
		text, ok := p[f.name]
		if !ok {
			continue
		}
		d, err := ParsePeriod(text)
		if err == nil && d >= MinPeriod && d <= MaxPeriod {
			*f.get(&out) = d
		} else {
			bad = append(bad, fmt.Errorf("stored retention setting %s=%q ignored (default used)", f.name, text))
		}
	}
	return out, errors.Join(bad...)
}

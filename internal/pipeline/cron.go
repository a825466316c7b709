package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Cron is a parsed five-field cron expression (minute hour day-of-month month day-of-week), read by
// github.com/robfig/cron/v3's standard parser: lists (1,5), ranges (1-5), steps (*/15, 10-50/10), month
// and day names (jan, mon), and the macros @yearly, @monthly, @weekly, @daily (@midnight) and @hourly.
// Day-of-week is 0-6 (Sunday is 0). When both day fields are restricted, a day matches either (the
// crontab rule).
type Cron struct {
	sched cron.Schedule
	text  string
}

// String returns the expression as written.
func (c *Cron) String() string { return c.text }

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var cronFields = [5]string{"minute", "hour", "day-of-month", "month", "day-of-week"}

// ParseCron reads a cron expression; the error names the field that is wrong.
func ParseCron(s string) (*Cron, error) {
	text := strings.TrimSpace(s)
	if strings.HasPrefix(text, "@") {
		switch strings.ToLower(text) {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
		default:
			return nil, fmt.Errorf("unknown macro %q (want @yearly, @monthly, @weekly, @daily or @hourly)", text)
		}
		sched, err := cronParser.Parse(strings.ToLower(text))
		if err != nil {
			return nil, err
		}
		return &Cron{sched: sched, text: text}, nil
	}
	f := strings.Fields(text)
	if len(f) != 5 {
		return nil, fmt.Errorf("want 5 fields (minute hour day-of-month month day-of-week), got %d in %q", len(f), text)
	}
	if strings.Contains(text, "TZ=") {
		return nil, fmt.Errorf("%q: give the time zone in schedule.timezone, not in the expression", text)
	}
	sched, err := cronParser.Parse(strings.Join(f, " "))
	if err != nil {
		// Name the field: parse each one alone, the others as *.
		for i := range f {
			one := [5]string{"*", "*", "*", "*", "*"}
			one[i] = f[i]
			if _, ferr := cronParser.Parse(strings.Join(one[:], " ")); ferr != nil {
				return nil, fmt.Errorf("%s: %q: %v", cronFields[i], f[i], ferr)
			}
		}
		return nil, err
	}
	return &Cron{sched: sched, text: text}, nil
}

// Next returns the first time strictly after t that matches, in t's location; the zero time if none
// within five years (e.g. 30 February).
func (c *Cron) Next(t time.Time) time.Time { return c.sched.Next(t) }

package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Describe reads the expression in plain words, e.g. "Every 15 minutes" or "At 06:00 on Monday to
// Friday". It is what the API serves next to a schedule; the web app shows it as it is.
func (c *Cron) Describe() string {
	text := strings.ToLower(strings.TrimSpace(c.text))
	switch text {
	case "@hourly":
		return "Every hour, at minute 0"
	case "@daily", "@midnight":
		return "Every day at 00:00"
	case "@weekly":
		return "At 00:00 on Sunday"
	case "@monthly":
		return "At 00:00 on day 1 of the month"
	case "@yearly", "@annually":
		return "At 00:00 on 1 January"
	}
	f := strings.Fields(text)
	if len(f) != 5 {
		return c.text
	}
	minute, hour := parseField(f[0], 0, 59, nil), parseField(f[1], 0, 23, nil)
	dom, month := parseField(f[2], 1, 31, nil), parseField(f[3], 1, 12, monthNames)
	dow := parseField(f[4], 0, 6, dayNames)
	if minute == nil || hour == nil || dom == nil || month == nil || dow == nil {
		return c.text
	}
	return sentence(describeTime(minute, hour), describeDays(dom, month, dow))
}

func sentence(tm, days string) string {
	s := tm
	// "every day" says nothing after a time that repeats within the day.
	if days == "every day" && !(strings.HasPrefix(tm, "at ") && strings.Contains(tm, ":")) {
		days = ""
	}
	if days != "" {
		s += " " + days
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// field is one parsed cron field: a list of parts, each a value, range or step.
type field []part

type part struct {
	all      bool // * (with a step: */n)
	lo, hi   int
	step     int // 1 unless stepped
	isSingle bool
}

var monthNames = []string{"", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
var monthWords = []string{"", "January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}
var dayWords = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func parseField(s string, min, max int, names []string) field {
	var out field
	for _, tok := range strings.Split(s, ",") {
		p := part{step: 1}
		rng, step, hasStep := strings.Cut(tok, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 {
				return nil
			}
			p.step = n
		}
		switch {
		case rng == "*" || rng == "?":
			p.all, p.lo, p.hi = true, min, max
		default:
			a, b, isRange := strings.Cut(rng, "-")
			lo, ok := fieldValue(a, names)
			if !ok {
				return nil
			}
			hi := lo
			if isRange {
				if hi, ok = fieldValue(b, names); !ok {
					return nil
				}
			} else if hasStep {
				hi = max
			} else {
				p.isSingle = true
			}
			p.lo, p.hi = lo, hi
		}
		out = append(out, p)
	}
	return out
}

func fieldValue(s string, names []string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	for i, name := range names {
		if name != "" && strings.EqualFold(s, name) {
			return i, true
		}
	}
	return 0, false
}

// star: the field is a plain *.
func (f field) star() bool { return len(f) == 1 && f[0].all && f[0].step == 1 }

// singles: every part is one value; returns them.
func (f field) singles() ([]int, bool) {
	var out []int
	for _, p := range f {
		if !p.isSingle {
			return nil, false
		}
		out = append(out, p.lo)
	}
	return out, true
}

func (f field) words(word func(int) string) string {
	var parts []string
	for _, p := range f {
		switch {
		case p.isSingle:
			parts = append(parts, word(p.lo))
		case p.all && p.step > 1:
			parts = append(parts, fmt.Sprintf("every %s", ordinal(p.step)))
		case p.step > 1:
			parts = append(parts, fmt.Sprintf("every %s from %s to %s", ordinal(p.step), word(p.lo), word(p.hi)))
		default:
			parts = append(parts, fmt.Sprintf("%s to %s", word(p.lo), word(p.hi)))
		}
	}
	return joinAnd(parts)
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

func clock(h, m int) string { return fmt.Sprintf("%02d:%02d", h, m) }

func plural(n int, one string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

func describeTime(minute, hour field) string {
	mins, minSingle := minute.singles()
	hours, hourSingle := hour.singles()
	everyMinute := minute.star()
	minuteStep := len(minute) == 1 && minute[0].all && minute[0].step > 1
	switch {
	case minSingle && hourSingle && len(mins)*len(hours) <= 4:
		var times []string
		for _, h := range hours {
			for _, m := range mins {
				times = append(times, clock(h, m))
			}
		}
		return "at " + joinAnd(times)
	case everyMinute && hour.star():
		return "every minute"
	case minuteStep && hour.star():
		return "every " + plural(minute[0].step, "minute")
	case minSingle && len(mins) == 1 && hour.star():
		if mins[0] == 0 {
			return "every hour"
		}
		return fmt.Sprintf("every hour at minute %d", mins[0])
	case minSingle && len(mins) == 1 && len(hour) == 1 && hour[0].all && hour[0].step > 1:
		s := "every " + plural(hour[0].step, "hour")
		if mins[0] != 0 {
			s += fmt.Sprintf(" at minute %d", mins[0])
		}
		return s
	}
	var m string
	switch {
	case everyMinute:
		m = "every minute"
	case minuteStep:
		m = "every " + plural(minute[0].step, "minute")
	case minSingle:
		m = "at minute " + minute.words(strconv.Itoa)
		if len(mins) > 1 {
			m = "at minutes " + minute.words(strconv.Itoa)
		}
	default:
		m = "at minutes " + minute.words(strconv.Itoa)
	}
	if hour.star() {
		if strings.HasPrefix(m, "at ") {
			return m + " of every hour"
		}
		return m
	}
	if len(hour) == 1 && !hour[0].all && !hour[0].isSingle && hour[0].step == 1 {
		return fmt.Sprintf("%s, between %s and %s", m, clock(hour[0].lo, 0), clock(hour[0].hi, 59))
	}
	return m + " past hour " + hour.words(strconv.Itoa)
}

func describeDays(dom, month, dow field) string {
	var s string
	switch {
	case dom.star() && dow.star():
		if month.star() {
			return "every day"
		}
	case dow.star():
		s = "on day " + dom.words(strconv.Itoa) + " of the month"
		if vals, ok := dom.singles(); ok && len(vals) > 1 {
			s = "on days " + dom.words(strconv.Itoa) + " of the month"
		}
	case dom.star():
		s = "on " + dow.words(func(i int) string { return dayWords[i%7] })
	default:
		s = "on day " + dom.words(strconv.Itoa) + " of the month or on " + dow.words(func(i int) string { return dayWords[i%7] })
	}
	if !month.star() {
		in := "in " + month.words(func(i int) string {
			if i >= 1 && i <= 12 {
				return monthWords[i]
			}
			return strconv.Itoa(i)
		})
		if s == "" {
			return "every day " + in
		}
		s += ", " + in
	}
	return s
}

// NextRuns returns the first n times strictly after from at which c fires in loc (UTC when nil),
// fewer when it fires no more within five years.
func (c *Cron) NextRuns(from time.Time, loc *time.Location, n int) []time.Time {
	if loc == nil {
		loc = time.UTC
	}
	out := make([]time.Time, 0, n)
	t := from.In(loc)
	for len(out) < n {
		t = c.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// LoadTimezone is the location of a schedule's time zone: UTC when empty; the error names the zone.
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as UTC or Europe/Paris)", name)
	}
	return loc, nil
}

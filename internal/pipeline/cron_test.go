package pipeline

import (
	"strings"
	"testing"
	"time"
)

func TestCronNext(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 30, 10, 7, 30, 0, time.UTC) // a Friday
	tests := []struct{ expr, want string }{
		{"0 * * * *", "2026-01-30T11:00:00Z"},
		{"*/15 * * * *", "2026-01-30T10:15:00Z"},
		{"@daily", "2026-01-31T00:00:00Z"},
		{"30 9 * * mon-fri", "2026-02-02T09:30:00Z"},
		{"0 0 29 feb *", "2028-02-29T00:00:00Z"},
		{"0 12 1 * 0", "2026-02-01T12:00:00Z"}, // Feb 1 2026 is a Sunday and the 1st
		{"0 0 * * sun", "2026-02-01T00:00:00Z"},
		{"10-20/5 10 * * *", "2026-01-30T10:10:00Z"},
	}
	for _, tc := range tests {
		c, err := ParseCron(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := c.Next(base).Format(time.RFC3339); got != tc.want {
			t.Errorf("%s: Next = %s, want %s", tc.expr, got, tc.want)
		}
	}
	if got := mustCron(t, "0 0 30 2 *").Next(base); !got.IsZero() {
		t.Errorf("30 February: Next = %v, want zero", got)
	}
}

func mustCron(t *testing.T, s string) *Cron {
	c, err := ParseCron(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCronErrors(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		"* * * *":             "want 5 fields",
		"60 * * * *":          `minute: "60": end of range (60) above maximum (59)`,
		"* 24 * * *":          `hour: "24"`,
		"* * 0 * *":           `day-of-month: "0"`,
		"* * * foo *":         `month: "foo"`,
		"*/0 * * * *":         `minute: "*/0"`,
		"5-1 * * * *":         "beginning of range (5) beyond end of range (1)",
		"* * * * 8":           `day-of-week: "8"`,
		"@fortnightly":        "unknown macro",
		"TZ=UTC 0 * * * *":    "want 5 fields",
		"CRON_TZ=UTC * * * *": "schedule.timezone",
	} {
		_, err := ParseCron(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error = %v, want %q", expr, err, want)
		}
	}
}

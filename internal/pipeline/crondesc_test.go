package pipeline_test

import (
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/pipeline"
)

func TestCronDescribe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ expr, want string }{
		{"* * * * *", "Every minute"},
		{"*/15 * * * *", "Every 15 minutes"},
		{"0 * * * *", "Every hour"},
		{"5 * * * *", "Every hour at minute 5"},
		{"0 */2 * * *", "Every 2 hours"},
		{"0 6 * * *", "At 06:00 every day"},
		{"0 6 * * 1-5", "At 06:00 on Monday to Friday"},
		{"0 6 * * mon-fri", "At 06:00 on Monday to Friday"},
		{"30 8,18 * * *", "At 08:30 and 18:30 every day"},
		{"0 9 1 * *", "At 09:00 on day 1 of the month"},
		{"0 9 1,15 * *", "At 09:00 on days 1 and 15 of the month"},
		{"0 0 * 1 *", "At 00:00 every day in January"},
		{"0 0 1 1,7 *", "At 00:00 on day 1 of the month, in January and July"},
		{"*/10 9-17 * * 1-5", "Every 10 minutes, between 09:00 and 17:59 on Monday to Friday"},
		{"0,30 * * * 0", "At minutes 0 and 30 of every hour on Sunday"},
		{"0 0 13 * 5", "At 00:00 on day 13 of the month or on Friday"},
		{"15,45 * * * *", "At minutes 15 and 45 of every hour"},
		{"0 0-6/2 * * *", "At minute 0 past hour every 2nd from 0 to 6"},
		{"@hourly", "Every hour, at minute 0"},
		{"@daily", "Every day at 00:00"},
		{"@weekly", "At 00:00 on Sunday"},
		{"@monthly", "At 00:00 on day 1 of the month"},
		{"@yearly", "At 00:00 on 1 January"},
	} {
		c, err := pipeline.ParseCron(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := c.Describe(); got != tc.want {
			t.Errorf("Describe(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestCronNextRuns(t *testing.T) {
	t.Parallel()
	c, err := pipeline.ParseCron("0 6 * * 1-5")
	if err != nil {
		t.Fatal(err)
	}
	loc, err := pipeline.LoadTimezone("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) // a Friday
	got := c.NextRuns(from, loc, 3)
	want := []string{"2026-12-07T06:00:00+01:00", "2026-12-08T06:00:00+01:00", "2026-12-09T06:00:00+01:00"}
	if len(got) != 3 {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].Format(time.RFC3339) != want[i] {
			t.Errorf("next[%d] = %s, want %s", i, got[i].Format(time.RFC3339), want[i])
		}
	}
	if _, err := pipeline.LoadTimezone("Mars/Olympus"); err == nil {
		t.Error("Mars/Olympus loaded")
	}
}

package alerts

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseCondition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string // problem paths; none: valid
	}{
		{`{"type":"run_failed"}`, nil},
		{`{"type":"run_failed","pipeline_id":"p1"}`, nil},
		{`{"type":"run_duration_over","seconds":60}`, nil},
		{`{"type":"reject_ratio_over","ratio":0.05}`, nil},
		{`{"type":"freshness_over","minutes":90}`, nil},
		{`{"type":"worker_down"}`, nil},
		{`{"type":"queue_depth_over","depth":100,"queue":"runs"}`, nil},
		{`{"type":"stream_lag_over","seconds":30}`, nil},
		{`{"type":"run_awaiting_approval"}`, nil},
		{`{"type":"run_awaiting_approval","pipeline_id":"p1"}`, nil},
		{`{"type":"run_awaiting_approval","seconds":60}`, []string{"condition.seconds"}},
		{``, []string{"condition"}},
		{`[1]`, []string{"condition"}},
		{`{"type":"run_failed","colour":"red"}`, []string{"condition"}},
		{`{}`, []string{"condition.type"}},
		{`{"type":"cpu_high"}`, []string{"condition.type"}},
		{`{"type":"run_duration_over"}`, []string{"condition.seconds"}},
		{`{"type":"run_duration_over","seconds":-1,"ratio":0.5}`, []string{"condition.seconds", "condition.ratio"}},
		{`{"type":"reject_ratio_over","ratio":1.5}`, []string{"condition.ratio"}},
		{`{"type":"freshness_over","seconds":5}`, []string{"condition.minutes", "condition.seconds"}},
		{`{"type":"worker_down","pipeline_id":"p1"}`, []string{"condition.pipeline_id"}},
		{`{"type":"queue_depth_over","pipeline_id":"p1"}`, []string{"condition.depth", "condition.pipeline_id"}},
	}
	for _, tc := range tests {
		_, err := ParseCondition(json.RawMessage(tc.in))
		var ie *InvalidError
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.in, err)
			}
			continue
		}
		if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want problems at %v", tc.in, err, tc.want)
			continue
		}
		var got []string
		for _, p := range ie.Problems {
			got = append(got, p.Path)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: problems at %v, want %v (%v)", tc.in, got, tc.want, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {4, 80 * time.Second}, {10, 10 * time.Minute}} {
		if got := Backoff(tc.n, 0, 0); got != tc.want {
			t.Errorf("Backoff(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

func TestSettingsSecretsSplitAndRedact(t *testing.T) {
	t.Parallel()
	set, err := parseSettings(ChannelEmail, json.RawMessage(`{"host":"smtp.example.com","username":"u","password":"pw","from":"a@example.com","to":["b@example.com"]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.Port != 587 || set.TLS != "starttls" {
		t.Errorf("defaults: %+v", set)
	}
	pub, sec := set.split(ChannelEmail)
	if pub.Password != "" || sec.Password != "pw" || pub.merge(ChannelEmail, sec).Password != "pw" {
		t.Errorf("split: %+v %+v", pub, sec)
	}
	again, err := parseSettings(ChannelEmail, json.RawMessage(`{"host":"smtp.example.com","username":"u","password":"********","from":"a@example.com","to":["b@example.com"]}`), &set)
	if err != nil || again.Password != "pw" {
		t.Errorf("a redacted password is not kept: %+v %v", again, err)
	}
	slack, err := parseSettings(ChannelSlack, json.RawMessage(`{"url":"https://hooks.slack.com/services/x"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pub, sec := slack.split(ChannelSlack); pub.URL != "" || sec.URL == "" {
		t.Errorf("the Slack URL is not secret: %+v %+v", pub, sec)
	}
}

package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// alertRouteTable is the routeTable part of the alert routes.
func alertRouteTable() map[string]routeCase {
	channelPath := func(suffix string, body any) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/alerts/channels/" + e.fixtureAlertChannel().ID + suffix, body: body}
		}
	}
	rulePath := func(body any) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/alerts/rules/" + e.fixtureAlertRule().ID, body: body}
		}
	}
	alertPath := func(suffix string, body any) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/alerts/" + e.fixtureAlert().ID + suffix, body: body}
		}
	}
	ruleBody := func() map[string]any {
		return map[string]any{"name": uniq("rule"), "condition": map[string]any{"type": "run_failed"}, "throttle_minutes": 10}
	}
	channelBody := func() map[string]any {
		return map[string]any{"name": uniq("hook"), "type": "webhook", "config": map[string]any{"url": "http://127.0.0.1:9/hook", "secret": "s3cret"}}
	}
	return map[string]routeCase{
		"GET /api/v1/alerts":               {perm: auth.PermAlertsRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/alerts?state=firing"} }},
		"GET /api/v1/alerts/{id}":          {perm: auth.PermAlertsRead, prepare: alertPath("", nil)},
		"POST /api/v1/alerts/{id}/ack":     {perm: auth.PermAlertsAck, prepare: alertPath("/ack", nil)},
		"POST /api/v1/alerts/{id}/silence": {perm: auth.PermAlertsAck, prepare: alertPath("/silence", map[string]any{"minutes": 60})},
		"GET /api/v1/alerts/rules":         {perm: auth.PermAlertsRead, prepare: func(*env, store.User) call { return call{} }},
		"POST /api/v1/alerts/rules": {perm: auth.PermAlertsWrite, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/alerts/rules", body: ruleBody()}
		}},
		"GET /api/v1/alerts/rules/{id}":    {perm: auth.PermAlertsRead, prepare: rulePath(nil)},
		"PUT /api/v1/alerts/rules/{id}":    {perm: auth.PermAlertsWrite, prepare: func(e *env, u store.User) call { return rulePath(ruleBody())(e, u) }},
		"DELETE /api/v1/alerts/rules/{id}": {perm: auth.PermAlertsWrite, prepare: rulePath(nil)},
		"GET /api/v1/alerts/channels":      {perm: auth.PermAlertsRead, prepare: func(*env, store.User) call { return call{} }},
		"POST /api/v1/alerts/channels": {perm: auth.PermAlertsWrite, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/alerts/channels", body: channelBody()}
		}},
		"GET /api/v1/alerts/channels/{id}": {perm: auth.PermAlertsRead, prepare: channelPath("", nil)},
		"PUT /api/v1/alerts/channels/{id}": {perm: auth.PermAlertsWrite, prepare: func(e *env, u store.User) call {
			return channelPath("", channelBody())(e, u)
		}},
		"DELETE /api/v1/alerts/channels/{id}":    {perm: auth.PermAlertsWrite, prepare: channelPath("", nil)},
		"POST /api/v1/alerts/channels/{id}/test": {perm: auth.PermAlertsWrite, prepare: channelPath("/test", nil)},
	}
}

func (e *env) fixtureAlertChannel() alerts.Channel {
	e.t.Helper()
	c, err := e.data.alerts.CreateChannel(context.Background(), alerts.ChannelInput{Name: uniq("channel"), Type: "webhook",
		Config: json.RawMessage(`{"url":"http://127.0.0.1:9/hook","secret":"s3cret"}`)}, "fixture")
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) fixtureAlertRule() alerts.Rule {
	e.t.Helper()
	r, err := e.data.alerts.CreateRule(context.Background(), alerts.RuleInput{Name: uniq("rule"), Condition: json.RawMessage(`{"type":"run_failed"}`), Enabled: true}, "fixture")
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) fixtureAlert() store.Alert {
	e.t.Helper()
	r := e.fixtureAlertRule()
	a, _, err := e.store.FireAlert(context.Background(), store.Alert{RuleID: r.ID, RuleName: r.Name, Subject: "p", Title: "Pipeline p failed"})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// TestAlertChannelSecretsAndProblems: channel secrets come back as ********, are kept when sent
// back so, and never appear in a response; bad input is a 422 that names each field; a rule
// naming a pipeline that does not exist is refused.
func TestAlertChannelSecretsAndProblems(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	admin := e.tokens[auth.RoleAdmin]
	res := e.do(http.MethodPost, "/api/v1/alerts/channels", admin, map[string]any{"name": "Slack ops", "type": "slack",
		"config": map[string]any{"url": "https://hooks.slack.com/services/T0/B0/very-secret-path"}})
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), "very-secret-path") || !strings.Contains(string(res.body), alerts.Redacted) {
		t.Fatalf("the Slack URL comes back: %s", res.body)
	}
	var ch AlertChannel
	if err := json.Unmarshal(res.body, &ch); err != nil {
		t.Fatal(err)
	}
	res = e.do(http.MethodPut, "/api/v1/alerts/channels/"+ch.ID, admin, map[string]any{"name": "Slack #ops", "type": "slack",
		"config": map[string]any{"url": alerts.Redacted}})
	if res.status != http.StatusOK || strings.Contains(string(res.body), "very-secret-path") {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	stored, err := e.store.GetAlertChannel(context.Background(), ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored.Secrets, "very-secret-path") || strings.Contains(string(stored.Config), "very-secret-path") || stored.Secrets == "" {
		t.Fatalf("the Slack URL is stored in clear: %+v", stored)
	}
	list := e.do(http.MethodGet, "/api/v1/alerts/channels", e.tokens[auth.RoleViewer], nil)
	if list.status != http.StatusOK || strings.Contains(string(list.body), "very-secret-path") {
		t.Fatalf("list: %d %s", list.status, list.body)
	}

	tests := []struct {
		name, path string
		body       map[string]any
		fields     []string
	}{
		{"email without host and recipients", "/api/v1/alerts/channels", map[string]any{"name": "mail", "type": "email",
			"config": map[string]any{"from": "not an address", "password": "x"}}, []string{"body.config.host", "body.config.from", "body.config.to", "body.config.username"}},
		{"webhook with an unknown setting", "/api/v1/alerts/channels", map[string]any{"name": "hook", "type": "webhook",
			"config": map[string]any{"url": "ftp://x", "secret": "s", "colour": "red"}}, []string{"body.config.colour", "body.config.url"}},
		{"rule with a bad condition", "/api/v1/alerts/rules", map[string]any{"name": "slow",
			"condition": map[string]any{"type": "run_duration_over", "ratio": 0.5}, "channels": []string{"nope"}},
			[]string{"body.condition.seconds", "body.condition.ratio", "body.channels[0]"}},
		{"rule naming a pipeline that does not exist", "/api/v1/alerts/rules", map[string]any{"name": "ghost",
			"condition": map[string]any{"type": "run_failed", "pipeline_id": "ghost"}}, []string{"body.condition.pipeline_id"}},
		{"rule with an unknown condition type", "/api/v1/alerts/rules", map[string]any{"name": "x",
			"condition": map[string]any{"type": "cpu_high"}}, []string{"body.condition.type"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodPost, tc.path, admin, tc.body)
			if res.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", res.status, res.body)
			}
			p := res.problem(t)
			got := map[string]bool{}
			for _, f := range p.Errors {
				got[f.Location] = true
			}
			for _, f := range tc.fields {
				if !got[f] {
					t.Errorf("no error at %s in %s", f, res.body)
				}
			}
		})
	}
}

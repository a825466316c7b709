package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Factory opens a store whose clock is now.
type Factory func(t *testing.T, now func() time.Time) *store.Store

// backend is how the contract opens one dialect's stores: empty ones (not migrated) and migrated
// ones (for SQLite a copy of a migrated template: the migrations cost about a second of CPU per
// store under the race detector).
type backend struct {
	empty, migrated Factory
}

// RunContract is the behaviour every dialect must show. Each subtest gets
// its own fresh database from b.
func RunContract(t *testing.T, b backend) {
	setup := func(t *testing.T) (*store.Store, *clock) {
		t.Helper()
		c := newClock()
		return b.migrated(t, c.Now), c
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store, c *clock)
	}{
		{"Users", testUsers},
		{"UserList", testUserList},
		{"RefreshTokens", testRefreshTokens},
		{"APITokens", testAPITokens},
		{"Connectors", testConnectors},
		{"Pipelines", testPipelines},
		{"PipelineSummaries", testPipelineSummaries},
		{"SessionUser", testSessionUser},
		{"Runs", testRuns},
		{"RunClaimRace", testRunClaimRace},
		{"Transactions", testTransactions},
		{"ConcurrentWrites", testConcurrentWrites},
		{"DeadLetters", testDeadLetters},
		{"Logs", testLogs},
		{"Audit", testAudit},
		{"Transformations", testTransformations},
		{"UploadedFiles", testUploadedFiles},
		{"Alerts", testAlerts},
		{"Preferences", testPreferences},
		{"Dashboards", testDashboards},
		{"Managed", testManaged},
		{"Metrics", testMetrics},
		{"MetricRuns", testMetricRuns},
		{"SavedQueries", testSavedQueries},
		{"ServerLogs", testServerLogs},
	}
	t.Run("Migrations", func(t *testing.T) {
		t.Parallel()
		testMigrations(t, b.empty(t, newClock().Now))
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := setup(t)
			tt.fn(t, s, c)
		})
	}
}

// must(f())(t) returns f's value, failing the test on f's error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func wantConflict(t *testing.T, err error, field string) {
	t.Helper()
	var ce *store.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("error = %v, want *ConflictError on %q", err, field)
	}
	if ce.Field != field {
		t.Fatalf("conflict field = %q (%v), want %q", ce.Field, err, field)
	}
}

var ctx = context.Background()

func testMigrations(t *testing.T, s *store.Store) {
	st := must(s.Status(ctx))(t)
	if st.UpToDate() || st.Current != 0 || len(st.Pending) == 0 {
		t.Fatalf("fresh status = %+v, want pending migrations", st)
	}
	wantErr(t, s.CheckSchema(ctx), store.ErrPendingMigrations)
	applied := must(s.Migrate(ctx))(t)
	if len(applied) != len(st.Pending) {
		t.Fatalf("applied %v, want %v", applied, st.Pending)
	}
	st = must(s.Status(ctx))(t)
	if !st.UpToDate() || st.Current != st.Latest {
		t.Fatalf("status after migrate = %+v", st)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after migrate: %v", err)
	}
	if again := must(s.Migrate(ctx))(t); len(again) != 0 {
		t.Fatalf("second Migrate applied %v, want nothing", again)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func newUser(t *testing.T, s *store.Store, name, role string) store.User {
	t.Helper()
	return must(s.CreateUser(ctx, store.User{
		Username: name, Email: name + "@example.com", FullName: "Full " + name,
		PasswordHash: "$2a$hash", Role: role, Active: true,
	}))(t)
}

func testUsers(t *testing.T, s *store.Store, c *clock) {
	u := newUser(t, s, "Alice", "admin")
	if u.ID == "" || !u.CreatedAt.Equal(c.Now().Truncate(time.Microsecond)) {
		t.Fatalf("created user = %+v", u)
	}
	got := must(s.GetUser(ctx, u.ID))(t)
	if diff := cmp.Diff(u, got); diff != "" {
		t.Fatalf("GetUser mismatch (-created +got):\n%s", diff)
	}
	for _, login := range []string{"alice", "ALICE", "alice@EXAMPLE.com", " Alice "} {
		if got := must(s.GetUserByLogin(ctx, login))(t); got.ID != u.ID {
			t.Errorf("GetUserByLogin(%q) = %s, want %s", login, got.ID, u.ID)
		}
	}
	_, err := s.GetUserByLogin(ctx, "nobody")
	wantErr(t, err, store.ErrNotFound)

	_, err = s.CreateUser(ctx, store.User{Username: "aLiCe", Email: "other@example.com", PasswordHash: "h", Role: "viewer"})
	wantConflict(t, err, "username")
	_, err = s.CreateUser(ctx, store.User{Username: "bob", Email: "ALICE@example.com", PasswordHash: "h", Role: "viewer"})
	wantConflict(t, err, "email")
	for _, bad := range []store.User{
		{Email: "x@y", PasswordHash: "h", Role: "viewer"},
		{Username: "x", PasswordHash: "h", Role: "viewer"},
		{Username: "x", Email: "x@y", Role: "viewer"},
		{Username: "x", Email: "x@y", PasswordHash: "h"},
	} {
		_, err := s.CreateUser(ctx, bad)
		wantErr(t, err, store.ErrInvalid)
	}

	c.Advance(time.Minute)
	role, active, email := "viewer", false, "alice2@example.com"
	upd := must(s.UpdateUser(ctx, u.ID, store.UserUpdate{Role: &role, Active: &active, Email: &email}))(t)
	if upd.Role != "viewer" || upd.Active || upd.Email != email || !upd.UpdatedAt.After(u.UpdatedAt) || upd.Username != "Alice" {
		t.Fatalf("updated user = %+v", upd)
	}
	_, err = s.UpdateUser(ctx, "missing", store.UserUpdate{Role: &role})
	wantErr(t, err, store.ErrNotFound)

	if err := s.SetPasswordHash(ctx, u.ID, "$2a$new", true); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetUser(ctx, u.ID))(t); got.PasswordHash != "$2a$new" || !got.MustChangePassword || !got.PasswordChangedAt.After(u.PasswordChangedAt) {
		t.Fatalf("after SetPasswordHash(temporary): %+v", got)
	}
	if err := s.SetPasswordHash(ctx, u.ID, "$2a$newer", false); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetUser(ctx, u.ID))(t); got.PasswordHash != "$2a$newer" || got.MustChangePassword {
		t.Fatalf("after SetPasswordHash(permanent): %+v", got)
	}
	at := c.Now()
	if err := s.RecordLogin(ctx, u.ID, at); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetUser(ctx, u.ID))(t); got.LastLoginAt == nil || !got.LastLoginAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("LastLoginAt = %v, want %v", got.LastLoginAt, at)
	}
	if n := must(s.CountUsers(ctx, "viewer", false))(t); n != 1 {
		t.Fatalf("CountUsers(viewer) = %d, want 1", n)
	}
	if n := must(s.CountUsers(ctx, "viewer", true))(t); n != 0 {
		t.Fatalf("CountUsers(viewer, active) = %d, want 0", n)
	}

	// Deleting a user removes their tokens too.
	_ = must(s.CreateAPIToken(ctx, store.APIToken{UserID: u.ID, Name: "ci", Prefix: "agg_x", TokenHash: "h1"}))(t)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetUser(ctx, u.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetAPITokenByHash(ctx, "h1")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteUser(ctx, u.ID), store.ErrNotFound)
}

func testUserList(t *testing.T, s *store.Store, _ *clock) {
	for i := range 12 {
		role := []string{"viewer", "designer", "executor"}[i%3]
		u := newUser(t, s, fmt.Sprintf("user%02d", i), role)
		if i%4 == 0 {
			inactive := false
			must(s.UpdateUser(ctx, u.ID, store.UserUpdate{Active: &inactive}))(t)
		}
	}
	newUser(t, s, "percent%_x", "viewer")
	yes, no := true, false
	tests := []struct {
		name      string
		f         store.UserFilter
		wantTotal int
		wantNames []string
	}{
		{"all first page", store.UserFilter{Page: store.Page{Limit: 3}}, 13, []string{"percent%_x", "user00", "user01"}},
		{"offset", store.UserFilter{Page: store.Page{Limit: 2, Offset: 11}}, 13, []string{"user10", "user11"}},
		{"search email", store.UserFilter{Search: "USER1", Page: store.Page{Limit: 10}}, 2, []string{"user10", "user11"}},
		{"search escapes wildcards", store.UserFilter{Search: "%_"}, 1, []string{"percent%_x"}},
		{"role", store.UserFilter{Role: "designer"}, 4, []string{"user01", "user04", "user07", "user10"}},
		{"inactive", store.UserFilter{Active: &no}, 3, []string{"user00", "user04", "user08"}},
		{"active designer", store.UserFilter{Role: "designer", Active: &yes}, 3, []string{"user01", "user07", "user10"}},
		{"no match", store.UserFilter{Search: "zzz"}, 0, []string{}},
	}
	for _, tt := range tests {
		users, total, err := s.ListUsers(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		names := []string{}
		for _, u := range users {
			names = append(names, u.Username)
		}
		if total != tt.wantTotal || !reflect.DeepEqual(names, tt.wantNames) {
			t.Errorf("%s: got %v (total %d), want %v (total %d)", tt.name, names, total, tt.wantNames, tt.wantTotal)
		}
	}
}

func testRefreshTokens(t *testing.T, s *store.Store, c *clock) {
	u := newUser(t, s, "rt", "viewer")
	exp := c.Now().Add(time.Hour)
	first := must(s.CreateRefreshToken(ctx, store.RefreshToken{UserID: u.ID, FamilyID: "fam1", TokenHash: "hash1", ExpiresAt: exp, IP: "10.0.0.1"}))(t)
	got := must(s.GetRefreshTokenByHash(ctx, "hash1"))(t)
	if got.ID != first.ID || got.FamilyID != "fam1" || got.RotatedAt != nil || !got.ExpiresAt.Equal(exp.Truncate(time.Microsecond)) || got.IP != "10.0.0.1" {
		t.Fatalf("stored refresh token = %+v", got)
	}
	_, err := s.CreateRefreshToken(ctx, store.RefreshToken{UserID: u.ID, FamilyID: "fam1", TokenHash: "hash1", ExpiresAt: exp})
	wantConflict(t, err, "token_hash")
	_, err = s.CreateRefreshToken(ctx, store.RefreshToken{UserID: "ghost", FamilyID: "f", TokenHash: "h", ExpiresAt: exp})
	wantErr(t, err, store.ErrNotFound)

	second := must(s.RotateRefreshToken(ctx, first.ID, store.RefreshToken{UserID: u.ID, TokenHash: "hash2", ExpiresAt: exp}))(t)
	if second.FamilyID != "fam1" {
		t.Fatalf("rotated token family = %q, want fam1", second.FamilyID)
	}
	old := must(s.GetRefreshTokenByHash(ctx, "hash1"))(t)
	if old.RotatedAt == nil || old.ReplacedBy != second.ID {
		t.Fatalf("old token after rotation = %+v", old)
	}
	_, err = s.RotateRefreshToken(ctx, first.ID, store.RefreshToken{UserID: u.ID, TokenHash: "hash3", ExpiresAt: exp})
	wantErr(t, err, store.ErrConflict)
	if _, err := s.GetRefreshTokenByHash(ctx, "hash3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed rotation left its new token behind: %v", err)
	}
	_, err = s.RotateRefreshToken(ctx, "missing", store.RefreshToken{UserID: u.ID, TokenHash: "hash4", ExpiresAt: exp})
	wantErr(t, err, store.ErrNotFound)

	other := must(s.CreateRefreshToken(ctx, store.RefreshToken{UserID: u.ID, FamilyID: "fam2", TokenHash: "hash9", ExpiresAt: exp}))(t)
	if n := must(s.RevokeRefreshFamily(ctx, "fam1"))(t); n != 2 {
		t.Fatalf("RevokeRefreshFamily revoked %d, want 2", n)
	}
	if got := must(s.GetRefreshTokenByHash(ctx, "hash2"))(t); got.RevokedAt == nil {
		t.Fatal("family member not revoked")
	}
	if got := must(s.GetRefreshTokenByHash(ctx, "hash9"))(t); got.RevokedAt != nil {
		t.Fatal("other family revoked")
	}
	if n := must(s.RevokeUserRefreshTokens(ctx, u.ID))(t); n != 1 {
		t.Fatalf("RevokeUserRefreshTokens = %d, want 1 (%s)", n, other.ID)
	}
	c.Advance(2 * time.Hour)
	if n := must(s.DeleteExpiredRefreshTokens(ctx, c.Now()))(t); n != 3 {
		t.Fatalf("DeleteExpiredRefreshTokens = %d, want 3", n)
	}
}

func testAPITokens(t *testing.T, s *store.Store, c *clock) {
	u := newUser(t, s, "tok", "executor")
	v := newUser(t, s, "tok2", "viewer")
	tok := must(s.CreateAPIToken(ctx, store.APIToken{UserID: u.ID, Name: "CI", Prefix: "agg_abcd1234", TokenHash: "th1"}))(t)
	_, err := s.CreateAPIToken(ctx, store.APIToken{UserID: u.ID, Name: "ci", Prefix: "agg_x", TokenHash: "th2"})
	wantConflict(t, err, "name")
	// Another user may reuse the name.
	_ = must(s.CreateAPIToken(ctx, store.APIToken{UserID: v.ID, Name: "ci", Prefix: "agg_y", TokenHash: "th3"}))(t)

	got := must(s.GetAPITokenByHash(ctx, "th1"))(t)
	if got.ID != tok.ID || got.Prefix != "agg_abcd1234" || got.LastUsedAt != nil || got.RevokedAt != nil {
		t.Fatalf("token = %+v", got)
	}
	at := c.Now().Add(time.Minute)
	if err := s.TouchAPIToken(ctx, tok.ID, at); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetAPITokenByHash(ctx, "th1"))(t); got.LastUsedAt == nil || !got.LastUsedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, at)
	}
	wantErr(t, s.RevokeAPIToken(ctx, v.ID, tok.ID), store.ErrNotFound) // not v's token
	if err := s.RevokeAPIToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	// The name is free again once revoked.
	_ = must(s.CreateAPIToken(ctx, store.APIToken{UserID: u.ID, Name: "ci", Prefix: "agg_z", TokenHash: "th4"}))(t)
	list := must(s.ListAPITokens(ctx, u.ID))(t)
	if len(list) != 2 || list[1].ID != tok.ID || list[1].RevokedAt == nil {
		t.Fatalf("ListAPITokens = %+v", list)
	}
}

func testConnectors(t *testing.T, s *store.Store, c *clock) {
	cfg := json.RawMessage(`{"host":"db","password":"secret"}`)
	conn := must(s.CreateConnector(ctx, store.Connector{Name: "Warehouse", Type: "postgres", Config: cfg, CreatedBy: "u1"}))(t)
	got := must(s.GetConnector(ctx, conn.ID))(t)
	var m map[string]string
	if err := json.Unmarshal(got.Config, &m); err != nil || m["host"] != "db" {
		t.Fatalf("config round trip = %s (%v)", got.Config, err)
	}
	if got := must(s.GetConnectorByName(ctx, "WAREHOUSE"))(t); got.ID != conn.ID {
		t.Fatal("GetConnectorByName is not case-insensitive")
	}
	_, err := s.CreateConnector(ctx, store.Connector{Name: "warehouse", Type: "mysql"})
	wantConflict(t, err, "name")
	_, err = s.CreateConnector(ctx, store.Connector{Name: "bad", Type: "csv", Config: json.RawMessage(`{"a":`)})
	wantErr(t, err, store.ErrInvalid)

	c.Advance(time.Second)
	conn.Description, conn.UpdatedBy = "main", "u2"
	upd := must(s.UpdateConnector(ctx, conn))(t)
	if upd.Description != "main" || upd.UpdatedBy != "u2" || upd.CreatedBy != "u1" || !upd.UpdatedAt.After(upd.CreatedAt) {
		t.Fatalf("updated connector = %+v", upd)
	}
	for i := range 3 {
		_ = must(s.CreateConnector(ctx, store.Connector{Name: fmt.Sprintf("csv-%d", i), Type: "csv"}))(t)
	}
	list, total := must2(s.ListConnectors(ctx, store.ConnectorFilter{Type: "csv", Page: store.Page{Limit: 2}}))(t)
	if total != 3 || len(list) != 2 || list[0].Name != "csv-0" {
		t.Fatalf("ListConnectors = %d items, total %d", len(list), total)
	}

	if err := s.DeleteConnector(ctx, conn.ID, "u2"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetConnector(ctx, conn.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteConnector(ctx, conn.ID, "u2"), store.ErrNotFound)
	_, err = s.UpdateConnector(ctx, conn)
	wantErr(t, err, store.ErrNotFound)
	if _, total := must2(s.ListConnectors(ctx, store.ConnectorFilter{}))(t); total != 3 {
		t.Fatalf("deleted connector still listed: total %d", total)
	}
	// The name of a deleted connector can be taken again.
	_ = must(s.CreateConnector(ctx, store.Connector{Name: "Warehouse", Type: "postgres"}))(t)
}

// must2(list())(t) unpacks (items, total, err), failing the test on err.
func must2[T any](items []T, total int, err error) func(t *testing.T) ([]T, int) {
	return func(t *testing.T) ([]T, int) {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return items, total
	}
}

func newPipeline(t *testing.T, s *store.Store, name string) store.Pipeline {
	t.Helper()
	return must(s.CreatePipeline(ctx, store.Pipeline{Name: name, Spec: "version: 1\nname: " + name + "\n", Enabled: true, CreatedBy: "u1"}))(t)
}

// testPipelineSummaries: the list of GET /api/v1/pipelines is ListPipelines' page without the spec
// text, each row with its latest run.
func testPipelineSummaries(t *testing.T, s *store.Store, c *clock) {
	b := newPipeline(t, s, "b-two")
	a := newPipeline(t, s, "A-one")
	cc := must(s.CreatePipeline(ctx, store.Pipeline{Name: "c-three", Description: "hourly import", Spec: "version: 1\n",
		Schedule: "0 * * * *", Timezone: "UTC", Enabled: true, CreatedBy: "u2"}))(t)
	draft := must(s.CreatePipeline(ctx, store.Pipeline{Name: "d-draft", Spec: "version: 1\nname: d-draft\nsources: [\n",
		Problems: json.RawMessage(`[{"path":"sources","message":"unclosed"}]`)}))(t)
	gone := newPipeline(t, s, "a-gone")
	must(s.CreateRun(ctx, store.Run{PipelineID: gone.ID, PipelineVersion: 1}))(t)
	if err := s.DeletePipeline(ctx, gone.ID, "u1"); err != nil {
		t.Fatal(err)
	}
	// A-one: an older run, then a newer one that succeeded; c-three: one queued run.
	must(s.CreateRun(ctx, store.Run{PipelineID: a.ID, PipelineVersion: 1}))(t)
	c.Advance(time.Second)
	newer := must(s.CreateRun(ctx, store.Run{PipelineID: a.ID, PipelineVersion: 1}))(t)
	must(s.ClaimRun(ctx, newer.ID, "w1"))(t)
	c.Advance(time.Second)
	done := must(s.FinishRun(ctx, newer.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunSucceeded, WorkerID: "w1", Attempt: 1}))(t)
	c.Advance(time.Second)
	queued := must(s.CreateRun(ctx, store.Run{PipelineID: cc.ID, PipelineVersion: 1}))(t)

	summary := func(p store.Pipeline, last *store.RunSummary) store.PipelineSummary {
		p = must(s.GetPipeline(ctx, p.ID))(t)
		p.Spec = ""
		return store.PipelineSummary{Pipeline: p, LastRun: last}
	}
	all := []store.PipelineSummary{
		summary(a, &store.RunSummary{ID: done.ID, Status: store.RunSucceeded, CreatedAt: done.CreatedAt, FinishedAt: done.FinishedAt}),
		summary(b, nil),
		summary(cc, &store.RunSummary{ID: queued.ID, Status: store.RunQueued, CreatedAt: queued.CreatedAt}),
		summary(draft, nil),
	}
	all[3].Draft = true
	tests := []struct {
		name   string
		filter store.PipelineFilter
		want   []store.PipelineSummary
		total  int
	}{
		{"all, by name case-insensitively", store.PipelineFilter{}, all, 4},
		{"first page", store.PipelineFilter{Page: store.Page{Limit: 2}}, all[:2], 4},
		{"last page", store.PipelineFilter{Page: store.Page{Limit: 2, Offset: 2}}, all[2:], 4},
		{"past the end", store.PipelineFilter{Page: store.Page{Limit: 2, Offset: 5}}, []store.PipelineSummary{}, 4},
		{"search in description", store.PipelineFilter{Search: "HOURLY"}, all[2:3], 1},
		{"scheduled", store.PipelineFilter{Scheduled: true}, all[2:3], 1},
		{"no match", store.PipelineFilter{Search: "zzz"}, []store.PipelineSummary{}, 0},
	}
	for _, tt := range tests {
		got, total := must2(s.ListPipelineSummaries(ctx, tt.filter))(t)
		if total != tt.total {
			t.Errorf("%s: total = %d, want %d", tt.name, total, tt.total)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: summaries (-want +got):\n%s", tt.name, diff)
		}
		// The same pipelines, in the same order, as ListPipelines.
		full, fullTotal := must2(s.ListPipelines(ctx, tt.filter))(t)
		if fullTotal != total || len(full) != len(got) {
			t.Errorf("%s: ListPipelines has %d of %d, summaries %d of %d", tt.name, len(full), fullTotal, len(got), total)
			continue
		}
		for i := range full {
			if full[i].ID != got[i].ID {
				t.Errorf("%s: row %d is %s, ListPipelines has %s", tt.name, i, got[i].Name, full[i].Name)
			}
		}
	}
}

// testSessionUser: what authenticating an access token reads, in one query.
func testSessionUser(t *testing.T, s *store.Store, c *clock) {
	u := newUser(t, s, "sess", "viewer")
	exp := c.Now().Add(time.Hour)
	must(s.CreateRefreshToken(ctx, store.RefreshToken{UserID: u.ID, FamilyID: "live", TokenHash: "h1", ExpiresAt: exp}))(t)
	must(s.CreateRefreshToken(ctx, store.RefreshToken{UserID: u.ID, FamilyID: "revoked", TokenHash: "h2", ExpiresAt: exp}))(t)
	must(s.RevokeRefreshFamily(ctx, "revoked"))(t)
	want := must(s.GetUser(ctx, u.ID))(t)
	for family, live := range map[string]bool{"live": true, "revoked": false, "unknown": false} {
		got, gotLive, err := s.GetSessionUser(ctx, u.ID, family)
		if err != nil {
			t.Fatalf("%s: %v", family, err)
		}
		if gotLive != live {
			t.Errorf("family %s: live = %v, want %v", family, gotLive, live)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("family %s: user (-want +got):\n%s", family, diff)
		}
	}
	_, _, err := s.GetSessionUser(ctx, "ghost", "live")
	wantErr(t, err, store.ErrNotFound)
}

func testPipelines(t *testing.T, s *store.Store, c *clock) {
	p := newPipeline(t, s, "orders")
	if p.Version != 1 {
		t.Fatalf("new pipeline version = %d", p.Version)
	}
	_, err := s.CreatePipeline(ctx, store.Pipeline{Name: "ORDERS", Spec: "x"})
	wantConflict(t, err, "name")
	_, err = s.CreatePipeline(ctx, store.Pipeline{Name: "empty"})
	wantErr(t, err, store.ErrInvalid)

	c.Advance(time.Second)
	p2 := must(s.UpdatePipeline(ctx, p.ID, store.PipelineUpdate{Name: "orders", Spec: "version: 1\n# v2\n", Schedule: "0 * * * *", Timezone: "UTC", Enabled: true, Actor: "u2", Comment: "hourly", ExpectedVersion: 1}))(t)
	if p2.Version != 2 || p2.Schedule != "0 * * * *" || p2.UpdatedBy != "u2" {
		t.Fatalf("after update: %+v", p2)
	}
	_, err = s.UpdatePipeline(ctx, p.ID, store.PipelineUpdate{Name: "orders", Spec: "stale", ExpectedVersion: 1})
	wantErr(t, err, store.ErrConflict)
	if got := must(s.GetPipeline(ctx, p.ID))(t); got.Spec != p2.Spec {
		t.Fatal("a refused update changed the spec")
	}
	v1 := must(s.GetPipelineVersion(ctx, p.ID, 1))(t)
	if v1.Spec != p.Spec || v1.CreatedBy != "u1" {
		t.Fatalf("version 1 = %+v", v1)
	}
	versions, total := must2(s.ListPipelineVersions(ctx, p.ID, store.Page{}))(t)
	if total != 2 || versions[0].Version != 2 || versions[0].Comment != "hourly" {
		t.Fatalf("versions = %+v", versions)
	}
	_, err = s.GetPipelineVersion(ctx, p.ID, 3)
	wantErr(t, err, store.ErrNotFound)

	other := newPipeline(t, s, "customers")
	if sched, total := must2(s.ListPipelines(ctx, store.PipelineFilter{Scheduled: true}))(t); total != 1 || sched[0].ID != p.ID {
		t.Fatalf("scheduled pipelines: %d", total)
	}
	if err := s.SetPipelineEnabled(ctx, p.ID, false, "u3"); err != nil {
		t.Fatal(err)
	}
	if _, total := must2(s.ListPipelines(ctx, store.PipelineFilter{Scheduled: true}))(t); total != 0 {
		t.Fatal("disabled pipeline still scheduled")
	}
	if got, total := must2(s.ListPipelines(ctx, store.PipelineFilter{Search: "CUST"}))(t); total != 1 || got[0].ID != other.ID {
		t.Fatal("search did not find customers")
	}
	if err := s.DeletePipeline(ctx, p.ID, "u1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetPipeline(ctx, p.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UpdatePipeline(ctx, p.ID, store.PipelineUpdate{Name: "orders", Spec: "x"})
	wantErr(t, err, store.ErrNotFound)
	// Old versions stay readable for the runs that used them.
	_ = must(s.GetPipelineVersion(ctx, p.ID, 2))(t)
	_ = newPipeline(t, s, "orders")
}

func testRuns(t *testing.T, s *store.Store, c *clock) {
	p := newPipeline(t, s, "runs")
	_, err := s.CreateRun(ctx, store.Run{PipelineID: "ghost", PipelineVersion: 1})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.CreateRun(ctx, store.Run{PipelineID: p.ID})
	wantErr(t, err, store.ErrInvalid)

	start := c.Now()
	r := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1, Trigger: "api", ActorID: "u1", ActorName: "alice"}))(t)
	if r.Status != store.RunQueued || r.Attempt != 0 {
		t.Fatalf("new run = %+v", r)
	}
	c.Advance(time.Second)
	claimed := must(s.ClaimRun(ctx, r.ID, "w1"))(t)
	if claimed.Status != store.RunRunning || claimed.WorkerID != "w1" || claimed.Attempt != 1 || claimed.StartedAt == nil || claimed.HeartbeatAt == nil {
		t.Fatalf("claimed run = %+v", claimed)
	}
	_, err = s.ClaimRun(ctx, r.ID, "w2")
	wantErr(t, err, store.ErrConflict)
	_, err = s.ClaimRun(ctx, "ghost", "w2")
	wantErr(t, err, store.ErrNotFound)

	cp := json.RawMessage(`{"orders":{"offset":42}}`)
	stats := json.RawMessage(`{"orders":{"in":42,"out":40}}`)
	if err := s.SaveCheckpoint(ctx, r.ID, "w1", 1, cp, stats); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SaveCheckpoint(ctx, r.ID, "w2", 1, json.RawMessage(`{}`), nil), store.ErrConflict)
	wantErr(t, s.SaveCheckpoint(ctx, r.ID, "w1", 1, json.RawMessage(`{bad`), nil), store.ErrInvalid)
	got := must(s.GetRun(ctx, r.ID))(t)
	if !jsonEqual(got.Checkpoint, cp) || !jsonEqual(got.NodeStats, stats) {
		t.Fatalf("checkpoint = %s, stats = %s", got.Checkpoint, got.NodeStats)
	}

	if cancel := must(s.Heartbeat(ctx, r.ID, "w1", 1))(t); cancel {
		t.Fatal("cancel requested before RequestCancel")
	}
	_, err = s.Heartbeat(ctx, r.ID, "w2", 1)
	wantErr(t, err, store.ErrConflict)
	if got := must(s.RequestCancel(ctx, r.ID))(t); got.Status != store.RunRunning || !got.CancelRequested {
		t.Fatalf("cancel of running run = %+v", got)
	}
	if cancel := must(s.Heartbeat(ctx, r.ID, "w1", 1))(t); !cancel {
		t.Fatal("heartbeat does not report the cancel request")
	}

	// The process dies: the heartbeat goes stale and the run is requeued.
	c.Advance(10 * time.Minute)
	stale := must(s.FindStaleRuns(ctx, c.Now().Add(-5*time.Minute)))(t)
	if len(stale) != 1 || stale[0].ID != r.ID {
		t.Fatalf("FindStaleRuns = %+v", stale)
	}
	if none := must(s.FindStaleRuns(ctx, c.Now().Add(-time.Hour)))(t); len(none) != 0 {
		t.Fatalf("FindStaleRuns with old cutoff = %d runs", len(none))
	}
	_, err = s.RequeueRun(ctx, r.ID, "w9", "")
	wantErr(t, err, store.ErrConflict)
	requeued := must(s.RequeueRun(ctx, r.ID, "w1", "worker w1 stopped"))(t)
	if requeued.Status != store.RunQueued || requeued.WorkerID != "" || !jsonEqual(requeued.Checkpoint, cp) || requeued.Error != "worker w1 stopped" {
		t.Fatalf("requeued run = %+v", requeued)
	}
	resumed := must(s.ClaimRun(ctx, r.ID, "w3"))(t)
	if resumed.Attempt != 2 || !resumed.StartedAt.Equal(*claimed.StartedAt) || resumed.Error != "" {
		t.Fatalf("resumed run = %+v", resumed)
	}
	final := json.RawMessage(`{"orders":{"in":100,"out":98}}`)
	// The worker of the first attempt may not record an outcome for the second.
	_, err = s.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunFailed, WorkerID: "w1", Attempt: 1})
	wantErr(t, err, store.ErrConflict)
	_, err = s.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunFailed, WorkerID: "w3", Attempt: 1})
	wantErr(t, err, store.ErrConflict)
	done := must(s.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunSucceeded, NodeStats: final, WorkerID: "w3", Attempt: 2}))(t)
	if done.Status != store.RunSucceeded || done.FinishedAt == nil || !jsonEqual(done.NodeStats, final) {
		t.Fatalf("finished run = %+v", done)
	}
	_, err = s.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunFailed, Error: "late"})
	wantErr(t, err, store.ErrConflict)
	_, err = s.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunRunning})
	wantErr(t, err, store.ErrInvalid)
	_, err = s.RequestCancel(ctx, r.ID)
	wantErr(t, err, store.ErrConflict)

	// A queued run is cancelled at once; a failed one keeps its error and
	// previous stats when none are given.
	q := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	if got := must(s.RequestCancel(ctx, q.ID))(t); got.Status != store.RunCancelled || got.FinishedAt == nil {
		t.Fatalf("cancel of queued run = %+v", got)
	}
	c.Advance(time.Hour)
	f := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	must(s.ClaimRun(ctx, f.ID, "w1"))(t)
	if err := s.SaveCheckpoint(ctx, f.ID, "w1", 1, nil, stats); err != nil {
		t.Fatal(err)
	}
	failed := must(s.FinishRun(ctx, f.ID, []store.RunStatus{store.RunQueued, store.RunRunning}, store.RunFinish{Status: store.RunFailed, Error: "boom"}))(t)
	if failed.Error != "boom" || !jsonEqual(failed.NodeStats, stats) {
		t.Fatalf("failed run = %+v", failed)
	}

	other := newPipeline(t, s, "other")
	_ = must(s.CreateRun(ctx, store.Run{PipelineID: other.ID, PipelineVersion: 1}))(t)
	tests := []struct {
		name string
		f    store.RunFilter
		want []string
	}{
		{"pipeline", store.RunFilter{PipelineID: p.ID}, []string{f.ID, q.ID, r.ID}},
		{"status", store.RunFilter{Status: []store.RunStatus{store.RunFailed, store.RunCancelled}}, []string{f.ID, q.ID}},
		{"from", store.RunFilter{PipelineID: p.ID, From: start.Add(30 * time.Minute)}, []string{f.ID}},
		{"to", store.RunFilter{To: start.Add(30 * time.Minute)}, []string{q.ID, r.ID}},
		{"page", store.RunFilter{PipelineID: p.ID, Page: store.Page{Limit: 1, Offset: 1}}, []string{q.ID}},
	}
	for _, tt := range tests {
		runs, total, err := s.ListRuns(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		ids := []string{}
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		wantTotal := len(tt.want)
		if tt.name == "page" {
			wantTotal = 3
		}
		if !reflect.DeepEqual(ids, tt.want) || total != wantTotal {
			t.Errorf("%s: got %v (total %d), want %v", tt.name, ids, total, tt.want)
		}
	}
}

// jsonCmp compares JSON by value: PostgreSQL's JSONB normalises spacing.
var jsonCmp = cmp.Comparer(jsonEqual)

func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func testRunClaimRace(t *testing.T, s *store.Store, _ *clock) {
	p := newPipeline(t, s, "race")
	r := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	const workers = 8
	var wg sync.WaitGroup
	results := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ClaimRun(ctx, r.ID, fmt.Sprintf("w%d", i))
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("claim: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d workers claimed the run, want exactly 1", won)
	}
}

// Many goroutines writing at once (as API requests and workers do) all
// succeed: no "database is locked" on SQLite, no lost rows.
func testConcurrentWrites(t *testing.T, s *store.Store, _ *clock) {
	p := newPipeline(t, s, "busy")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*3)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.AppendAudit(ctx, store.AuditEntry{ActorID: fmt.Sprint(w), Action: "x.y", Result: "success"}); err != nil {
					errs <- err
				}
				r, err := s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1})
				if err != nil {
					errs <- err
					continue
				}
				if err := s.AddDeadLetters(ctx, []store.DeadLetter{{RunID: r.ID, Reason: fmt.Sprint(i)}, {RunID: r.ID, Reason: "b"}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	if _, total := must2(s.ListAudit(ctx, store.AuditFilter{Action: "x.y"}))(t); total != writers*each {
		t.Fatalf("audit entries = %d, want %d", total, writers*each)
	}
	if _, total := must2(s.ListRuns(ctx, store.RunFilter{PipelineID: p.ID}))(t); total != writers*each {
		t.Fatalf("runs = %d, want %d", total, writers*each)
	}
}

func testDeadLetters(t *testing.T, s *store.Store, _ *clock) {
	p := newPipeline(t, s, "dl")
	r := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	rows := make([]store.DeadLetter, 250)
	for i := range rows {
		rows[i] = store.DeadLetter{RunID: r.ID, Node: "validate", Source: "orders.csv", Line: int64(i + 2), Field: "amount",
			Reason: "not a number", Raw: json.RawMessage(fmt.Sprintf(`{"amount":"x%d"}`, i))}
	}
	if err := s.AddDeadLetters(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if n := must(s.CountDeadLetters(ctx, r.ID))(t); n != 250 {
		t.Fatalf("count = %d", n)
	}
	var all []store.DeadLetter
	var after int64
	for {
		page := must(s.ListDeadLetters(ctx, r.ID, after, 100))(t)
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
	if len(all) != 250 || all[0].Line != 2 || all[249].Line != 251 || !jsonEqual(all[7].Raw, json.RawMessage(`{"amount":"x7"}`)) {
		t.Fatalf("paged %d rows; first %+v", len(all), all[0])
	}
	// All or nothing: one bad row inserts none.
	bad := []store.DeadLetter{{RunID: r.ID, Reason: "ok"}, {RunID: r.ID, Reason: "bad", Raw: json.RawMessage(`{`)}}
	wantErr(t, s.AddDeadLetters(ctx, bad), store.ErrInvalid)
	ghost := []store.DeadLetter{{RunID: r.ID, Reason: "ok"}, {RunID: "ghost", Reason: "no run"}}
	wantErr(t, s.AddDeadLetters(ctx, ghost), store.ErrNotFound)
	if n := must(s.CountDeadLetters(ctx, r.ID))(t); n != 250 {
		t.Fatalf("count after refused batches = %d, want 250", n)
	}
}

func testLogs(t *testing.T, s *store.Store, c *clock) {
	t0 := c.Now()
	var entries []store.LogEntry
	for i := range 150 {
		level := "info"
		if i%10 == 0 {
			level = "error"
		}
		entries = append(entries, store.LogEntry{Time: t0.Add(time.Duration(i) * time.Second), Level: level, Source: "engine",
			Message: fmt.Sprintf("line %d", i), RunID: "run1", Node: "orders", Details: json.RawMessage(`{"i":1}`)})
	}
	if err := s.AppendLogs(ctx, entries); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLogs(ctx, []store.LogEntry{{Level: "warn", Source: "scheduler", Message: "other"}}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.AppendLogs(ctx, []store.LogEntry{{Level: "info"}}), store.ErrInvalid)

	list, total := must2(s.ListLogs(ctx, store.LogFilter{RunID: "run1", Oldest: true, Page: store.Page{Limit: 5}}))(t)
	if total != 150 || list[0].Message != "line 0" || list[4].Message != "line 4" {
		t.Fatalf("run logs: total %d, first %+v", total, list[0])
	}
	tail, total := must2(s.ListLogs(ctx, store.LogFilter{RunID: "run1", AfterID: list[4].ID, Oldest: true, Page: store.Page{Limit: 2}}))(t)
	if total != 145 || tail[0].Message != "line 5" {
		t.Fatalf("tail after id: total %d, %+v", total, tail)
	}
	if _, total := must2(s.ListLogs(ctx, store.LogFilter{Level: []string{"error", "warn"}}))(t); total != 16 {
		t.Fatalf("error+warn = %d, want 16", total)
	}
	if _, total := must2(s.ListLogs(ctx, store.LogFilter{From: t0.Add(10 * time.Second), To: t0.Add(20 * time.Second)}))(t); total != 10 {
		t.Fatalf("time range = %d, want 10", total)
	}
	newest, _ := must2(s.ListLogs(ctx, store.LogFilter{Source: "engine", Page: store.Page{Limit: 1}}))(t)
	if newest[0].Message != "line 149" {
		t.Fatalf("newest first = %q", newest[0].Message)
	}
	// 100 run lines plus the scheduler line logged at t0.
	if n := must(s.DeleteLogsBefore(ctx, t0.Add(100*time.Second)))(t); n != 101 {
		t.Fatalf("DeleteLogsBefore = %d, want 101", n)
	}
}

func testAudit(t *testing.T, s *store.Store, c *clock) {
	t0 := c.Now()
	add := func(actor, action, ttype, tid, result string, at time.Duration) store.AuditEntry {
		return must(s.AppendAudit(ctx, store.AuditEntry{Time: t0.Add(at), ActorID: actor, ActorName: "name-" + actor, Action: action,
			TargetType: ttype, TargetID: tid, IP: "10.1.1.1", UserAgent: "curl", Result: result, RequestID: "req-" + action,
			Details: json.RawMessage(`{"k":"v"}`)}))(t)
	}
	a1 := add("u1", "auth.login", "user", "u1", "success", 0)
	add("", "auth.login", "user", "", "failure", time.Minute)
	add("u1", "user.create", "user", "u2", "success", 2*time.Minute)
	add("u2", "pipeline.update", "pipeline", "p1", "denied", 3*time.Minute)
	if a1.ID == 0 {
		t.Fatal("AppendAudit returned no id")
	}
	_, err := s.AppendAudit(ctx, store.AuditEntry{Action: "x"})
	wantErr(t, err, store.ErrInvalid)

	tests := []struct {
		name string
		f    store.AuditFilter
		want []string // actions, newest first
	}{
		{"all", store.AuditFilter{}, []string{"pipeline.update", "user.create", "auth.login", "auth.login"}},
		{"actor", store.AuditFilter{ActorID: "u1"}, []string{"user.create", "auth.login"}},
		{"action", store.AuditFilter{Action: "auth.login"}, []string{"auth.login", "auth.login"}},
		{"action prefix", store.AuditFilter{Action: "user."}, []string{"user.create"}},
		{"target", store.AuditFilter{TargetType: "user", TargetID: "u2"}, []string{"user.create"}},
		{"result", store.AuditFilter{Result: "failure"}, []string{"auth.login"}},
		{"time range", store.AuditFilter{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, []string{"user.create", "auth.login"}},
		{"page", store.AuditFilter{Page: store.Page{Limit: 1, Offset: 1}}, []string{"user.create"}},
	}
	for _, tt := range tests {
		list, _, err := s.ListAudit(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := []string{}
		for _, e := range list {
			got = append(got, e.Action)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	list, _ := must2(s.ListAudit(ctx, store.AuditFilter{ActorID: "u1", Action: "auth.login"}))(t)
	if diff := cmp.Diff(a1, list[0], jsonCmp); diff != "" {
		t.Fatalf("audit round trip (-appended +listed):\n%s", diff)
	}
	// The store offers no way to change or remove audit entries.
	typ := reflect.TypeOf(s)
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if strings.Contains(name, "Audit") && name != "AppendAudit" && name != "ListAudit" {
			t.Errorf("Store has audit method %s; only AppendAudit and ListAudit may exist", name)
		}
	}
}

func testTransformations(t *testing.T, s *store.Store, c *clock) {
	tr := must(s.CreateTransformation(ctx, store.Transformation{Name: "Clean emails", Type: "cleanse", Config: json.RawMessage(`{"trim":true}`), CreatedBy: "u1"}))(t)
	if tr.Version != 1 {
		t.Fatalf("version = %d", tr.Version)
	}
	_, err := s.CreateTransformation(ctx, store.Transformation{Name: "clean EMAILS", Type: "map"})
	wantConflict(t, err, "name")
	c.Advance(time.Second)
	tr.Config, tr.UpdatedBy = json.RawMessage(`{"trim":false}`), "u2"
	upd := must(s.UpdateTransformation(ctx, tr, 1))(t)
	if upd.Version != 2 || !jsonEqual(upd.Config, json.RawMessage(`{"trim":false}`)) || upd.UpdatedBy != "u2" {
		t.Fatalf("updated = %+v", upd)
	}
	_, err = s.UpdateTransformation(ctx, tr, 1)
	wantErr(t, err, store.ErrConflict)
	if got := must(s.UpdateTransformation(ctx, tr, 0))(t); got.Version != 3 {
		t.Fatalf("unconditional update version = %d", got.Version)
	}
	if got := must(s.GetTransformationByName(ctx, "CLEAN emails"))(t); got.ID != tr.ID {
		t.Fatal("by name")
	}
	if _, total := must2(s.ListTransformations(ctx, "clean", store.Page{}))(t); total != 1 {
		t.Fatal("list search")
	}
	if err := s.DeleteTransformation(ctx, tr.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetTransformation(ctx, tr.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UpdateTransformation(ctx, tr, 0)
	wantErr(t, err, store.ErrNotFound)
}

func testUploadedFiles(t *testing.T, s *store.Store, _ *clock) {
	f := must(s.CreateUploadedFile(ctx, store.UploadedFile{ID: "file-1", OriginalName: "orders.csv", StoredPath: "uploads/file-1",
		Size: 1234, ContentType: "text/csv", SHA256: "abc", UploadedBy: "u1"}))(t)
	if got := must(s.GetUploadedFile(ctx, "file-1"))(t); !cmp.Equal(got, f) {
		t.Fatalf("file round trip: %s", cmp.Diff(f, got))
	}
	_, err := s.CreateUploadedFile(ctx, f)
	wantConflict(t, err, "id")
	_ = must(s.CreateUploadedFile(ctx, store.UploadedFile{OriginalName: "b.json", StoredPath: "uploads/b", Size: 1, SHA256: "d", UploadedBy: "u2"}))(t)
	if _, total := must2(s.ListUploadedFiles(ctx, "u1", store.Page{}))(t); total != 1 {
		t.Fatal("filter by uploader")
	}
	if _, total := must2(s.ListUploadedFiles(ctx, "", store.Page{}))(t); total != 2 {
		t.Fatal("list all")
	}
	if err := s.DeleteUploadedFile(ctx, "file-1"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteUploadedFile(ctx, "file-1"), store.ErrNotFound)
}

func testAlerts(t *testing.T, s *store.Store, c *clock) {
	chID := must(store.NewAlertID())(t)
	ch := must(s.CreateAlertChannel(ctx, store.AlertChannel{ID: chID, Name: "Ops hook", Type: "webhook",
		Config: json.RawMessage(`{"url":"https://example.com/h"}`), Secrets: "sealed", SecretsKeyID: "k1"}))(t)
	_, err := s.CreateAlertChannel(ctx, store.AlertChannel{ID: must(store.NewAlertID())(t), Name: "ops HOOK", Type: "slack"})
	wantConflict(t, err, "name")
	ch.Name, ch.Secrets = "Ops webhook", "sealed-2"
	if got := must(s.UpdateAlertChannel(ctx, ch))(t); got.Name != "Ops webhook" || got.Secrets != "sealed-2" || got.Type != "webhook" {
		t.Fatalf("updated channel = %+v", got)
	}

	rule := must(s.CreateAlertRule(ctx, store.AlertRule{Name: "Failures", ConditionType: "run_failed", PipelineID: "p1", Enabled: true,
		Condition: json.RawMessage(`{"type":"run_failed","pipeline_id":"p1"}`), Channels: []string{ch.ID}, ThrottleMinutes: 30}))(t)
	_, err = s.CreateAlertRule(ctx, store.AlertRule{Name: "failures", ConditionType: "run_failed"})
	wantConflict(t, err, "name")
	if err := s.SetAlertRuleProblem(ctx, rule.ID, "pipeline p1 was deleted"); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetAlertRule(ctx, rule.ID))(t); got.Problem != "pipeline p1 was deleted" || got.ThrottleMinutes != 30 || len(got.Channels) != 1 {
		t.Fatalf("rule = %+v", got)
	}
	rule.Enabled = false
	if got := must(s.UpdateAlertRule(ctx, rule))(t); got.Enabled || got.Problem != "" {
		t.Fatalf("updated rule = %+v", got)
	}
	if got := must(s.ListAlertRules(ctx, true))(t); len(got) != 0 {
		t.Fatal("disabled rule listed as enabled")
	}
	if got := must(s.ListAlertRules(ctx, false, "run_failed"))(t); len(got) != 1 {
		t.Fatal("rule not listed by type")
	}

	// One firing alert per rule and subject: a second fire returns the first.
	a, created, err := s.FireAlert(ctx, store.Alert{RuleID: rule.ID, RuleName: rule.Name, Subject: "p1", PipelineID: "p1", RunID: "r1", Title: "Run failed"})
	if err != nil || !created || a.State != store.AlertFiring {
		t.Fatalf("fire = %+v, %v, %v", a, created, err)
	}
	again, created, err := s.FireAlert(ctx, store.Alert{RuleID: rule.ID, Subject: "p1", RunID: "r2", Title: "Run failed"})
	if err != nil || created || again.ID != a.ID {
		t.Fatalf("second fire = %+v, %v, %v", again, created, err)
	}
	if err := s.MarkAlertNotified(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	ack := must(s.AcknowledgeAlert(ctx, a.ID, "u1"))(t)
	if ack.AcknowledgedBy != "u1" || ack.AcknowledgedAt == nil {
		t.Fatalf("acknowledged = %+v", ack)
	}
	_, err = s.AcknowledgeAlert(ctx, a.ID, "u2")
	wantErr(t, err, store.ErrConflict)
	until := c.Now().Add(time.Hour).Truncate(time.Second)
	if got := must(s.SilenceAlert(ctx, a.ID, "u1", &until))(t); got.SilencedUntil == nil || !got.SilencedUntil.Equal(until) {
		t.Fatalf("silenced = %+v", got)
	}
	res, ok, err := s.ResolveFiringAlert(ctx, rule.ID, "p1", "run r3 succeeded")
	if err != nil || !ok || res.State != store.AlertResolved || res.ResolvedAt == nil {
		t.Fatalf("resolve = %+v, %v, %v", res, ok, err)
	}
	if _, ok, err := s.ResolveFiringAlert(ctx, rule.ID, "p1", ""); err != nil || ok {
		t.Fatalf("second resolve = %v, %v", ok, err)
	}
	_, err = s.AcknowledgeAlert(ctx, a.ID, "u1")
	wantErr(t, err, store.ErrConflict)
	events := must(s.ListAlertEvents(ctx, a.ID))(t)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); got != "fired,acknowledged,silenced,resolved" {
		t.Fatalf("history = %s", got)
	}
	b, created, err := s.FireAlert(ctx, store.Alert{RuleID: rule.ID, Subject: "p1", Title: "Run failed"})
	if err != nil || !created || b.ID == a.ID {
		t.Fatalf("fire after resolve = %+v, %v, %v", b, created, err)
	}
	if at := must(s.LastNotifiedFiring(ctx, rule.ID, "p1", b.ID))(t); at == nil || !at.Equal(a.FiredAt) {
		t.Fatalf("last notified = %v, want %v", at, a.FiredAt)
	}
	if prev := must(s.PreviousAlert(ctx, rule.ID, "p1", b.ID))(t); prev.ID != a.ID || prev.SilencedUntil == nil {
		t.Fatalf("previous = %+v", prev)
	}
	if got := must(s.FiringAlerts(ctx, rule.ID))(t); len(got) != 1 || got[0].ID != b.ID {
		t.Fatalf("firing = %+v", got)
	}
	if _, total := must2(s.ListAlerts(ctx, store.AlertFilter{State: store.AlertResolved}))(t); total != 1 {
		t.Fatal("resolved alerts")
	}

	d := must(s.CreateAlertDelivery(ctx, store.AlertDelivery{ID: must(store.NewAlertID())(t), AlertID: a.ID, ChannelID: ch.ID, ChannelName: ch.Name, Event: "firing"}))(t)
	must(s.RecordDeliveryAttempt(ctx, d.ID, store.DeliveryRetrying, "webhook answered 500"))(t)
	got := must(s.RecordDeliveryAttempt(ctx, d.ID, store.DeliveryFailed, "webhook answered 500"))(t)
	if got.Attempts != 2 || got.Status != store.DeliveryFailed || got.LastError != "webhook answered 500" || got.SentAt != nil {
		t.Fatalf("delivery = %+v", got)
	}
	// The last failed attempt and its history entry are written together, or neither is.
	nEvents := len(must(s.ListAlertEvents(ctx, a.ID))(t))
	if _, err := s.RecordDeliveryFailure(ctx, "no-such-delivery", "boom", a.ID, "lost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failure of a missing delivery: %v", err)
	}
	if got := must(s.ListAlertEvents(ctx, a.ID))(t); len(got) != nEvents {
		t.Fatalf("history after a refused failure = %+v", got)
	}
	d2 := must(s.CreateAlertDelivery(ctx, store.AlertDelivery{ID: must(store.NewAlertID())(t), AlertID: a.ID, ChannelID: ch.ID, ChannelName: ch.Name, Event: "firing"}))(t)
	if got := must(s.RecordDeliveryFailure(ctx, d2.ID, "webhook answered 500", a.ID, "firing notification failed"))(t); got.Status != store.DeliveryFailed || got.Attempts != 1 {
		t.Fatalf("failed delivery = %+v", got)
	}
	if got := must(s.ListAlertEvents(ctx, a.ID))(t); len(got) != nEvents+1 || got[len(got)-1].Kind != "delivery_failed" || got[len(got)-1].Message != "firing notification failed" {
		t.Fatalf("history after a failure = %+v", got)
	}
	if ds := must(s.ListAlertDeliveries(ctx, a.ID))(t); len(ds) != 2 {
		t.Fatalf("deliveries = %+v", ds)
	}
	if err := s.DeleteAlertRule(ctx, rule.ID); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetAlert(ctx, a.ID))(t); got.RuleID != rule.ID || got.RuleName != "Failures" {
		t.Fatal("alert lost its rule")
	}
	if err := s.DeleteAlertChannel(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteAlertChannel(ctx, ch.ID), store.ErrNotFound)
}

func testPreferences(t *testing.T, s *store.Store, _ *clock) {
	u := newUser(t, s, "prefs", "viewer")
	if got := must(s.GetPreferences(ctx, u.ID))(t); got != store.DefaultPreferences(u.ID) {
		t.Fatalf("defaults = %+v", got)
	}
	p := must(s.PutPreferences(ctx, store.Preferences{UserID: u.ID, Theme: "dark", Language: "de", Timezone: "Europe/Berlin"}))(t)
	p2 := must(s.PutPreferences(ctx, store.Preferences{UserID: u.ID, Theme: "light", Language: "de", Timezone: "Europe/Berlin"}))(t)
	got := must(s.GetPreferences(ctx, u.ID))(t)
	if got != p2 || got.Theme != "light" || p.Theme != "dark" {
		t.Fatalf("preferences = %+v", got)
	}
	_, err := s.PutPreferences(ctx, store.Preferences{UserID: "ghost", Theme: "dark", Language: "en", Timezone: "UTC"})
	wantErr(t, err, store.ErrNotFound)
}

func testDashboards(t *testing.T, s *store.Store, c *clock) {
	u := newUser(t, s, "dash", "executive")
	v := newUser(t, s, "dash2", "viewer")
	defaults := func() []string {
		t.Helper()
		var ids []string
		for _, d := range must(s.ListDashboardLayouts(ctx, u.ID))(t) {
			if d.IsDefault {
				ids = append(ids, d.ID)
			}
		}
		return ids
	}
	a := must(s.CreateDashboardLayout(ctx, store.DashboardLayout{UserID: u.ID, Name: "Main", Layout: json.RawMessage(`{"widgets":[]}`)}))(t)
	if !a.IsDefault {
		t.Fatal("first layout is not the default")
	}
	c.Advance(time.Second)
	b := must(s.CreateDashboardLayout(ctx, store.DashboardLayout{UserID: u.ID, Name: "Ops"}))(t)
	if b.IsDefault || !reflect.DeepEqual(defaults(), []string{a.ID}) {
		t.Fatalf("defaults after second = %v", defaults())
	}
	_, err := s.CreateDashboardLayout(ctx, store.DashboardLayout{UserID: u.ID, Name: "main"})
	wantConflict(t, err, "name")
	c.Advance(time.Second)
	cc := must(s.CreateDashboardLayout(ctx, store.DashboardLayout{UserID: u.ID, Name: "Exec", IsDefault: true}))(t)
	if !reflect.DeepEqual(defaults(), []string{cc.ID}) {
		t.Fatalf("defaults after creating a default = %v", defaults())
	}
	if err := s.SetDefaultDashboardLayout(ctx, u.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(defaults(), []string{b.ID}) {
		t.Fatalf("defaults after SetDefault = %v", defaults())
	}
	wantErr(t, s.SetDefaultDashboardLayout(ctx, v.ID, b.ID), store.ErrNotFound)
	_, err = s.GetDashboardLayout(ctx, v.ID, b.ID)
	wantErr(t, err, store.ErrNotFound)

	c.Advance(time.Second)
	upd := must(s.UpdateDashboardLayout(ctx, store.DashboardLayout{ID: a.ID, UserID: u.ID, Name: "Main 2", Layout: json.RawMessage(`{"w":1}`), IsDefault: true}))(t)
	if upd.Name != "Main 2" || !upd.IsDefault || !reflect.DeepEqual(defaults(), []string{a.ID}) {
		t.Fatalf("after update = %+v, defaults %v", upd, defaults())
	}
	_, err = s.UpdateDashboardLayout(ctx, store.DashboardLayout{ID: a.ID, UserID: v.ID, Name: "x"})
	wantErr(t, err, store.ErrNotFound)

	// Deleting the default promotes the most recently updated layout.
	if err := s.DeleteDashboardLayout(ctx, u.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(defaults(), []string{cc.ID}) {
		t.Fatalf("defaults after deleting the default = %v, want [%s]", defaults(), cc.ID)
	}
	wantErr(t, s.DeleteDashboardLayout(ctx, v.ID, cc.ID), store.ErrNotFound)
	for _, id := range []string{b.ID, cc.ID} {
		if err := s.DeleteDashboardLayout(ctx, u.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	if got := must(s.ListDashboardLayouts(ctx, u.ID))(t); len(got) != 0 {
		t.Fatalf("layouts left: %d", len(got))
	}
}

// testTransactions: what is done through a Tx commits together, or not at all on an error or a
// panic; AfterCommit functions run only after a commit.
func testTransactions(t *testing.T, s *store.Store, _ *clock) {
	p := newPipeline(t, s, "tx")
	runsOf := func() int {
		t.Helper()
		_, total := must2(s.ListRuns(ctx, store.RunFilter{PipelineID: p.ID}))(t)
		return total
	}
	var created store.Run
	afterCommit := 0
	err := s.InTx(ctx, func(tx *store.Tx) error {
		r, err := tx.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1, Trigger: "api"})
		if err != nil {
			return err
		}
		if got, err := tx.GetRun(ctx, r.ID); err != nil || got.ID != r.ID {
			return fmt.Errorf("GetRun in the transaction = %+v, %v", got, err)
		}
		if err := tx.AppendLogs(ctx, []store.LogEntry{{Level: "info", Source: "runs", Message: "queued", RunID: r.ID}}); err != nil {
			return err
		}
		var n int
		if err := tx.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM pipeline_runs WHERE id = $1`, r.ID).Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("the run through SQL(): %d rows, %v", n, err)
		}
		tx.AfterCommit(func() { afterCommit++ })
		created = r
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if got := must(s.GetRun(ctx, created.ID))(t); got.Status != store.RunQueued {
		t.Fatalf("committed run = %+v", got)
	}
	if logs, _ := must2(s.ListLogs(ctx, store.LogFilter{RunID: created.ID}))(t); len(logs) != 1 {
		t.Fatalf("committed log lines = %d, want 1", len(logs))
	}
	if afterCommit != 1 {
		t.Fatalf("AfterCommit ran %d times, want 1", afterCommit)
	}

	// An error rolls everything back and is returned as it is.
	boom := errors.New("enqueue failed")
	err = s.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}); err != nil {
			return err
		}
		tx.AfterCommit(func() { afterCommit++ })
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx error = %v, want %v", err, boom)
	}
	// A panic rolls back too, and goes on.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not propagate")
			}
		}()
		_ = s.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}); err != nil {
				return err
			}
			panic("worker crashed")
		})
	}()
	if n := runsOf(); n != 1 || afterCommit != 1 {
		t.Fatalf("after a rollback: %d runs (want 1), AfterCommit ran %d times (want 1)", n, afterCommit)
	}
	// The store is usable after both rollbacks (no connection or lock left behind).
	_ = must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	if n := runsOf(); n != 2 {
		t.Fatalf("runs = %d, want 2", n)
	}
}

func testManaged(t *testing.T, s *store.Store, c *clock) {
	m := must(s.PutManaged(ctx, store.Managed{Kind: store.ManagedPipeline, ObjectID: "p1", Path: "pipelines/orders.yaml", Digest: "abc", AppliedBy: "ci"}))(t)
	if !m.AppliedAt.Equal(c.Now().UTC().Truncate(time.Microsecond)) {
		t.Fatalf("applied at %v, want the clock's %v", m.AppliedAt, c.Now())
	}
	c.Advance(time.Minute)
	m2 := must(s.PutManaged(ctx, store.Managed{Kind: store.ManagedPipeline, ObjectID: "p1", Path: "pipelines/orders-v2.yaml", Digest: "def"}))(t)
	must(s.PutManaged(ctx, store.Managed{Kind: store.ManagedConnector, ObjectID: "p1", Path: "connectors/x.yaml", Digest: "123"}))(t)
	got := must(s.GetManaged(ctx, store.ManagedPipeline, "p1"))(t)
	if diff := cmp.Diff(m2, got); diff != "" {
		t.Fatalf("a second put replaces the mark (-want +got):\n%s", diff)
	}
	all := must(s.ListManaged(ctx, store.ManagedConnector))(t)
	if len(all) != 1 || all["p1"].Path != "connectors/x.yaml" {
		t.Fatalf("list of connectors = %+v", all)
	}
	if _, err := s.PutManaged(ctx, store.Managed{Kind: "user", ObjectID: "u", Path: "x", Digest: "y"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an unknown kind: %v, want ErrInvalid", err)
	}
	if err := s.DeleteManaged(ctx, store.ManagedPipeline, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetManaged(ctx, store.ManagedPipeline, "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteManaged(ctx, store.ManagedPipeline, "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a second delete: %v, want ErrNotFound", err)
	}
}

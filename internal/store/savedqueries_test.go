package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

func testSavedQueries(t *testing.T, s *store.Store, c *clock) {
	a := must(s.CreateSavedQuery(ctx, store.SavedQuery{Name: " Revenue by region ", ConnectorID: "c1", SQL: "SELECT 1",
		Chart: json.RawMessage(`{"type":"bar","x":"region","y":["total"]}`), CreatedBy: "ann"}))(t)
	if a.ID == "" || a.Name != "Revenue by region" || a.UpdatedBy != "ann" {
		t.Fatalf("created = %+v", a)
	}
	got := must(s.GetSavedQuery(ctx, a.ID))(t)
	var chart struct {
		Type, X string
		Y       []string
	}
	if err := json.Unmarshal(got.Chart, &chart); err != nil {
		t.Fatal(err)
	}
	if got.SQL != "SELECT 1" || got.ConnectorID != "c1" || chart.Type != "bar" || chart.X != "region" || len(chart.Y) != 1 || got.CreatedBy != "ann" {
		t.Fatalf("got = %+v (chart %s)", got, got.Chart)
	}
	_, err := s.CreateSavedQuery(ctx, store.SavedQuery{Name: "REVENUE BY REGION", ConnectorID: "c1", SQL: "SELECT 2"})
	wantConflict(t, err, "name")
	_, err = s.CreateSavedQuery(ctx, store.SavedQuery{Name: "x", ConnectorID: "c1", SQL: "  "})
	wantErr(t, err, store.ErrInvalid)

	c.Advance(time.Minute)
	b := must(s.CreateSavedQuery(ctx, store.SavedQuery{Name: "a first", ConnectorID: "c2", SQL: "SELECT 2", CreatedBy: "bob"}))(t)
	if string(must(s.GetSavedQuery(ctx, b.ID))(t).Chart) != "{}" {
		t.Fatalf("a query saved without a chart reads back %s, want {}", b.Chart)
	}
	list := must(s.ListSavedQueries(ctx))(t)
	if len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID {
		t.Fatalf("list = %+v, want by name", list)
	}

	c.Advance(time.Minute)
	upd := must(s.UpdateSavedQuery(ctx, store.SavedQuery{ID: a.ID, Name: "Revenue", ConnectorID: "c3", SQL: "SELECT 3",
		Chart: json.RawMessage(`{"type":"line"}`), UpdatedBy: "carl"}))(t)
	if upd.Name != "Revenue" || upd.SQL != "SELECT 3" || upd.ConnectorID != "c3" || upd.UpdatedBy != "carl" || upd.CreatedBy != "ann" ||
		!upd.UpdatedAt.After(upd.CreatedAt) {
		t.Fatalf("updated = %+v", upd)
	}
	_, err = s.UpdateSavedQuery(ctx, store.SavedQuery{ID: b.ID, Name: "revenue", ConnectorID: "c3", SQL: "SELECT 3"})
	wantConflict(t, err, "name")
	_, err = s.UpdateSavedQuery(ctx, store.SavedQuery{ID: "missing", Name: "y", ConnectorID: "c3", SQL: "SELECT 3"})
	wantErr(t, err, store.ErrNotFound)

	if err := s.DeleteSavedQuery(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetSavedQuery(ctx, a.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteSavedQuery(ctx, a.ID), store.ErrNotFound)
}

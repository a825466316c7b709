package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlaceholders(t *testing.T) {
	t.Parallel()
	for n, want := range []string{"", "$1", "$1, $2", "$1, $2, $3"} {
		if got := placeholders(n); got != want {
			t.Errorf("placeholders(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestWhereFilters checks that the filter helpers add a condition only for a set field and number
// the placeholders in the order the conditions are added.
func TestWhereFilters(t *testing.T) {
	t.Parallel()
	s := &Store{dialect: SQLite}
	from := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var w where
	w.eq(`run_id`, "")
	w.eq(`source`, "csv")
	whereIn(&w, `status`, []RunStatus{})
	whereIn(&w, `status`, []RunStatus{RunQueued, RunFailed})
	s.timeRange(&w, `time`, from, time.Time{})
	s.timeRange(&w, `created_at`, time.Time{}, time.Time{})
	if want := ` WHERE source = $1 AND status IN ($2, $3) AND time >= $4`; w.sql() != want {
		t.Errorf("sql = %q, want %q", w.sql(), want)
	}
	if diff := cmp.Diff([]any{"csv", "queued", "failed", "2024-01-02T03:04:05.000000Z"}, w.args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

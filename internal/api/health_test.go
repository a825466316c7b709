package api

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHealthzReportsTheBuild(t *testing.T) {
	e := setup(t, setupOptions{})
	r := e.do(http.MethodGet, "/healthz", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	var got map[string]string
	r.decode(t, &got)
	want := map[string]string{"status": "ok", "version": "test", "commit": "3f2c1e9a0b7d", "date": "2026-12-06T07:00:00Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("healthz body (-want +got):\n%s", diff)
	}
}

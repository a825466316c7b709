package diskusage_test

import (
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/diskusage"
)

func TestOf(t *testing.T) {
	t.Parallel()
	u, err := diskusage.Of(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if u.Total == 0 || u.Free > u.Total || u.Used > u.Total {
		t.Fatalf("implausible usage %+v", u)
	}
	if _, err := diskusage.Of(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing path: want an error")
	}
}

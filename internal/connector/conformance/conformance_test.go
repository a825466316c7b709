package conformance_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/google/uuid"
)

func harness(fault string) conformance.Harness {
	conn := newMem(fault)
	kinds := map[record.Kind]conformance.Expect{}
	for _, k := range record.Kinds() {
		kinds[k] = conformance.Exact(k)
	}
	if fault == "refuse_json" {
		kinds[record.KindJSON] = conformance.Unsupported("the memory store refuses json in this test")
	}
	return conformance.Harness{
		Connector: conn,
		NewTarget: func(t *testing.T) conformance.Target {
			cfg := map[string]any{"table": "t_" + uuid.NewString()}
			return conformance.Target{Source: cfg, Dest: cfg}
		},
		Kinds:     kinds,
		LargeRows: 12_000,
		BadConfigs: []conformance.BadConfig{
			{Name: "empty_table", Config: func(conformance.Target) map[string]any { return map[string]any{"table": ""} }, Want: "table"},
		},
	}
}

// A correct connector passes the whole suite (and one that refuses a declared-unsupported kind too).
func TestMemoryConnectorPasses(t *testing.T) {
	t.Parallel()
	conformance.Run(t, harness(""))
	t.Run("unsupported kind declared", func(t *testing.T) { conformance.Run(t, harness("refuse_json")) })
}

// Each fault must make the suite fail, in the case that checks it. The faulty runs happen in a child
// test process, so that their failures are observed rather than reported.
func TestSuiteCatchesFaults(t *testing.T) {
	if fault := os.Getenv("CONFORMANCE_FAULT"); fault != "" {
		conformance.Run(t, harness(fault))
		return
	}
	t.Parallel()
	cases := []struct{ fault, failing, message string }{
		{"lose_nulls", "RoundTrip", `got string "", want null`},
		{"ignore_batch_size", "LargeStream", "asked for at most 1000"},
		{"ignore_cancel", "Cancel", "want an error wrapping context.Canceled"},
		{"stale_state", "ResumeRead", "read 13007 rows, want 10007"},
		{"overwrite_early", "WriteModes/overwrite", "read 4 rows, want 5"},
		{"ignore_resume_token", "ResumeWrite/append", "read 16 rows, want 13 (ids 101..113)"},
	}
	for _, c := range cases {
		t.Run(c.fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesFaults$", "-test.v")
			cmd.Env = append(os.Environ(), "CONFORMANCE_FAULT="+c.fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a connector with fault %s", c.fault)
			}
			if !strings.Contains(string(out), "--- FAIL: TestSuiteCatchesFaults/"+c.failing) {
				t.Errorf("fault %s did not fail case %s:\n%s", c.fault, c.failing, tail(out))
			}
			if !strings.Contains(string(out), c.message) {
				t.Errorf("fault %s: output lacks %q:\n%s", c.fault, c.message, tail(out))
			}
		})
	}
}

func tail(b []byte) string {
	s := string(b)
	if len(s) > 3000 {
		s = s[len(s)-3000:]
	}
	return s
}

// A harness that leaves a kind undeclared is refused before anything runs.
func TestHarnessMustDeclareEveryKind(t *testing.T) {
	if os.Getenv("CONFORMANCE_UNDECLARED") == "1" {
		h := harness("")
		delete(h.Kinds, record.KindBytes)
		conformance.Run(t, h)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHarnessMustDeclareEveryKind$")
	cmd.Env = append(os.Environ(), "CONFORMANCE_UNDECLARED=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Kinds does not declare how bytes round-trips") {
		t.Fatalf("undeclared kind not refused: %v\n%s", err, tail(out))
	}
}

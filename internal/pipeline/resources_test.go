package pipeline

import (
	"strings"
	"testing"
)

func TestResources(t *testing.T) {
	t.Parallel()
	spec := func(res string) string {
		return "version: 1\nname: p\nsources: [{id: s, type: csv, config: {path: a.csv}}]\ndestinations: [{id: d, type: csv, inputs: [s], config: {path: b.csv}}]\n" + res
	}
	for _, tt := range []struct {
		name, res string
		want      int64
		err       string
	}{
		{"absent", "", 0, ""},
		{"set", "resources: {memory_mb: 256}\n", 256, ""},
		{"zero", "resources: {memory_mb: 0}\n", 0, "resources.memory_mb: must be from 1 to 1048576 MiB, got 0"},
		{"fraction", "resources: {memory_mb: 1.5}\n", 0, "resources.memory_mb: must be a whole number of MiB from 1 to 1048576, got a number"},
		{"text", "resources: {memory_mb: lots}\n", 0, `resources.memory_mb: must be a whole number of MiB from 1 to 1048576, got the string "lots"`},
		{"unknown key", "resources: {cpu: 2}\n", 0, `resources.cpu: unknown field "cpu" (allowed: memory_mb)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(spec(tt.res)))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got int64
			if s.Resources != nil {
				got = s.Resources.MemoryMB
			}
			if got != tt.want {
				t.Errorf("memory_mb = %d, want %d", got, tt.want)
			}
		})
	}
}

//go:build pprof

package main

// Built with -tags pprof (benchmarks only, never a release): the process
// serves net/http/pprof on 127.0.0.1:6060 so bench/api.sh (PPROF=file) can
// take a CPU profile of a running server. See docs/benchmarks.md.

import (
	"net/http"
	_ "net/http/pprof" //nolint:gosec // loopback only, benchmark builds only
)

func init() {
	go func() { _ = http.ListenAndServe("127.0.0.1:6060", nil) }()
}

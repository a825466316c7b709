#!/usr/bin/env bash
# Dashboard first render with 1,000 pipelines and 100,000 runs in the store (bench/dashboard/render.mjs
# says how it seeds and measures). Needs a binary with the web app embedded (make build) and
# web/node_modules (npm ci in web/). Environment: BIN, PIPELINES, RUNS, REPEAT, BENCH_DIR, CHROMIUM.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sqlite3 > /dev/null || { echo "bench/dashboard.sh: sqlite3 is needed" >&2; exit 1; }
[ -d web/node_modules/playwright-core ] || { echo "bench/dashboard.sh: run npm ci in web/ first" >&2; exit 1; }
echo "commit $(git rev-parse --short HEAD), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec node bench/dashboard/render.mjs

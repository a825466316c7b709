// Runs every end-to-end test file (e2e/*.test.mjs) with node's test runner, one file at a time.
// E2E_CONCURRENCY=2 runs two at a time (each file starts its own server, data directory, store schema
// and browser): 169-210 s instead of 277 s for the 48 tests on one 2-core machine, 354-371 s instead of
// 432 s on another. Before connectNodes waited for the handles to stand still, the journey test's first
// edge did not appear after its drag once in five full runs; three runs passed since. Not the default yet.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = path.dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.mjs') && (!only.length || only.some((o) => f.includes(o))))
  .map((f) => path.join(dir, f))
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${process.env.E2E_CONCURRENCY || 1}`, '--test-reporter=spec', ...files], { stdio: 'inherit' })
process.exit(r.status ?? 1)

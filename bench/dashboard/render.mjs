// Dashboard first render under a large store: `aggregator serve` on a fresh SQLite store with
// PIPELINES pipelines (saved through the API, every tenth with an hourly schedule) and RUNS finished
// runs spread over the last 30 days (inserted with sqlite3 straight into pipeline_runs: 90 % succeeded,
// 8 % failed, 2 % cancelled), then headless chromium (playwright-core, /usr/bin/chromium) opens `/`
// signed in (the session restored from its refresh cookie) REPEAT times in a fresh tab and reports the
// time from navigation start until every widget on the board has its data drawn (no widget loading).
// Environment: BIN (bin/aggregator), PIPELINES (1000), RUNS (100000), REPEAT (7), BENCH_DIR
// (/tmp/aggregator-bench-dashboard), CHROMIUM (/usr/bin/chromium).
import { spawn, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdirSync, rmSync, readFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const { chromium } = createRequire(path.join(repo, 'web/package.json'))('playwright-core')
const BIN = path.resolve(repo, process.env.BIN ?? 'bin/aggregator')
const PIPELINES = Number(process.env.PIPELINES ?? 1000)
const RUNS = Number(process.env.RUNS ?? 100_000)
const REPEAT = Number(process.env.REPEAT ?? 7)
const DIR = process.env.BENCH_DIR ?? '/tmp/aggregator-bench-dashboard'
const PASSWORD = 'bench-Password-1234'

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port
    s.close(() => resolve(p))
  })
})
rmSync(DIR, { recursive: true, force: true })
mkdirSync(path.join(DIR, 'data'), { recursive: true })
const server = spawn(BIN, ['serve'], {
  env: { ...process.env, DATA_DIR: path.join(DIR, 'data'), PORT: String(port), ADMIN_PASSWORD: PASSWORD, API_RATE_LIMIT: '0', RUN_WORKERS: '0', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
})
const stop = () => server.kill('SIGTERM')
process.on('exit', stop)
const base = `http://127.0.0.1:${port}`
for (let i = 0; ; i++) {
  try {
    if ((await fetch(base + '/readyz')).ok) break
  } catch { /* not up yet */ }
  if (i > 300) throw new Error('the server did not become ready in 30 s')
  await new Promise((r) => setTimeout(r, 100))
}
const login = await (await fetch(base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: PASSWORD }) })).json()
const token = login.access_token

// Pipelines through the API, 8 at a time.
const example = readFileSync(path.join(repo, 'examples/customers-clean.yaml'), 'utf8')
let next = 0
await Promise.all(Array.from({ length: 8 }, async () => {
  for (let i = next++; i < PIPELINES; i = next++) {
    let y = example.replace(/^name: .*$/m, `name: bench-${String(i).padStart(4, '0')}`)
    if (i % 10 === 0) y = y.replace(/^error_policy:/m, 'schedule: {cron: "0 * * * *", timezone: UTC}\nerror_policy:')
    const r = await fetch(base + '/api/v1/pipelines', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/yaml' }, body: y })
    if (r.status !== 201) throw new Error(`save pipeline ${i}: ${r.status} ${await r.text()}`)
  }
}))

// Runs straight into the store: one INSERT ... SELECT over a recursive counter.
const sql = `.timeout 30000
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${RUNS - 1}),
p AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM pipelines),
pc AS (SELECT COUNT(*) AS c FROM pipelines),
r AS (
  SELECT n.i, p.id AS pid,
         CASE WHEN n.i % 50 = 7 THEN 'cancelled' WHEN n.i % 25 IN (3, 11) THEN 'failed' ELSE 'succeeded' END AS status,
         strftime('%s', 'now') - (n.i * 2592000 / ${RUNS}) AS t
  FROM n JOIN pc JOIN p ON p.k = n.i % pc.c
)
INSERT INTO pipeline_runs (id, pipeline_id, pipeline_version, status, run_trigger, error, node_stats, attempt, created_at, updated_at, started_at, finished_at)
SELECT printf('bench%010d', i), pid, 1, status, 'manual', CASE status WHEN 'failed' THEN 'bench: seeded failure' ELSE '' END,
       '[{"id":"src","kind":"source","type":"csv","in":0,"out":5000,"rejected":0},{"id":"out","kind":"destination","type":"ndjson","in":5000,"out":5000,"rejected":12}]',
       1,
       strftime('%Y-%m-%dT%H:%M:%SZ', t, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%SZ', t + 40, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M:%SZ', t + 1, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%SZ', t + 40, 'unixepoch')
FROM r;
SELECT COUNT(*) FROM pipeline_runs;
`
const counted = execFileSync('sqlite3', [path.join(DIR, 'data/aggregator.db')], { input: sql }).toString().trim()
console.error(`seeded ${PIPELINES} pipelines and ${counted} runs`)

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] })
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
const first = await context.newPage()
await first.goto(base + '/sign-in')
await first.getByRole('textbox', { name: 'Username or email' }).fill('admin')
await first.getByLabel('Password').fill(PASSWORD)
await first.getByRole('button', { name: 'Sign in' }).click()
await first.getByRole('navigation', { name: 'Main' }).waitFor()
await first.close()

// Every widget of the board present and none loading; charts drawn where the widget has a chart.
const rendered = () => {
  const ws = [...document.querySelectorAll('[data-widget]')]
  return ws.length >= 8 && ws.every((w) => !w.querySelector('[aria-busy="true"]')) ? performance.now() : false
}
const times = []
for (let i = 0; i < REPEAT; i++) {
  const page = await context.newPage()
  await page.goto(base + '/')
  const h = await page.waitForFunction(rendered, null, { timeout: 120_000, polling: 'raf' })
  const ms = await h.jsonValue()
  const errors = await page.locator('[data-widget] [role="alert"]').count()
  if (errors) throw new Error(`${errors} widgets show an error:\n${await page.locator('[data-widget] [role="alert"]').allInnerTexts()}`)
  times.push(ms)
  await page.close()
}
await browser.close()
stop()
times.sort((a, b) => a - b)
const f = (x) => `${Math.round(x)} ms`
console.log(`dashboard first render (${PIPELINES} pipelines, ${RUNS} runs, SQLite, ${REPEAT} loads): min ${f(times[0])}, median ${f(times[Math.floor(times.length / 2)])}, max ${f(times.at(-1))}; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)

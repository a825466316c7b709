// Bounded memory end to end: a pipeline whose dedup keeps the last row of 150,000 keys under a
// budget of 1 MiB (resources.memory_mb) spills to disk; while it runs, the run page shows the node's
// state and spill chip and the queues between nodes; it succeeds with one row per key, the chip
// keeps the spilled figure, and the spill directory under DATA_DIR is empty again. The rows come
// from a local REST API (a node http server on 127.0.0.1) that holds back its last page until the
// page has been checked, so the run is still running whatever the machine's speed.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import path from 'node:path'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

let server, browser, api, apiURL
let releaseLast
const lastPageReleased = new Promise((res) => { releaseLast = res })
let lastPageAsked
const lastPageRequested = new Promise((res) => { lastPageAsked = res })

const ROWS = 600_000
const KEYS = 150_000

const PAGE = 50_000
const PAGES = ROWS / PAGE

before(async () => {
  // /updates?page=N serves rows (N-1)*PAGE .. N*PAGE-1; the last page waits for releaseLast.
  api = http.createServer(async (req, res) => {
    const page = Number(new URL(req.url, 'http://x').searchParams.get('page') ?? '1')
    if (page === PAGES) {
      lastPageAsked()
      await lastPageReleased
    }
    const data = []
    for (let i = (page - 1) * PAGE; i < page * PAGE; i++) {
      data.push({ id: (i * 7919) % KEYS, seq: i, name: `customer-${(i * 7) % 100000}`, amount: (i % 1000) + 0.25 })
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ data, next: page < PAGES ? `/updates?page=${page + 1}` : null }))
  })
  await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve))
  apiURL = `http://127.0.0.1:${api.address().port}`
  server = await startServer({ env: { ALLOWED_OUTBOUND_HOSTS: '127.0.0.1' } })
  browser = await startBrowser()
})
after(async () => {
  releaseLast()
  await browser?.close()
  await server?.stop()
  api?.close()
})

test('a dedup over more keys than its budget spills, shows it on the run page and completes', async () => {
  const outFile = path.join(server.dataDir, 'latest.ndjson')
  const p = await server.createPipeline(`version: 1
name: latest-customers
sources:
  - id: updates
    type: rest
    config: {url: "${apiURL}/updates", records_path: data, pagination: {type: next_url, path: next}, connect_timeout: 600}
transforms:
  - {id: latest, type: dedup, inputs: [updates], config: {key: [id], keep: last}}
destinations:
  - {id: out, type: ndjson, inputs: [latest], config: {path: ${JSON.stringify(outFile)}}, write: {mode: overwrite}}
resources: {memory_mb: 1}
`)
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  page.setDefaultTimeout(120_000)
  await signIn(page, server.base, 'admin')
  const run = await server.api('POST', `/api/v1/pipelines/${p.id}/run`)
  await page.goto(`${server.base}/runs/${run.id}`)
  // The last page is held back: the run runs until the page has been checked.
  await lastPageRequested
  const chip = page.getByRole('img', { name: /^latest: .* of state in memory, .* spilled to disk$/ })
  await chip.waitFor()
  await page.getByRole('meter', { name: 'Queue from updates to latest' }).waitFor()
  await page.getByText(/spilled/).first().waitFor()
  await screenshot(page, 'run-spill', 'light')
  releaseLast()

  await page.getByText('Succeeded').first().waitFor()
  const done = await server.api('GET', `/api/v1/runs/${run.id}`)
  const node = done.nodes.find((n) => n.id === 'latest')
  assert.ok(node.spilled_bytes > 0, `spilled ${node.spilled_bytes} bytes`)
  assert.equal(node.out, KEYS)
  await page.getByRole('img', { name: /^latest: 0 B of state in memory, .* spilled to disk$/ }).waitFor()
  const lines = readFileSync(outFile, 'utf8').trim().split('\n')
  assert.equal(lines.length, KEYS)
  const spill = path.join(server.dataDir, 'spill')
  assert.deepEqual(existsSync(spill) ? readdirSync(spill) : [], [], 'spill directory left behind')
  await page.close()
})

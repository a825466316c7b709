// Bounded memory end to end: a pipeline whose dedup keeps the last row of 150,000 keys under a
// budget of 1 MiB (resources.memory_mb) spills to disk; while it runs, the run page shows the node's
// state and spill chip and the queues between nodes; it succeeds with one row per key, the chip
// keeps the spilled figure, and the spill directory under DATA_DIR is empty again.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createWriteStream, readFileSync, readdirSync, existsSync } from 'node:fs'
import path from 'node:path'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

let server, browser
before(async () => {
  server = await startServer()
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

const ROWS = 600_000
const KEYS = 150_000

async function writeCSV(file) {
  const out = createWriteStream(file)
  out.write('id,seq,name,amount\n')
  for (let i = 0; i < ROWS; i++) {
    if (!out.write(`${(i * 7919) % KEYS},${i},customer-${(i * 7) % 100000},${i % 1000}.25\n`)) {
      await new Promise((res) => out.once('drain', res))
    }
  }
  await new Promise((res) => out.end(res))
}

test('a dedup over more keys than its budget spills, shows it on the run page and completes', async () => {
  const csv = path.join(server.dataDir, 'updates.csv')
  const outFile = path.join(server.dataDir, 'latest.ndjson')
  await writeCSV(csv)
  const p = await server.createPipeline(`version: 1
name: latest-customers
sources:
  - {id: updates, type: csv, config: {path: ${JSON.stringify(csv)}}}
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
  const chip = page.getByRole('img', { name: /^latest: .* of state in memory, .* spilled to disk$/ })
  await chip.waitFor()
  await page.getByRole('meter', { name: 'Queue from updates to latest' }).waitFor()
  await page.getByText(/spilled/).first().waitFor()
  await screenshot(page, 'run-spill', 'light')

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

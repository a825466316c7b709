// Administration > System logs and System: a run started through the API is followed by its request
// id to the API call's log lines, its audit entry, the run and that run's log lines; the System page
// shows the health of the store, workers, queue and disk, and runs a clean-up.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

let server, browser
before(async () => {
  // Info level: the API's access lines are what the trace starts from (the harness default is warn).
  server = await startServer({ env: { LOG_LEVEL: 'info' } })
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

async function newPage(opts) {
  const p = await browser.newPage(opts)
  p.setDefaultTimeout(40_000)
  return p
}

async function waitRun(id) {
  for (let i = 0; i < 300; i++) {
    const r = await server.api('GET', `/api/v1/runs/${id}`)
    if (['failed', 'cancelled', 'succeeded'].includes(r.status)) return r
    await new Promise((res) => setTimeout(res, 100)) // polling the API, not the page
  }
  assert.fail(`run ${id} did not finish`)
}

test('a request id leads from the system logs to its audit entry, the run it started and the run log', async () => {
  const csv = path.join(server.dataDir, 'sys-people.csv')
  writeFileSync(csv, 'id,name\n1,Ada\n2,Grace\n')
  const p = await server.createPipeline(`version: 1
name: sys-people
sources:
  - id: people
    type: csv
    config: {path: ${JSON.stringify(csv)}}
destinations:
  - id: out
    type: ndjson
    inputs: [people]
    config: {path: ${JSON.stringify(path.join(server.dataDir, 'sys-people.ndjson'))}}
`)
  const started = await server.api('POST', `/api/v1/pipelines/${p.id}/run`, {})
  assert.ok(started.request_id, 'the run carries the request that started it')
  const run = await waitRun(started.id)
  assert.equal(run.status, 'succeeded')

  const page = await newPage({ height: 1100 })
  await signIn(page, server.base, 'admin', undefined, `/admin/system-logs?request_id=${encodeURIComponent(started.request_id)}`)
  await page.getByRole('heading', { name: 'System logs' }).waitFor()
  // The API call's own log line is kept with its request id; its id opens the trace.
  await page.getByRole('button', { name: `Follow request ${started.request_id}` }).first().click()
  const drawer = page.getByRole('dialog')
  await drawer.getByRole('region', { name: 'Audit entry' }).getByText('pipeline.run').waitFor()
  await drawer.getByRole('region', { name: 'Started run' }).getByRole('link', { name: `Run ${started.id.slice(0, 8)}` }).waitFor()
  const lines = drawer.getByRole('region', { name: 'Run log lines' })
  await lines.getByRole('listitem').first().waitFor()
  assert.ok((await lines.getByRole('listitem').count()) > 0)
  await screenshot(page, 'system-logs-trace')
  await page.close()
})

test('the System page shows health and build, and cleans up now', async () => {
  const page = await newPage({ height: 1100 })
  await signIn(page, server.base, 'admin', undefined, '/admin/system')
  await page.getByRole('heading', { name: 'System', exact: true }).waitFor()
  for (const card of ['Metadata store', 'Workers', 'Run queue', 'Disk of DATA_DIR']) {
    await page.getByRole('region', { name: card }).waitFor()
  }
  await page.getByRole('meter', { name: 'Disk used' }).waitFor()
  await page.getByRole('heading', { name: 'Version and build' }).waitFor()
  await screenshot(page, 'system')
  await page.getByRole('button', { name: 'Clean up now' }).click()
  await page.getByText(/items removed|Nothing was old enough to remove/).first().waitFor()
  await page.close()
})

// The scaled-out shape seen from the Workers page: an API node (serve, RUN_WORKERS=0) and two
// `aggregator worker` processes on one PostgreSQL store.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

let server, browser
before(async () => {
  server = await startServer({ postgres: true, env: { RUN_WORKERS: '0' } })
  browser = await startBrowser()
  writeFileSync(path.join(server.dataDir, 'in.csv'), 'id,name\n1,a\n2,b\n3,c\n')
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

const stat = (page, label) => page.locator('p', { hasText: label }).locator('xpath=following-sibling::p')

test('workers page: none, then two worker processes with their slots, a run on one of them, then one stopped', async () => {
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, '/workers')
  // The API node executes nothing: the page says how to start a worker.
  await page.getByText('No worker is running').waitFor()

  const a = server.startWorker(['--concurrency', '2'])
  const b = server.startWorker(['--concurrency', '3'])
  const rowA = page.getByRole('row', { name: new RegExp(`^Worker \\S+ ${a.pid}$`) })
  const rowB = page.getByRole('row', { name: new RegExp(`^Worker \\S+ ${b.pid}$`) })
  // The page refreshes itself (every five seconds): no reload.
  await rowA.getByText('Alive', { exact: true }).waitFor({ timeout: 20_000 })
  await rowB.getByText('Alive', { exact: true }).waitFor({ timeout: 20_000 })
  assert.equal(await stat(page, 'Live workers').innerText(), '2')
  assert.equal(await stat(page, 'Runs executing').innerText(), '0 of 5 slots')
  assert.equal(await rowA.getByTestId('running').innerText(), '0 / 2')
  assert.equal(await rowB.getByTestId('running').innerText(), '0 / 3')
  for (const row of [rowA, rowB]) {
    await row.getByText('runs', { exact: true }).waitFor()
    await row.getByText('maintenance', { exact: true }).waitFor()
  }

  // A run queued by the API node is executed by one of the two workers; its attempt names it.
  const p = await server.createPipeline(`version: 1
name: spread
sources:
  - {id: in, type: csv, config: {path: in.csv}}
destinations:
  - {id: out, type: csv, inputs: [in], config: {path: out.csv}}
`)
  const run = await server.api('POST', `/api/v1/pipelines/${p.id}/run`, {})
  let done
  for (const end = Date.now() + 30_000; ; ) {
    done = await server.api('GET', `/api/v1/runs/${run.id}`)
    if (['succeeded', 'failed', 'cancelled'].includes(done.status)) break
    if (Date.now() > end) throw new Error(`run still ${done.status} after 30 s`)
    await new Promise((r) => setTimeout(r, 200))
  }
  assert.equal(done.status, 'succeeded', done.error)
  const workers = (await server.api('GET', '/api/v1/workers')).items
  const ran = workers.find((w) => w.id === done.attempts[0].worker_id)
  assert.ok(ran && [a.pid, b.pid].includes(ran.pid), `the attempt's worker ${done.attempts[0].worker_id} is one of the two`)
  await screenshot(page, 'workers')

  // A worker stopped with SIGTERM says so; the other keeps working.
  await a.stop()
  await rowA.getByText('Stopped', { exact: true }).waitFor({ timeout: 20_000 })
  await rowA.getByText(/^stopped /).waitFor()
  assert.equal(await rowB.getByText('Alive', { exact: true }).count(), 1)
  assert.equal(await stat(page, 'Live workers').innerText(), '1')
  // The stopped row sorts below the live one.
  const rows = page.getByRole('table', { name: 'Workers' }).getByRole('row')
  assert.match((await rows.nth(1).getAttribute('aria-label')) ?? '', new RegExp(`${b.pid}$`))
  assert.deepEqual(page.consoleErrors, [])
})

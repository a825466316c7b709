// A partitioned run on the scaled-out shape: an API node (serve, RUN_WORKERS=0) and two `aggregator
// worker` processes copy a PostgreSQL table in key-range chunks; the run page shows the chunks live
// (status colours, rows, worker) and all of them succeeded at the end.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

const ROWS = 400_000
let server, browser
before(async () => {
  server = await startServer({ postgres: true, env: { RUN_WORKERS: '0' } })
  browser = await startBrowser()
  const s = server.pg.schema
  server.pg.sql(`CREATE TABLE ${s}.src (id BIGINT PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(14,2) NOT NULL);
    INSERT INTO ${s}.src SELECT g, 'customer ' || g, (g % 1000) * 1.25 FROM generate_series(1, ${ROWS}) g`)
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

test('run page: the chunks of a partitioned run, live, spread over two workers', async () => {
  const page = await browser.newPage()
  await page.setViewportSize({ width: 1440, height: 1100 })
  server.startWorker(['--concurrency', '1'])
  server.startWorker(['--concurrency', '1'])
  // the credentials live in saved connectors; the partitioned read is the source connector's config
  const url = server.pg.url
  await server.api('POST', '/api/v1/connectors', { name: 'orders-db', type: 'postgres', config: { url, table: 'src', partition: { key: 'id', chunks: 12 } } })
  await server.api('POST', '/api/v1/connectors', { name: 'warehouse', type: 'postgres', config: { url, table: 'dst' } })
  const p = await server.createPipeline(`version: 1
name: orders-partitioned
sources:
  - {id: orders, connector: orders-db}
destinations:
  - {id: warehouse, connector: warehouse, inputs: [orders], write: {mode: upsert, key: [id]}}
`)
  // wait for both workers, then start the run
  for (const end = Date.now() + 20_000; ; ) {
    const ws = (await server.api('GET', '/api/v1/workers')).items.filter((w) => w.status === 'alive' || !w.stopped_at)
    if (ws.length >= 2) break
    if (Date.now() > end) throw new Error('the two workers did not register')
    await new Promise((r) => setTimeout(r, 200))
  }
  const run = await server.api('POST', `/api/v1/pipelines/${p.id}/run`, {})
  await signIn(page, server.base, 'admin', undefined, `/runs/${run.id}`)
  const grid = page.getByRole('list', { name: 'Chunks' })
  await grid.waitFor({ timeout: 30_000 })
  assert.equal(await grid.getByRole('listitem').count(), 12)
  // live: a chunk succeeds while others still run or wait (no reload)
  await grid.getByRole('listitem').filter({ hasText: 'Succeeded' }).first().waitFor({ timeout: 60_000 })
  if ((await page.getByRole('progressbar', { name: 'Chunks ended' }).getAttribute('aria-valuenow')) !== '12') {
    await screenshot(page, 'run-chunks-live')
  }
  await page.getByRole('progressbar', { name: 'Chunks ended' }).and(page.locator('[aria-valuenow="12"]')).waitFor({ timeout: 120_000 })
  await page.getByText('Succeeded', { exact: true }).first().waitFor()
  for (let i = 0; i < 12; i++) {
    await grid.getByRole('listitem', { name: `Chunk ${i}`, exact: true }).getByText('Succeeded').waitFor({ timeout: 20_000 })
  }
  const done = await server.api('GET', `/api/v1/runs/${run.id}`)
  assert.equal(done.status, 'succeeded', done.error)
  const workers = new Set(done.chunks.map((c) => c.worker_id))
  assert.equal(workers.size, 2, `chunks ran on ${[...workers].join(', ')}`)
  assert.equal(done.chunks.reduce((n, c) => n + c.rows_read, 0), ROWS)
  await page.getByRole('list', { name: 'Chunks' }).scrollIntoViewIfNeeded()
  await screenshot(page, 'run-chunks')
  assert.deepEqual(page.consoleErrors, [])
})

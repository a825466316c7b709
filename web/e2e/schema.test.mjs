// Schema changes under review, as a new user meets them: a PostgreSQL source gains a column and has a
// column retyped between two runs; the second run pauses "Awaiting approval", the run page's
// "Review changes" dialog shows both changes, and after approval the destination has the new column
// and the run completed. The builder's destination panel offers the policy.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

let server, browser
before(async () => {
  server = await startServer({ postgres: true })
  browser = await startBrowser()
  const s = server.pg.schema
  server.pg.sql(`CREATE TABLE ${s}.orders (id BIGINT PRIMARY KEY, qty INTEGER NOT NULL);
    INSERT INTO ${s}.orders SELECT g, g * 10 FROM generate_series(1, 20) g`)
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

async function waitRun(id, ok, what) {
  for (const end = Date.now() + 60_000; ; ) {
    const r = await server.api('GET', `/api/v1/runs/${id}`)
    if (ok(r)) return r
    if (Date.now() > end) throw new Error(`run ${id}: no ${what} within 60s (status ${r.status}: ${r.error})`)
    await new Promise((res) => setTimeout(res, 200))
  }
}

test('review: a column added and a column retyped are approved from the run page', async () => {
  const s = server.pg.schema
  // the credentials live in saved connectors (a pipeline may not hold them)
  const url = server.pg.url
  await server.api('POST', '/api/v1/connectors', { name: 'orders-db', type: 'postgres', config: { url, table: 'orders' } })
  await server.api('POST', '/api/v1/connectors', { name: 'warehouse', type: 'postgres', config: { url, table: 'orders_copy' } })
  const p = await server.createPipeline(`version: 1
name: orders-reviewed
sources:
  - {id: orders, connector: orders-db}
destinations:
  - {id: warehouse, connector: warehouse, inputs: [orders], write: {mode: append, schema_changes: review}}
`)
  const first = await server.api('POST', `/api/v1/pipelines/${p.id}/run`, {})
  await waitRun(first.id, (r) => r.status === 'succeeded', 'success of the first run')

  server.pg.sql(`ALTER TABLE ${s}.orders ADD COLUMN note TEXT; ALTER TABLE ${s}.orders ALTER COLUMN qty TYPE NUMERIC(12,2);
    DELETE FROM ${s}.orders; INSERT INTO ${s}.orders VALUES (21, 12.5, 'gift wrap'), (22, 30, NULL)`)
  const second = await server.api('POST', `/api/v1/pipelines/${p.id}/run`, {})
  const paused = await waitRun(second.id, (r) => r.status === 'awaiting_approval' || r.status === 'failed', 'pause')
  assert.equal(paused.status, 'awaiting_approval', paused.error)

  const page = await browser.newPage()
  await page.setViewportSize({ width: 1440, height: 1000 })
  await signIn(page, server.base, 'admin', undefined, `/runs/${second.id}`)
  await page.getByText('Awaiting approval', { exact: true }).first().waitFor()
  await page.getByRole('status').filter({ hasText: 'Awaiting approval' }).waitFor()
  await screenshot(page, 'schema-awaiting-approval')
  await page.getByRole('button', { name: 'Review changes' }).click()
  const dialog = page.getByRole('dialog', { name: 'Review changes' })
  const table = dialog.getByRole('table', { name: 'Schema changes' })
  const noteRow = table.getByRole('row').filter({ hasText: 'note' })
  await noteRow.getByText('Column added').waitFor()
  const qtyRow = table.getByRole('row').filter({ hasText: 'qty' })
  await qtyRow.getByText('Type widened').waitFor()
  assert.match(await qtyRow.innerText(), /int[\s\S]*numeric\(12,2\)/)
  await dialog.getByRole('textbox', { name: 'Comment' }).fill('New note column from the shop; qty now has cents')
  await screenshot(page, 'schema-review-dialog')
  await dialog.getByRole('button', { name: 'Approve' }).click()
  await dialog.waitFor({ state: 'detached' })

  const done = await waitRun(second.id, (r) => r.status === 'succeeded' || r.status === 'failed', 'end after approval')
  assert.equal(done.status, 'succeeded', done.error)
  assert.equal(done.schema_review.status, 'approved')
  assert.equal(done.schema_review.comment, 'New note column from the shop; qty now has cents')
  assert.equal(server.pg.sql(`SELECT note || ' ' || qty FROM ${s}.orders_copy WHERE id = 21`).trim(), 'gift wrap 12.50')
  await page.getByText('Succeeded', { exact: true }).first().waitFor({ timeout: 30_000 })
  await page.getByText(/approved by admin/).first().waitFor()
  await screenshot(page, 'schema-approved')

  const audit = await server.api('GET', '/api/v1/audit-logs?action=run.schema_review.approve')
  assert.ok((audit.items ?? []).some((a) => a.target_id === second.id), 'the approval is in the audit log')

  // the builder's destination panel offers the policy
  await page.goto(`${server.base}/pipelines/${p.id}`)
  await page.getByRole('group', { name: /Destination warehouse/ }).click()
  const policy = page.getByRole('combobox', { name: 'Schema changes' })
  await policy.waitFor()
  assert.equal(await policy.inputValue(), 'review')
  await screenshot(page, 'schema-builder-policy')
  assert.deepEqual(page.consoleErrors, [])
})

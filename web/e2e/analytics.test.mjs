// Analytics queries as a designer would use them: a PostgreSQL table (in a schema of this test), a
// saved postgres connector, a query typed in the editor and run with Ctrl+Enter, its result as a
// table and a line chart, saved with its chart and opened again from the list. A write is refused
// with PostgreSQL's message. The result exports: the unsaved query as CSV (the ad-hoc export), the
// saved one as Excel and Parquet (named after it), each file checked byte for byte and by its rows.
// Screenshots of the chart and the table, light and dark.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

const schema = `analytics_e2e_${process.pid}`
let server, browser

function psql(sql) {
  execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: 'pipe' })
}

before(async () => {
  psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};
    CREATE TABLE ${schema}.revenue (month date, region text, orders int, revenue numeric(12,2));
    INSERT INTO ${schema}.revenue
      SELECT make_date(2026, m, 1), r, 40 + m * 3 + length(r), round((1000 + m * 137.5 + length(r) * 90)::numeric, 2)
      FROM generate_series(1, 12) m, unnest(ARRAY['north', 'south']) r;`)
  server = await startServer()
  browser = await startBrowser()
  await server.api('POST', '/api/v1/connectors', { name: 'warehouse', type: 'postgres', config: { host: '127.0.0.1', user: 'postgres', database: 'test' } })
})
after(async () => {
  await browser?.close()
  await server?.stop()
  try {
    psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } catch {
    /* the schema goes with the next run */
  }
})

const SQL = `SELECT month, sum(orders) AS orders, sum(revenue) AS revenue FROM ${schema}.revenue GROUP BY month ORDER BY month`

/** Clicks Export result > item and returns the saved file's name and bytes. */
async function exportAs(page, item) {
  await page.getByRole('button', { name: 'Export result' }).click()
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: item }).click()])
  const file = await dl.path()
  assert.ok(file, `the ${item} download failed: ${await dl.failure()}`)
  return { name: dl.suggestedFilename(), bytes: readFileSync(file), file }
}

/** The rows of a Parquet file, read back through the aggregator's own Parquet connector (preview). */
function parquetRows(bytes) {
  const dir = mkdtempSync(path.join(tmpdir(), 'qexport-'))
  try {
    writeFileSync(path.join(dir, 'in.parquet'), bytes)
    writeFileSync(path.join(dir, 'p.yaml'), `version: 1
name: read-export
sources:
  - id: in
    type: parquet
    config: {path: ${JSON.stringify(path.join(dir, 'in.parquet'))}}
destinations:
  - id: out
    type: ndjson
    inputs: [in]
    config: {path: ${JSON.stringify(path.join(dir, 'out.ndjson'))}}
`)
    const bin = process.env.AGGREGATOR_BIN || path.resolve(import.meta.dirname, '../../bin/aggregator')
    const out = execFileSync(bin, ['preview', '-f', path.join(dir, 'p.yaml'), '--json', '--rows', '100', '--data-dir', dir], { encoding: 'utf8' })
    return JSON.parse(out).nodes.find((n) => n.id === 'in').rows
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Replaces the editor's text as typing would (CodeMirror has no fill). */
async function typeSQL(page, text) {
  const editor = page.getByRole('textbox', { name: 'SQL' })
  await editor.click()
  await page.keyboard.press('ControlOrMeta+a')
  await page.keyboard.press('Delete')
  await page.keyboard.insertText(text)
}

test('analytics: a saved query over a PostgreSQL table is charted', async () => {
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, '/queries')
  await page.getByRole('heading', { name: 'New query' }).waitFor()
  // the first saved database connector is picked once the list of connectors has loaded
  await page.waitForFunction(() => document.querySelector('select[aria-label="Database"]')?.value !== '', null, { timeout: 15_000 })
  assert.notEqual(await page.getByRole('combobox', { name: 'Database' }).inputValue(), '', 'a connector is picked')

  // a write is refused by the database, with its own message
  await typeSQL(page, `DELETE FROM ${schema}.revenue`)
  await page.keyboard.press('Control+Enter')
  await page.getByRole('alert').filter({ hasText: 'cannot execute DELETE in a read-only transaction' }).waitFor()

  await typeSQL(page, SQL)
  await page.keyboard.press('Control+Enter')
  await page.getByText('12 rows').waitFor()
  const table = page.getByRole('table', { name: 'Query result' })
  assert.equal(await table.locator('tbody tr').count(), 12)
  await table.getByRole('cell', { name: '2026-03-01' }).waitFor()
  assert.equal(await page.locator('.cm-tooltip-autocomplete').count(), 0, 'running closed the completion list')
  await screenshot(page, 'analytics-table')

  // the unsaved result exports through the ad-hoc route: a CSV of the header and 12 rows
  const csv = await exportAs(page, 'CSV')
  assert.equal(csv.name, 'query.csv')
  const lines = csv.bytes.toString('utf8').trimEnd().split('\n')
  assert.equal(lines.length, 13, csv.bytes.toString('utf8'))
  assert.equal(lines[0], 'month,orders,revenue')
  assert.match(lines[3], /^2026-03-01,/)

  // the chart: month on x, orders and revenue as series; a line over dates by default
  await page.getByRole('tab', { name: 'Chart' }).click()
  assert.equal(await page.getByRole('combobox', { name: 'X axis' }).inputValue(), 'month')
  assert.equal(await page.getByRole('checkbox', { name: 'revenue' }).isChecked(), true)
  await page.getByRole('checkbox', { name: 'orders' }).uncheck()
  await page.getByRole('radio', { name: 'Area' }).click()
  await page.getByRole('radio', { name: 'Line' }).click()
  const figure = page.getByRole('figure', { name: 'line chart of revenue by month' })
  await figure.locator('.recharts-line-curve').first().waitFor()

  // save it with its chart
  await page.getByRole('button', { name: 'Save query…' }).click()
  await page.getByRole('textbox', { name: 'Name' }).fill('Monthly revenue')
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click()
  await page.waitForURL(/\/queries\/[0-9a-f-]+$/)
  await page.getByRole('heading', { name: 'Monthly revenue' }).waitFor()
  const saved = await server.api('GET', '/api/v1/analytics/queries')
  assert.equal(saved.length, 1)
  assert.deepEqual(saved[0].chart, { type: 'line', x: 'month', y: ['revenue'] })
  assert.equal(saved[0].connector_name, 'warehouse')

  // opened again from a fresh page: it runs and shows its chart
  await page.goto(server.base + '/queries')
  await page.getByRole('navigation', { name: 'Saved queries' }).getByRole('link', { name: /Monthly revenue/ }).click()
  await page.getByText('12 rows').waitFor()
  await page.getByRole('figure', { name: 'line chart of revenue by month' }).locator('.recharts-line-curve').first().waitFor()
  await screenshot(page, 'analytics-query')

  // the saved query exports under its name: an Excel workbook (a zip: "PK") of the header and 12
  // rows, and a Parquet file ("PAR1" at both ends) of 12 rows
  const xlsx = await exportAs(page, 'Excel (.xlsx)')
  assert.equal(xlsx.name, 'Monthly_revenue.xlsx')
  assert.equal(xlsx.bytes.subarray(0, 2).toString('latin1'), 'PK')
  const sheet = execFileSync('unzip', ['-p', xlsx.file, 'xl/worksheets/sheet1.xml']).toString('utf8')
  assert.equal(sheet.match(/<row /g)?.length, 13, 'a header row and 12 rows in Sheet1')
  const parquet = await exportAs(page, 'Parquet')
  assert.equal(parquet.name, 'Monthly_revenue.parquet')
  assert.equal(parquet.bytes.subarray(0, 4).toString('latin1'), 'PAR1')
  assert.equal(parquet.bytes.subarray(-4).toString('latin1'), 'PAR1')
  const rows = parquetRows(parquet.bytes)
  assert.equal(rows.length, 12)
  assert.match(JSON.stringify(rows[0]), /2026-01-01/)

  const dark = await browser.newPage({ colorScheme: 'dark' })
  await signIn(dark, server.base, 'admin', undefined, `/queries/${saved[0].id}`)
  await dark.getByText('12 rows').waitFor()
  await dark.getByRole('figure', { name: 'line chart of revenue by month' }).locator('.recharts-line-curve').first().waitFor()
  await screenshot(dark, 'analytics-query', 'dark')
  await dark.getByRole('tab', { name: 'Table' }).click()
  await screenshot(dark, 'analytics-table', 'dark')
  assert.deepEqual([...page.consoleErrors, ...dark.consoleErrors], [])
})

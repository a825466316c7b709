// The dashboard as a new user meets it: the home page after sign-in, a failing run showing up live
// (no reload), a layout changed (moved, resized, removed) and a second dashboard made default, both
// kept after signing out and in; an executive's read-only summary. Screenshots light and dark.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { startServer, startBrowser, signIn, screenshot, ADMIN_PASSWORD, USER_PASSWORD } from './harness.mjs'

let server, browser

// The dashboard page loads Recharts and the grid, and refetches on every run event: on a loaded
// machine a step takes longer than the harness's 15 s default.
async function newPage(opts) {
  const page = await browser.newPage(opts)
  page.setDefaultTimeout(60_000)
  return page
}

before(async () => {
  server = await startServer()
  browser = await startBrowser()
  const rows = ['id,amount', ...Array.from({ length: 2000 }, (_, i) => `${i},${(i * 7) % 100}`)].join('\n')
  writeFileSync(path.join(server.dataDir, 'orders.csv'), rows)
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

const pipelineYAML = (name, file) => `version: 1
name: ${name}
sources:
  - {id: in, type: csv, config: {path: ${file}}}
destinations:
  - {id: out, type: ndjson, inputs: [in], config: {path: ${name}.ndjson}}
`

/** Runs a pipeline through the API and waits for the run to end; returns its status. */
async function runToEnd(id) {
  const run = await server.api('POST', `/api/v1/pipelines/${id}/run`, {})
  for (let i = 0; i < 600; i++) {
    const r = await server.api('GET', `/api/v1/runs/${run.id}`)
    if (!['queued', 'running'].includes(r.status)) return r.status
    await new Promise((res) => setTimeout(res, 100))
  }
  throw new Error(`run ${run.id} did not end in 60 s`)
}

async function signOut(page) {
  await page.getByRole('button', { name: 'User menu' }).click()
  await page.getByRole('menuitem', { name: 'Sign out' }).click()
  await page.waitForURL((u) => u.pathname === '/sign-in')
}

const widget = (page, title) => page.getByRole('region', { name: title, exact: true })

/** The box of each widget relative to the board, by grid id (rounded to whole pixels). */
async function boxes(page) {
  return page.evaluate(() => {
    const b = document.querySelector('[data-testid="dashboard-grid"]').getBoundingClientRect()
    return Object.fromEntries(
      [...document.querySelectorAll('[data-grid-id]')].map((el) => {
        const r = el.getBoundingClientRect()
        return [el.getAttribute('data-grid-id'), [r.x - b.x, r.y - b.y, r.width, r.height].map(Math.round).join(',')]
      }),
    )
  })
}

async function savedDefault() {
  const list = await server.api('GET', '/api/v1/me/dashboards')
  return list.items.find((d) => d.is_default)
}

test('the dashboard is the home page and shows a failing run live, without a reload', async () => {
  const ok = await server.createPipeline(pipelineYAML('customers', 'orders.csv'))
  for (let i = 0; i < 3; i++) assert.equal(await runToEnd(ok.id), 'succeeded')
  const bad = await server.createPipeline(pipelineYAML('orders', 'missing-orders.csv'))

  const page = await newPage()
  await signIn(page, server.base)
  assert.equal(new URL(page.url()).pathname, '/')
  await page.getByRole('link', { name: 'Dashboard' }).waitFor()
  const failing = widget(page, 'Failing pipelines')
  await failing.getByText('No failing pipelines').waitFor()
  await widget(page, 'Runs by status').getByTestId('status-succeeded').getByText('3').waitFor()
  await page.getByRole('status').getByText('Live').waitFor()
  await page.evaluate(() => { window.__sameDocument = true })

  await server.api('POST', `/api/v1/pipelines/${bad.id}/run`, {})
  await failing.getByRole('link', { name: /orders/ }).waitFor()
  await widget(page, 'Runs by status').getByTestId('status-failed').getByText('1').waitFor()
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded')
  assert.deepEqual(page.consoleErrors, [])

  for (const theme of ['light', 'dark']) {
    const p = await newPage({ colorScheme: theme })
    await signIn(p, server.base)
    await widget(p, 'Failing pipelines').getByRole('link', { name: /orders/ }).waitFor()
    await p.locator('[data-widget] [aria-busy="true"]').first().waitFor({ state: 'detached' })
    await screenshot(p, 'dashboard', theme)
    await p.close()
  }
})

test('a moved, resized and removed widget and a second default dashboard are kept after sign-out', async () => {
  const page = await newPage()
  await signIn(page, server.base)
  await widget(page, 'Stream lag').waitFor()
  await page.getByRole('button', { name: 'Edit layout' }).click()

  // Remove: Stream lag. Resize: Records per second, 300 px narrower from its corner. Move: Workers
  // and queue, dragged by its grip to the board's left edge.
  await page.getByRole('button', { name: 'Remove Stream lag' }).click()
  await widget(page, 'Stream lag').waitFor({ state: 'detached' })
  const handle = page.locator('[data-grid-id="throughput"] .react-resizable-handle-se')
  const hb = await handle.boundingBox()
  await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2)
  await page.mouse.down()
  await page.mouse.move(hb.x - 150, hb.y + 40, { steps: 8 })
  await page.mouse.move(hb.x - 300, hb.y + 80, { steps: 8 })
  await page.mouse.up()
  const grip = page.getByLabel('Move Workers and queue', { exact: true })
  const gb = await grip.boundingBox()
  const board = await page.getByTestId('dashboard-grid').boundingBox()
  await page.mouse.move(gb.x + gb.width / 2, gb.y + gb.height / 2)
  await page.mouse.down()
  await page.mouse.move(gb.x - 100, gb.y, { steps: 8 })
  await page.mouse.move(board.x + 20, gb.y + 10, { steps: 8 })
  await page.mouse.up()
  await screenshot(page, 'dashboard-edit', 'light')
  await page.getByRole('button', { name: 'Save layout' }).click()
  await page.getByRole('button', { name: 'Edit layout' }).waitFor()
  // the grid animates a dropped widget to its place (a 200 ms CSS transition): measure once it is
  // there, with the transitions off
  await page.addStyleTag({ content: '.react-grid-item { transition: none !important; }' })
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
  const before = await boxes(page)

  const stored = await savedDefault()
  const w = Object.fromEntries(stored.layout.widgets.map((x) => [x.kind, x]))
  assert.equal(w.stream_lag, undefined, 'Stream lag removed')
  assert.ok(w.throughput.w < 8, `Records per second narrower than 8 columns: ${w.throughput.w}`)
  assert.equal(w.worker_health.x, 0, 'Workers and queue moved to the left edge')

  await signOut(page)
  await signIn(page, server.base, 'admin', ADMIN_PASSWORD)
  await widget(page, 'Workers and queue').waitFor()
  assert.equal(await widget(page, 'Stream lag').count(), 0)
  assert.deepEqual(await boxes(page), before, 'the same layout after signing in again')

  // A second dashboard, made the default: it opens first after the next sign-in.
  await page.getByRole('button', { name: 'New dashboard' }).click()
  const dialog = page.getByRole('dialog', { name: 'New dashboard' })
  await dialog.getByLabel(/^Name/).fill('Finance')
  await dialog.getByLabel('Start from').selectOption('empty')
  await dialog.getByRole('checkbox', { name: /make it the default/ }).check()
  await dialog.getByRole('button', { name: 'Create' }).click()
  await page.getByText('This dashboard has no widgets').waitFor()
  await page.getByLabel('Add widget').selectOption({ label: 'Failing pipelines' })
  await page.getByLabel('Add widget').selectOption({ label: 'Runs by status' })
  await page.getByRole('button', { name: 'Save layout' }).click()
  await page.getByRole('button', { name: 'Edit layout' }).waitFor()

  await signOut(page)
  await signIn(page, server.base)
  await page.getByRole('heading', { name: /Finance/ }).getByText('Default').waitFor()
  await widget(page, 'Failing pipelines').waitFor()
  assert.equal(await widget(page, 'Records per second').count(), 0, 'Finance holds its own widgets only')
  // The first dashboard is still there, one pick away.
  await page.getByRole('combobox', { name: 'Dashboard' }).selectOption({ label: 'Operations' })
  await widget(page, 'Workers and queue').waitFor()
  assert.deepEqual(page.consoleErrors, [])
})

test('an executive sees the read-only summary', async () => {
  const user = await server.createUser('erin', 'executive')
  for (const theme of ['light', 'dark']) {
    const page = await newPage({ colorScheme: theme })
    await signIn(page, server.base, user, USER_PASSWORD)
    await page.getByRole('heading', { name: 'Summary' }).waitFor()
    const kpis = page.getByTestId('kpis')
    await kpis.getByText('Failing pipelines').waitFor()
    assert.match(await kpis.innerText(), /Runs\s+4/i)
    await page.getByRole('table', { name: 'Pipelines needing attention' }).getByRole('cell', { name: 'orders' }).waitFor()
    assert.equal(await page.getByRole('button', { name: 'Edit layout' }).count(), 0, 'no editing')
    assert.equal(await page.getByRole('button', { name: 'New dashboard' }).count(), 0, 'no new dashboards')
    await screenshot(page, 'dashboard-executive', theme)
    assert.deepEqual(page.consoleErrors, [])
    await page.close()
  }
})

// The app at 768 px wide (a tablet in portrait, a half-screen window): every main page fits the
// viewport without horizontal scrolling of the page itself, its navigation stays reachable, and the
// builder keeps its canvas usable. Screenshots: narrow-*.png.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
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

const spec = `version: 1
name: narrow-check
sources:
  - id: orders
    type: csv
    config: {path: orders.csv}
destinations:
  - id: out
    type: ndjson
    inputs: [orders]
    config: {path: out/orders.ndjson}
`

test('at 768 px every main page fits the width and the navigation is reachable', async () => {
  const page = await browser.newPage({ width: 768, height: 1024 })
  await signIn(page, server.base, 'admin', undefined, '/pipelines')
  const p = await server.createPipeline(spec)
  const pages = [
    ['/pipelines', 'Pipelines'],
    ['/runs', 'Runs'],
    ['/connectors', 'Connectors'],
    ['/uploads', 'Uploads'],
    ['/admin/users', 'Users'],
    ['/admin/audit', 'Audit log'],
    ['/profile', 'Profile'],
    [`/pipelines/${p.id}`, null],
  ]
  for (const [path, heading] of pages) {
    await page.goto(server.base + path)
    if (heading) await page.getByRole('heading', { name: heading, level: 1 }).waitFor()
    else await page.locator('.react-flow__node[data-id="orders"]').waitFor()
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow} px at 768 px`)
    assert.ok(await page.getByRole('link', { name: 'Runs' }).isVisible() || await page.getByRole('button', { name: /menu|navigation/i }).isVisible(),
      `${path}: no way to navigate`)
  }
  await screenshot(page, 'narrow-builder', 'light')
  await page.goto(server.base + '/pipelines')
  await page.getByRole('heading', { name: 'Pipelines', level: 1 }).waitFor()
  await screenshot(page, 'narrow-pipelines', 'light')
  assert.deepEqual(page.consoleErrors, [])
})

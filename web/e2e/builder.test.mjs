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

const spec = (name) => `# ${name}: a small pipeline made by the test
version: 1
name: ${name}
sources:
  - id: orders
    type: csv
    config: {path: in.csv}
destinations:
  - id: out
    type: csv
    inputs: [orders]
    config: {path: out-${name}.csv}
`

async function createPipeline(name) {
  const token = await server.adminToken()
  const r = await fetch(server.base + '/api/v1/pipelines', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/yaml' },
    body: spec(name),
  })
  assert.equal(r.status, 201, await r.clone().text())
  return r.json()
}

test('pipelines list: search, last run, duplicate, delete with confirmation', async () => {
  await createPipeline('orders-daily')
  await createPipeline('customers-sync')
  for (const theme of ['light', 'dark']) {
    const page = await browser.newPage({ colorScheme: theme })
    await signIn(page, server.base, 'admin', undefined, '/pipelines')
    const table = page.getByRole('table', { name: 'Pipelines' })
    await table.getByRole('link', { name: 'orders-daily' }).waitFor()
    if (theme === 'light') {
      await page.getByRole('searchbox', { name: 'Search pipelines' }).fill('customers')
      await page.waitForURL(/q=customers/)
      await table.getByRole('link', { name: 'orders-daily' }).waitFor({ state: 'detached' })
      assert.ok(await table.getByRole('link', { name: 'customers-sync' }).isVisible())
      await page.getByRole('searchbox', { name: 'Search pipelines' }).fill('')
      await table.getByRole('link', { name: 'orders-daily' }).waitFor()
      assert.ok(await table.getByText('Never run').first().isVisible())

      await page.getByRole('button', { name: 'Duplicate orders-daily' }).click()
      await table.getByRole('link', { name: 'orders-daily-copy' }).waitFor()

      await page.getByRole('button', { name: 'Delete orders-daily-copy' }).click()
      const dialog = page.getByRole('dialog', { name: 'Delete orders-daily-copy?' })
      await dialog.getByRole('button', { name: 'Delete pipeline' }).click()
      await table.getByRole('link', { name: 'orders-daily-copy' }).waitFor({ state: 'detached' })
      const list = await server.api('GET', '/api/v1/pipelines?search=copy')
      assert.equal(list.total, 0)
    }
    await screenshot(page, 'pipelines-list', theme)
    assert.deepEqual(page.consoleErrors, [])
  }
})

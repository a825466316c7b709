import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, startBrowser, signIn, screenshot, dropFile, connectNodes, USER_PASSWORD } from './harness.mjs'

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

const createPipeline = (name) => server.createPipeline(spec(name))

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

test('builder: drop a file, drag nodes from the palette, connect, fill forms, YAML both ways, cycle refused, preview, save, run', async () => {
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, '/pipelines')
  await page.getByRole('button', { name: 'New pipeline' }).click()
  const dialog = page.getByRole('dialog', { name: 'New pipeline' })
  await dialog.getByLabel('Pipeline name').fill('drag-built')
  await dialog.getByRole('button', { name: 'Create pipeline' }).click()
  await page.waitForURL(/\/pipelines\/new$/)
  const canvas = page.getByTestId('canvas')
  await page.getByRole('button', { name: 'Transform: filter' }).waitFor()

  // An empty file is refused with a clear message; a CSV becomes a source node reading its upload.
  await dropFile(page, canvas, 'empty.csv', '', 'text/csv')
  await page.getByRole('alert').filter({ hasText: 'empty.csv is empty (0 bytes)' }).waitFor()
  await dropFile(page, canvas, 'orders.csv', 'id,amount\n1,5\n2,15\n3,25\n', 'text/csv')
  await page.getByRole('group', { name: 'Source orders (csv)' }).waitFor()

  // Drag two filters and a CSV destination from the palette.
  const box = await canvas.boundingBox()
  await page.getByRole('button', { name: 'Transform: filter' }).dragTo(canvas, { targetPosition: { x: box.width * 0.45, y: box.height * 0.3 } })
  await page.getByRole('group', { name: 'Transform filter (filter)' }).waitFor()
  await page.getByRole('button', { name: 'Transform: filter' }).dragTo(canvas, { targetPosition: { x: box.width * 0.45, y: box.height * 0.7 } })
  await page.getByRole('group', { name: 'Transform filter_2 (filter)' }).waitFor()
  await page.getByRole('button', { name: 'Destination: csv' }).dragTo(canvas, { targetPosition: { x: box.width * 0.8, y: box.height * 0.5 } })
  await page.getByRole('group', { name: 'Destination csv (csv)' }).waitFor()

  await connectNodes(page, 'orders', 'filter')
  await page.locator('.react-flow__edge[data-id="orders->filter"]').waitFor()
  await connectNodes(page, 'filter', 'filter_2')
  await page.locator('.react-flow__edge[data-id="filter->filter_2"]').waitFor()
  await connectNodes(page, 'filter_2', 'csv')
  await page.locator('.react-flow__edge[data-id="filter_2->csv"]').waitFor()
  // A cycle is refused with the reason.
  await connectNodes(page, 'filter_2', 'filter')
  await page.getByRole('alert').filter({ hasText: 'would make a cycle' }).first().waitFor()
  assert.equal(await page.locator('.react-flow__edge[data-id="filter_2->filter"]').count(), 0)

  // Validation as you type: the filters lack their expression, shown on the node and in the problems list.
  const problems = page.getByRole('region', { name: 'Problems' })
  await problems.getByRole('button', { name: /filter:.*required/ }).first().waitFor()
  await page.getByRole('group', { name: 'Transform filter (filter)' }).getByRole('img', { name: /problem/ }).waitFor()
  // A click on a problem selects its node (its panel opens).
  await problems.getByRole('button', { name: /filter_2:.*required/ }).first().click()
  await page.getByRole('complementary', { name: 'Node filter_2' }).waitFor()
  // Fill the forms.
  await page.getByRole('group', { name: 'Transform filter (filter)' }).click()
  const panel = page.getByRole('complementary', { name: 'Node filter' })
  await panel.getByRole('textbox', { name: 'expression' }).fill('amount > 1')
  await page.getByRole('group', { name: 'Transform filter_2 (filter)' }).click()
  await page.getByRole('complementary', { name: 'Node filter_2' }).getByRole('textbox', { name: 'expression' }).fill('amount < 20')
  // The panel may cover the right-most node: close it first, as a user would.
  await page.getByRole('button', { name: 'Close panel' }).click()
  await page.getByRole('group', { name: 'Destination csv (csv)' }).click()
  await page.getByRole('complementary', { name: 'Node csv' }).getByRole('textbox', { name: 'path' }).fill('out/drag-built.csv')
  await problems.getByText('The pipeline is valid').waitFor()
  await screenshot(page, 'builder-canvas', 'light')

  // The YAML tab shows the same spec; an edit there shows on the canvas.
  await page.getByRole('tab', { name: 'YAML' }).click()
  const editor = page.getByRole('textbox', { name: 'Pipeline YAML' })
  await editor.waitFor()
  const yaml = await editor.innerText()
  assert.match(yaml, /expression: amount > 1/)
  assert.match(yaml, /inputs: \[filter_2\]/)
  assert.match(yaml, /upload: /)
  await screenshot(page, 'builder-yaml', 'light')
  await editor.click()
  await page.keyboard.press('Control+End')
  await page.keyboard.insertText('\n  - id: extra\n    type: csv\n    inputs: [filter]\n    config: {path: out/extra.csv}\n')
  await page.getByRole('tab', { name: 'Canvas' }).click()
  await page.getByRole('group', { name: 'Destination extra (csv)' }).waitFor()
  await page.locator('.react-flow__edge[data-id="filter->extra"]').waitFor({ state: 'attached' })

  // Preview at the source.
  await page.getByRole('group', { name: 'Source orders (csv)' }).click()
  await page.getByRole('complementary', { name: 'Node orders' }).getByRole('button', { name: 'Preview' }).click()
  const rows = page.getByRole('table', { name: 'Sample rows at orders' })
  await rows.waitFor()
  assert.equal(await rows.locator('tbody tr').count(), 3)

  // Leaving with unsaved changes asks first.
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Pipelines' }).click()
  const leave = page.getByRole('dialog', { name: 'Leave without saving?' })
  await leave.getByRole('button', { name: 'Cancel' }).click()
  await leave.waitFor({ state: 'detached' })
  assert.match(page.url(), /\/pipelines\/new$/)

  // Save (a new pipeline, then its page), and run.
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/)
  const pid = page.url().split('/').pop()
  const saved = await server.api('GET', `/api/v1/pipelines/${pid}`)
  assert.equal(saved.name, 'drag-built')
  assert.match(saved.spec_text, /id: extra/)
  // Delete a node with the keyboard, save a second version, and compare the two in the history.
  await page.getByRole('group', { name: 'Destination extra (csv)' }).click()
  await page.keyboard.press('Delete')
  await page.getByRole('group', { name: 'Destination extra (csv)' }).waitFor({ state: 'detached' })
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await page.getByText('v2', { exact: true }).waitFor()
  await page.getByRole('button', { name: 'History' }).click()
  const history = page.getByRole('dialog', { name: 'Version history' })
  const diff = history.getByLabel('Diff')
  await diff.getByText('- id: extra').waitFor()
  assert.match(await history.innerText(), /\d+ changed lines?/)
  await history.getByRole('button', { name: 'Close' }).click()
  await page.getByRole('button', { name: 'Run', exact: true }).click()
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/)
  assert.deepEqual(page.consoleErrors, [])

  const dark = await browser.newPage({ colorScheme: 'dark' })
  await signIn(dark, server.base, 'admin', undefined, `/pipelines/${pid}`)
  await dark.getByRole('group', { name: 'Destination csv (csv)' }).waitFor()
  await dark.getByRole('group', { name: 'Transform filter (filter)' }).click()
  await dark.getByRole('complementary', { name: 'Node filter' }).waitFor()
  await screenshot(dark, 'builder-canvas', 'dark')
  await dark.getByRole('tab', { name: 'YAML' }).click()
  await dark.getByRole('textbox', { name: 'Pipeline YAML' }).waitFor()
  await screenshot(dark, 'builder-yaml', 'dark')
  assert.deepEqual(dark.consoleErrors, [])
})

test('a viewer sees the pipeline read-only: no palette, no Save, no Run, no edits', async () => {
  const p = await createPipeline('viewer-sees')
  const viewer = await server.createUser('vera', 'viewer')
  const page = await browser.newPage()
  await signIn(page, server.base, viewer, USER_PASSWORD, `/pipelines/${p.id}`)
  await page.getByRole('group', { name: 'Source orders (csv)' }).waitFor()
  assert.equal(await page.getByRole('button', { name: 'Save', exact: true }).count(), 0)
  assert.equal(await page.getByRole('button', { name: 'Run', exact: true }).count(), 0)
  assert.equal(await page.getByRole('complementary', { name: 'Palette' }).count(), 0)
  await page.getByRole('group', { name: 'Source orders (csv)' }).click()
  const panel = page.getByRole('complementary', { name: 'Node orders' })
  assert.equal(await panel.getByRole('textbox', { name: 'Node id' }).getAttribute('readonly'), '')
  assert.equal(await panel.getByRole('button', { name: 'Delete node orders' }).count(), 0)
  await page.goto(server.base + '/pipelines')
  await page.getByRole('link', { name: 'viewer-sees' }).waitFor()
  assert.equal(await page.getByRole('button', { name: 'New pipeline' }).count(), 0)
  assert.equal(await page.getByRole('button', { name: 'Delete viewer-sees' }).count(), 0)
  assert.deepEqual(page.consoleErrors, [])
})

test('a template starts a pipeline with its comments, its sample data uploaded, and it saves valid', async () => {
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, '/pipelines')
  await page.getByRole('button', { name: 'New pipeline' }).click()
  const dialog = page.getByRole('dialog', { name: 'New pipeline' })
  await dialog.locator('label').filter({ hasText: 'orders-join' }).click()
  assert.ok(await dialog.getByRole('radio', { name: 'orders-join' }).isChecked())
  assert.equal(await dialog.getByLabel('Pipeline name').inputValue(), 'orders-join')
  await dialog.getByLabel('Pipeline name').fill('joined-from-template')
  await dialog.getByRole('button', { name: 'Create pipeline' }).click()
  await page.getByRole('group', { name: 'Transform with_customer (join)' }).waitFor()
  await page.getByRole('region', { name: 'Problems' }).getByText('The pipeline is valid').waitFor()
  await page.getByRole('tab', { name: 'YAML' }).click()
  const yaml = await page.getByRole('textbox', { name: 'Pipeline YAML' }).innerText()
  assert.match(yaml, /# A lookup join/)
  assert.match(yaml, /name: joined-from-template/)
  assert.doesNotMatch(yaml, /path: data\//)
  assert.match(yaml, /upload: [0-9a-f-]{36}/)
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/)
  const saved = await server.api('GET', `/api/v1/pipelines/${page.url().split('/').pop()}`)
  assert.equal(saved.draft ?? false, false)
  const files = await server.api('GET', '/api/v1/files')
  const names = files.items.map((f) => f.name)
  assert.ok(names.includes('orders.csv') && names.includes('customers-ok.csv'), names.join(','))
  assert.deepEqual(page.consoleErrors, [])
})

test('a file over the upload limit dropped on the canvas gets a clear message and adds no node', async () => {
  const small = await startServer({ env: { MAX_UPLOAD_BYTES: '64' } })
  try {
    const page = await browser.newPage()
    await signIn(page, small.base, 'admin', undefined, '/pipelines/new')
    const canvas = page.getByTestId('canvas')
    await page.getByRole('button', { name: 'Transform: filter' }).waitFor()
    await dropFile(page, canvas, 'big.csv', 'id,amount\n' + '1,2\n'.repeat(50), 'text/csv')
    await page.getByRole('alert').filter({ hasText: /big\.csv \(\d+ B\) is larger than the server accepts/ }).waitFor()
    assert.equal(await page.locator('.react-flow__node').count(), 0)
    assert.deepEqual(page.consoleErrors, [])
  } finally {
    await small.stop()
  }
})

test('a node on a saved connector shows only what the pipeline may set beside it, and saves it', async () => {
  await server.api('POST', '/api/v1/connectors', {
    name: 'warehouse',
    type: 'postgres',
    config: { host: '127.0.0.1', user: 'app', password: 'Saved-Secret-Value-1', table: 'accounts' },
  })
  const p = await server.createPipeline(`version: 1
name: on-saved-connector
sources:
  - id: src
    connector: warehouse
    config: {table: orders}
destinations:
  - id: out
    type: csv
    inputs: [src]
    config: {path: out-saved.csv}
`)
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, `/pipelines/${p.id}`)
  await page.locator('.react-flow__node[data-id="src"]').click()
  const panel = page.getByRole('complementary', { name: 'Node src' })
  await panel.getByText('Uses the saved connector').waitFor()
  const table = panel.getByRole('textbox', { name: 'Table', exact: true })
  assert.equal(await table.inputValue(), 'orders')
  // Where to connect and as whom stay in the saved connector: no field for them here.
  for (const name of ['host', 'user', 'password', 'url', 'database']) {
    assert.equal(await panel.getByLabel(new RegExp(`^${name}$`, 'i')).count(), 0, `${name} is offered beside the saved connector`)
  }
  await table.fill('invoices')
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await page.getByText('v2', { exact: true }).waitFor()
  const saved = await server.api('GET', `/api/v1/pipelines/${p.id}`)
  assert.equal(saved.spec.sources[0].connector, 'warehouse')
  assert.deepEqual(saved.spec.sources[0].config, { table: 'invoices' })
  assert.ok(!JSON.stringify(saved).includes('Saved-Secret-Value-1'))
  assert.deepEqual(page.consoleErrors, [])
})

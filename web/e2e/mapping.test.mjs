// The schema-mapping studio end to end: a saved pipeline with a map node; its mapping page shows
// the source fields from a preview; the user types destination fields, runs Auto-map, accepts all
// the suggestions, gives one field an expression, sees its value in the live preview, saves; the
// saved spec holds the mapping (rename, cast, expression, select) and the pipeline runs with it.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
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

async function newPage(opts) {
  const p = await browser.newPage(opts)
  p.setDefaultTimeout(40_000)
  return p
}

let pipeline

test('mapping studio: auto-map, accept all, an expression with its live preview, save', async () => {
  const csv = path.join(server.dataDir, 'crm.csv')
  writeFileSync(csv, 'CustomerID,EmailAddress,first,last,notes\n1,ada@example.com,Ada,Lovelace,x\n2,alan@example.com,Alan,Turing,y\n')
  pipeline = await server.createPipeline(`version: 1
name: crm-import
# The map node's config is what the studio writes.
sources:
  - id: crm
    type: csv
    config: {path: ${JSON.stringify(csv)}}
transforms:
  - id: shape
    type: map
    inputs: [crm]
    config: {}
destinations:
  - id: out
    type: ndjson
    inputs: [shape]
    config: {path: out/customers.ndjson}
`)

  const page = await newPage()
  // The builder opens the studio from the map node's panel.
  await signIn(page, server.base, 'admin', undefined, `/pipelines/${pipeline.id}`)
  await page.locator('.react-flow__node[data-id="shape"]').click()
  await page.getByRole('link', { name: /Open mapping studio/ }).click()
  await page.waitForURL((u) => u.pathname === `/pipelines/${pipeline.id}/mapping/shape`)
  const sources = page.getByRole('region', { name: 'Source fields' })
  await sources.getByText('EmailAddress').waitFor()
  for (const f of ['CustomerID', 'first', 'last', 'notes']) await sources.getByText(f, { exact: true }).waitFor()

  // Destination fields typed in (a file destination has no Discover).
  const addField = async (name, type) => {
    await page.getByRole('textbox', { name: 'New destination field' }).fill(name)
    await page.getByRole('combobox', { name: 'Type of the new field' }).selectOption(type)
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.getByRole('button', { name: `Field ${name}` }).waitFor()
  }
  await addField('customer_id', 'int')
  await addField('email', 'string')
  await addField('full_name', 'string')

  // Auto-map: suggestions with their confidence and reason; accept them all.
  await page.getByRole('button', { name: 'Auto-map' }).click()
  const suggestions = page.getByRole('region', { name: 'Suggestions' })
  await suggestions.getByRole('button', { name: 'Accept CustomerID to customer_id' }).waitFor()
  await suggestions.getByRole('button', { name: 'Accept EmailAddress to email' }).waitFor()
  assert.match(await suggestions.innerText(), /\d+%/)
  await suggestions.getByRole('button', { name: 'Accept all' }).click()
  assert.equal(await page.getByRole('combobox', { name: 'Source of customer_id' }).inputValue(), 'CustomerID')
  assert.equal(await page.getByRole('combobox', { name: 'Source of email' }).inputValue(), 'EmailAddress')
  // A type the source cannot convert to is flagged before any run (the CSV's CustomerID is an int).
  await page.getByRole('button', { name: 'Field customer_id' }).click()
  await page.getByRole('combobox', { name: 'Type of customer_id' }).selectOption('date')
  await page.getByText('int "CustomerID" cannot become date.').waitFor()
  await page.getByText('1 type problem').waitFor()
  await page.getByRole('combobox', { name: 'Type of customer_id' }).selectOption('int')
  await page.getByText('1 type problem').waitFor({ state: 'detached' })

  // An expression for full_name, with autocomplete and the live preview.
  await page.getByRole('combobox', { name: 'Source of full_name' }).selectOption('__expr__')
  const editor = page.getByRole('textbox', { name: 'Expression for full_name' })
  await editor.click()
  await page.keyboard.type('fir')
  // Picked with the mouse: Enter within CodeMirror's 75 ms interaction delay would insert a newline.
  await page.getByRole('listbox').getByText('first', { exact: true }).click()
  await page.keyboard.type(' + " " + upper(last)')
  assert.equal(await editor.innerText(), 'first + " " + upper(last)')
  const values = page.getByRole('table', { name: 'Sample values of full_name' })
  await values.getByText('Ada LOVELACE').waitFor()
  await page.getByRole('table', { name: 'Preview of the mapped rows' }).getByText('Alan TURING').waitFor()

  await screenshot(page, 'mapping-studio', 'light')

  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByText('Mapping saved').waitFor()

  const saved = await server.api('GET', `/api/v1/pipelines/${pipeline.id}`)
  const shape = saved.spec.transforms.find((t) => t.id === 'shape')
  assert.deepEqual(shape.config, {
    expressions: [{ name: 'full_name', expression: 'first + " " + upper(last)', type: 'string' }],
    rename: { CustomerID: 'customer_id', EmailAddress: 'email' },
    select: ['customer_id', 'email', 'full_name'],
  })
  assert.equal(saved.version, 2)
  assert.match(saved.spec_text, /# The map node's config is what the studio writes\./)

  // The saved mapping previews on the server as the studio showed it.
  const res = await fetch(`${server.base}/api/v1/pipelines/${pipeline.id}/preview`, {
    method: 'POST', headers: { Authorization: `Bearer ${await server.adminToken()}` },
  })
  const prev = await res.json()
  assert.equal(res.status, 200, JSON.stringify(prev))
  const node = prev.nodes.find((n) => n.id === 'shape')
  assert.deepEqual(node.rows[0], { customer_id: 1, email: 'ada@example.com', full_name: 'Ada LOVELACE' })

  // After the save the page shows the saved mapping.
  await page.getByText('unsaved changes').waitFor({ state: 'detached' })
  assert.equal(await page.getByRole('combobox', { name: 'Source of email' }).inputValue(), 'EmailAddress')
  assert.deepEqual(page.consoleErrors, [])
  await page.context().close()
})

test('mapping studio in the dark theme', async () => {
  const page = await newPage({ colorScheme: 'dark' })
  await signIn(page, server.base, 'admin', undefined, `/pipelines/${pipeline.id}/mapping/shape`)
  await page.getByRole('button', { name: 'Field full_name' }).click()
  await page.getByRole('table', { name: 'Sample values of full_name' }).getByText('Ada LOVELACE').waitFor()
  await screenshot(page, 'mapping-studio', 'dark')
  assert.deepEqual(page.consoleErrors, [])
  await page.context().close()
})

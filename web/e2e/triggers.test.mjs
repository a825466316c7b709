import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

let server, browser
before(async () => {
  server = await startServer()
  browser = await startBrowser()
  writeFileSync(path.join(server.dataDir, 'in.csv'), 'id,name\n1,a\n2,b\n')
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

const spec = (name) => `# ${name}: made by the triggers test
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

const poll = async (what, fn, ms = 30_000) => {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

test('triggers: webhook token created in the UI and called with fetch, a dependency picked and saved, a cycle refused, the runs page shows both triggers', async () => {
  const raw = await server.createPipeline(spec('raw-orders'))
  const clean = await server.createPipeline(spec('clean-orders'))
  const page = await browser.newPage()

  // The webhook token of raw-orders: created in the dialog, shown once with a curl example.
  await signIn(page, server.base, 'admin', undefined, `/pipelines/${raw.id}`)
  await page.getByRole('button', { name: /^Triggers/ }).click()
  const dialog = page.getByRole('dialog', { name: 'Triggers' })
  await dialog.getByText('No webhook token').waitFor()
  await dialog.getByRole('button', { name: 'Create webhook token' }).click()
  const tokenBox = dialog.getByLabel('New webhook token')
  await tokenBox.waitFor()
  const token = (await tokenBox.innerText()).trim()
  assert.match(token, /^aggwh_/)
  const curl = await dialog.getByLabel('curl example').innerText()
  assert.ok(curl.includes(`/api/v1/pipelines/${raw.id}/trigger`) && curl.includes(`Bearer ${token}`), curl)
  await dialog.getByTestId('webhook-state').getByText('Active').waitFor()
  assert.match(await dialog.getByTestId('webhook-state').innerText(), /never used/)
  await screenshot(page, 'triggers-webhook', 'light')
  await dialog.getByRole('button', { name: 'Cancel' }).click()

  // clean-orders runs after raw-orders: picked in the dialog, applied to the YAML, saved.
  await page.goto(`${server.base}/pipelines/${clean.id}`)
  await page.getByRole('button', { name: /^Triggers/ }).click()
  await dialog.getByRole('checkbox', { name: /raw-orders/ }).check()
  await dialog.getByRole('list', { name: 'Runs after' }).getByText('raw-orders').waitFor()
  const apply = dialog.getByRole('button', { name: 'Apply to spec' })
  await poll('apply enabled', async () => !(await apply.isDisabled()))
  await apply.click()
  await dialog.waitFor({ state: 'detached' })
  await page.getByRole('tab', { name: 'YAML' }).click()
  const yaml = await page.getByRole('textbox', { name: 'Pipeline YAML' }).innerText()
  assert.match(yaml, /# clean-orders: made by the triggers test/)
  assert.match(yaml, /triggers:/)
  assert.match(yaml, /- raw-orders|after: \[raw-orders\]/)
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await poll('saved dependency', async () => {
    const got = await server.api('GET', `/api/v1/pipelines/${clean.id}`)
    return got.version === 2 && got.runs_after?.[0]?.name === 'raw-orders'
  })

  // raw-orders after clean-orders would close a cycle: the dialog names it and Apply stays off.
  await page.goto(`${server.base}/pipelines/${raw.id}`)
  await page.getByRole('button', { name: /^Triggers/ }).click()
  await dialog.getByText('Run after this one').waitFor()
  await dialog.getByRole('checkbox', { name: /clean-orders/ }).check()
  await dialog.getByRole('alert').getByText('raw-orders -> clean-orders -> raw-orders').waitFor()
  assert.ok(await dialog.getByRole('button', { name: 'Apply to spec' }).isDisabled())
  await screenshot(page, 'triggers-cycle', 'light')
  await dialog.getByRole('button', { name: 'Cancel' }).click()

  // The webhook, called as another system would (no user session), with a JSON body.
  const res = await fetch(`${server.base}/api/v1/pipelines/${raw.id}/trigger`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ reason: 'nightly export landed' }),
  })
  assert.equal(res.status, 202, await res.clone().text())
  const started = await res.json()
  assert.equal(started.trigger, 'webhook')
  const wrong = await fetch(`${server.base}/api/v1/pipelines/${raw.id}/trigger`, { method: 'POST', headers: { 'X-Trigger-Token': token + 'x' } })
  assert.equal(wrong.status, 401)

  // Its success starts clean-orders once, with trigger dependency.
  const dep = await poll('the dependency run', async () => {
    const runs = await server.api('GET', `/api/v1/runs?pipeline_id=${clean.id}`)
    return (runs.items ?? []).find((r) => r.trigger === 'dependency' && r.status === 'succeeded')
  })
  assert.equal(dep.trigger_detail.upstream_run_id, started.run_id)

  // The runs page: a Webhook badge on raw-orders, a Dependency badge on clean-orders.
  await page.goto(`${server.base}/runs`)
  const table = page.getByRole('table')
  await table.getByRole('row').filter({ hasText: 'raw-orders' }).filter({ hasText: 'Webhook' }).first().waitFor()
  await table.getByRole('row').filter({ hasText: 'clean-orders' }).filter({ hasText: 'Dependency' }).first().waitFor()
  await screenshot(page, 'runs-triggers', 'light')

  // The run pages say what started them, with links.
  await page.goto(`${server.base}/runs/${started.run_id}`)
  await page.getByTestId('triggered-by').getByText(/Triggered by webhook/).waitFor()
  assert.match(await page.getByTestId('triggered-by').innerText(), new RegExp(`token ${token.slice(0, 14)}`))
  assert.match(await page.getByLabel('Webhook payload').innerText(), /nightly export landed/)
  await page.goto(`${server.base}/runs/${dep.id}`)
  const by = page.getByTestId('triggered-by')
  await by.getByRole('link', { name: 'raw-orders' }).waitFor()
  await screenshot(page, 'run-dependency', 'light')
  await by.getByRole('link', { name: `run ${started.run_id.slice(-8)}` }).click()
  await page.waitForURL(`**/runs/${started.run_id}`)
  assert.deepEqual(page.consoleErrors, [])

  // Dark.
  const dark = await browser.newPage({ colorScheme: 'dark' })
  await signIn(dark, server.base, 'admin', undefined, `/pipelines/${raw.id}`)
  await dark.getByRole('button', { name: /^Triggers/ }).click()
  await dark.getByRole('dialog', { name: 'Triggers' }).getByTestId('webhook-state').getByText(/last used/).waitFor()
  await screenshot(dark, 'triggers-webhook', 'dark')
  assert.deepEqual(dark.consoleErrors, [])
})

// Alerts as a new user meets them: a webhook channel pointing at a local receiver (tested from the
// page), a run_failed rule on a pipeline, the pipeline fails, and the alert fires in the UI while
// the receiver gets the signed notification. Screenshots of the alert list, an alert, the rules and
// the channels, light and dark.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import crypto from 'node:crypto'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

const SECRET = 'e2e-hook-secret'
let server, browser, receiver
const received = []
let waiters = []

before(async () => {
  receiver = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const want = 'sha256=' + crypto.createHmac('sha256', SECRET).update(body).digest('hex')
      const ok = req.headers['x-aggregator-signature'] === want
      received.push({ ok, payload: JSON.parse(body.toString()) })
      waiters = waiters.filter((w) => !w())
      res.writeHead(ok ? 200 : 401).end()
    })
  })
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r))
  server = await startServer({ env: { ALLOWED_OUTBOUND_HOSTS: '127.0.0.1' } })
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
  receiver?.close()
})

/** Resolves with the first received notification of event, within 30 s. */
function notification(event) {
  const find = () => received.find((r) => r.payload.event === event)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} notification within 30 s`)), 30_000)
    const check = () => {
      const r = find()
      if (!r) return false
      clearTimeout(timer)
      resolve(r)
      return true
    }
    if (!check()) waiters.push(check)
  })
}

test('alerts: a webhook channel tested from the page, a run_failed rule, a failing pipeline fires it in the UI', async () => {
  const hookURL = `http://127.0.0.1:${receiver.address().port}/hooks/aggregator`
  const pipeline = await server.createPipeline(`version: 1
name: orders
sources:
  - {id: in, type: csv, config: {path: missing-orders.csv}}
destinations:
  - {id: out, type: ndjson, inputs: [in], config: {path: orders.ndjson}}
`)
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, '/alerts')
  await page.getByRole('heading', { name: 'Nothing is firing' }).waitFor()

  // A webhook channel, created and tested from the Channels tab.
  await page.getByRole('tab', { name: 'Channels' }).click()
  await page.getByRole('button', { name: 'New channel' }).first().click()
  const dialog = page.getByRole('dialog', { name: 'New channel' })
  await dialog.getByLabel(/^Name/).fill('On-call webhook')
  await dialog.getByLabel(/^URL/).fill(hookURL)
  await dialog.getByLabel(/^Signing secret/).fill(SECRET)
  await dialog.getByRole('button', { name: 'Create channel' }).click()
  const row = page.getByRole('row', { name: 'Channel On-call webhook' })
  await row.waitFor()
  await row.getByRole('button', { name: 'Send test to On-call webhook' }).click()
  await row.getByRole('status', { name: 'Test of On-call webhook' }).getByText('Sent').waitFor()
  const t = await notification('test')
  assert.ok(t.ok, 'the test notification is signed with the secret')

  // A run_failed rule on the pipeline, notifying the channel.
  await page.getByRole('tab', { name: 'Rules' }).click()
  await page.getByRole('button', { name: 'New rule' }).first().click()
  const ruleDialog = page.getByRole('dialog', { name: 'New alert rule' })
  await ruleDialog.getByLabel(/^Name/).fill('orders failing')
  await ruleDialog.getByLabel('Condition').selectOption('run_failed')
  await ruleDialog.getByLabel('Pipeline').selectOption({ label: 'orders' })
  await ruleDialog.getByRole('checkbox', { name: /On-call webhook/ }).check()
  await ruleDialog.getByRole('button', { name: 'Create rule' }).click()
  await page.getByRole('row', { name: 'Rule orders failing' }).waitFor()

  // The pipeline fails: the alert fires in the UI (the list refreshes itself) and the webhook arrives.
  await server.api('POST', `/api/v1/pipelines/${pipeline.id}/run`, {})
  await page.getByRole('tab', { name: /^Alerts/ }).click()
  const alertRow = page.getByRole('row', { name: 'Alert Pipeline orders failed' })
  await alertRow.getByText('Firing').waitFor({ timeout: 30_000 })
  const fired = await notification('firing')
  assert.ok(fired.ok, 'the firing notification is signed with the secret')
  assert.equal(fired.payload.alert.rule_name, 'orders failing')
  assert.equal(fired.payload.alert.pipeline_id, pipeline.id)
  await page.getByRole('tab', { name: /^Alerts/ }).getByText('1').waitFor()

  for (const theme of ['light', 'dark']) {
    const p = theme === 'light' ? page : await browser.newPage({ colorScheme: 'dark' })
    if (theme === 'dark') await signIn(p, server.base, 'admin', undefined, '/alerts')
    else await p.goto(server.base + '/alerts') // a fresh page: no toasts in the screenshot
    await p.getByRole('row', { name: 'Alert Pipeline orders failed' }).waitFor()
    await screenshot(p, 'alerts-list', theme)
    await p.getByRole('link', { name: 'Pipeline orders failed' }).click()
    await p.getByRole('row', { name: 'Delivery to On-call webhook (firing)' }).getByText('Sent').waitFor()
    await p.getByRole('list', { name: 'History' }).getByText('Fired').waitFor()
    await screenshot(p, 'alerts-detail', theme)
    await p.goto(server.base + '/alerts/rules')
    await p.getByRole('row', { name: 'Rule orders failing' }).waitFor()
    await screenshot(p, 'alerts-rules', theme)
    await p.getByRole('tab', { name: 'Channels' }).click()
    await p.getByRole('row', { name: 'Channel On-call webhook' }).waitFor()
    await screenshot(p, 'alerts-channels', theme)
    if (theme === 'light') {
      await p.getByRole('button', { name: 'New channel' }).first().click()
      await p.getByRole('dialog', { name: 'New channel' }).getByLabel('Type').selectOption('email')
      await screenshot(p, 'alerts-channel-form', theme)
      await p.keyboard.press('Escape')
    }
    assert.deepEqual(p.consoleErrors, [])
  }

  // Acknowledge from the list.
  await page.goto(server.base + '/alerts')
  await alertRow.getByRole('button', { name: 'Acknowledge' }).click()
  await alertRow.getByText('Acknowledged').waitFor()
  assert.deepEqual(page.consoleErrors, [])
})

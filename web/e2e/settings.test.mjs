// Administration > Settings: retention periods and the clean-up, as an admin and as a designer.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync, utimesSync, existsSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import path from 'node:path'
import { startServer, startBrowser, signIn, screenshot, USER_PASSWORD } from './harness.mjs'

let server, browser
before(async () => {
  // Loopback allowed for the outbound guard: the fake AWS Secrets Manager below listens there.
  server = await startServer({ env: { ALLOWED_OUTBOUND_HOSTS: '127.0.0.1' } })
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

async function newPage(opts) {
  const page = await browser.newPage(opts)
  page.setDefaultTimeout(30_000)
  return page
}

/** Leaves what a crash leaves: an interrupted upload (8 days old) and an abandoned run's staged file (2 days old). */
function leaveLeftovers() {
  const day = 24 * 3600
  const now = Date.now() / 1000
  const uploads = path.join(server.dataDir, 'uploads')
  const files = path.join(server.dataDir, 'files', 'exports')
  mkdirSync(uploads, { recursive: true })
  mkdirSync(files, { recursive: true })
  const partial = path.join(uploads, `.upload-${randomUUID().slice(0, 8)}.part`)
  const staged = path.join(files, `.orders.csv.${randomUUID()}.tmp`)
  writeFileSync(partial, 'id,name\n1,a\n')
  writeFileSync(staged, 'id,name\n1,a\n2,b\n')
  utimesSync(partial, now - 8 * day, now - 8 * day)
  utimesSync(staged, now - 2 * day, now - 2 * day)
  return { partial, staged }
}

test('an admin changes the retention periods and runs the clean-up; the audit log records it with the counts', async () => {
  for (const theme of ['light', 'dark']) {
    const left = leaveLeftovers()
    // Tall enough to show both cards and the clean-up result in one screenshot.
    const page = await newPage({ colorScheme: theme, height: 1280 })
    await signIn(page, server.base, 'admin', undefined, '/')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click()
    await page.getByRole('heading', { name: 'Data retention' }).waitFor()
    const runs = page.getByRole('textbox', { name: 'Finished runs: keep for' })
    if (theme === 'light') {
      assert.equal(await runs.inputValue(), '90')
      assert.equal(await page.getByRole('combobox', { name: 'Finished runs: unit' }).inputValue(), 'd')
      await page.getByText('Defaults in use').waitFor()
      const save = page.getByRole('form', { name: 'Data retention' }).getByRole('button', { name: 'Save' })
      assert.ok(await save.isDisabled(), 'nothing changed yet')
      // A period under an hour is refused before it is sent.
      await runs.fill('0')
      await page.getByText('At least 1 hour').waitFor()
      assert.ok(await save.isDisabled())
      await runs.fill('14')
      await page.getByRole('textbox', { name: 'Staged outputs: keep for' }).fill('12')
      await page.getByRole('combobox', { name: 'Staged outputs: unit' }).selectOption('h')
      await save.click()
      await page.getByText('Retention settings saved').waitFor()
      await page.getByText(/Saved by admin/).waitFor()
      const stored = await server.api('GET', '/api/v1/admin/settings/retention')
      assert.equal(stored.settings.runs, '14d')
      assert.equal(stored.settings.staged_outputs, '12h')
      assert.equal(stored.updated_by, 'admin')
      // After a reload the page shows what was saved.
      await page.reload()
      await page.getByRole('heading', { name: 'Data retention' }).waitFor()
      assert.equal(await page.getByRole('textbox', { name: 'Finished runs: keep for' }).inputValue(), '14')
      assert.equal(await page.getByRole('combobox', { name: 'Staged outputs: unit' }).inputValue(), 'h')
    }
    await page.getByRole('button', { name: 'Clean up now' }).click()
    const result = page.getByRole('region', { name: 'Clean-up result' })
    await result.waitFor()
    assert.equal(await result.getByTestId('removed-uploads').textContent(), '1')
    assert.equal(await result.getByTestId('removed-staged_files').textContent(), '1')
    assert.equal(existsSync(left.partial), false, 'the interrupted upload is gone')
    assert.equal(existsSync(left.staged), false, 'the staged file is gone')
    await page.evaluate(() => document.querySelector('main')?.scrollTo(0, 0))
    await page.evaluate(() => window.scrollTo(0, 0))
    await screenshot(page, 'admin-settings', theme)
    assert.deepEqual(page.consoleErrors, [])
    await page.close()
  }
  const audit = await server.api('GET', '/api/v1/audit-logs?action=retention.cleanup&result=success')
  assert.equal(audit.items.length, 2)
  assert.equal(audit.items[0].actor_name, 'admin')
  assert.equal(audit.items[0].details.trigger, 'manual')
  assert.equal(audit.items[0].details.removed.uploads, 1)
  assert.equal(audit.items[0].details.removed.staged_files, 1)
  const changes = await server.api('GET', '/api/v1/audit-logs?action=settings.retention_update')
  assert.equal(changes.items[0].details.settings.runs, '14d')
})

test('a designer has no Settings page', async () => {
  await server.createUser('dora', 'designer')
  const page = await newPage()
  await signIn(page, server.base, 'dora', USER_PASSWORD, '/pipelines')
  const nav = page.getByRole('navigation', { name: 'Main' })
  assert.equal(await nav.getByRole('link', { name: 'Settings' }).count(), 0)
  await page.goto(server.base + '/admin/settings')
  await page.getByText("You don't have access to this page").waitFor()
  assert.deepEqual(page.consoleErrors, [])
  await page.close()
})

/** A fake AWS Secrets Manager: GetSecretValue of its JSON 1.1 protocol, requests signed by one access key. */
async function fakeAWS(accessKeyID, secrets) {
  const srv = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const fail = (type) => {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type })
        res.end(JSON.stringify({ __type: type, message: type }))
      }
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') return fail('UnknownOperationException')
      if (!String(req.headers.authorization ?? '').includes(`Credential=${accessKeyID}/`)) return fail('UnrecognizedClientException')
      const { SecretId } = JSON.parse(body)
      if (!(SecretId in secrets)) return fail('ResourceNotFoundException')
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
      res.end(JSON.stringify({ Name: SecretId, SecretString: secrets[SecretId], VersionStages: ['AWSCURRENT'] }))
    })
  })
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() }
}

test('an admin sets up AWS Secrets Manager, tests references against it and saves; the key is never shown again', async () => {
  const value = 'e2e-aws-value-' + randomUUID().slice(0, 8)
  const secretKey = 'e2e-aws-secret-key-' + randomUUID().slice(0, 8)
  const aws = await fakeAWS('AKIAE2ETEST', { 'prod/orders-db': JSON.stringify({ password: value }) })
  const page = await newPage({ height: 1600 })
  try {
    await signIn(page, server.base, 'admin', undefined, '/admin/settings')
    const form = page.getByRole('form', { name: 'Secret managers' })
    await form.waitFor()
    await form.getByRole('checkbox', { name: /AWS Secrets Manager/ }).check()
    const section = form.getByRole('region', { name: 'AWS Secrets Manager' })
    await section.getByRole('textbox', { name: 'Region' }).fill('eu-west-1')
    await section.getByRole('textbox', { name: 'Endpoint' }).fill(aws.url)
    await section.getByRole('combobox', { name: 'Credentials' }).selectOption('static')
    await section.getByRole('textbox', { name: 'Access key id' }).fill('AKIAE2ETEST')
    await section.getByLabel('Secret access key').fill(secretKey)

    // Tested with the settings being edited, before they are saved: the value never comes back.
    const reference = form.getByRole('textbox', { name: 'Reference to test' })
    await reference.fill('aws-sm://prod/orders-db#password')
    await form.getByRole('button', { name: 'Test', exact: true }).click()
    await form.getByRole('status').filter({ hasText: 'aws-sm://prod/orders-db#password resolves' }).waitFor()
    await reference.fill('aws-sm://prod/missing#password')
    await form.getByRole('button', { name: 'Test', exact: true }).click()
    await form.getByRole('status').filter({ hasText: 'not found' }).waitFor()

    await form.getByRole('button', { name: 'Save' }).click()
    await page.getByText('Secret managers saved').waitFor()
    await page.reload()
    const again = page.getByRole('form', { name: 'Secret managers' }).getByRole('region', { name: 'AWS Secrets Manager' })
    await again.getByText('configured').waitFor()
    assert.equal(await again.getByLabel('Secret access key').inputValue(), '********')
    const html = await page.content()
    assert.ok(!html.includes(value) && !html.includes(secretKey), 'a secret reached the page')
    await again.scrollIntoViewIfNeeded()
    await screenshot(page, 'settings-secret-managers-aws')
  } finally {
    await page.close()
    aws.close()
  }
})

// Connectors, uploads, administration and profile, as users with different roles see them.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { startServer, startBrowser, signIn, screenshot, USER_PASSWORD } from './harness.mjs'

// A table of our own in the shared PostgreSQL (trust auth: any password is accepted).
const PG_SCHEMA = 'admin_e2e'
function psql(sql) {
  execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: 'pipe' })
}

let server, browser
before(async () => {
  // A small upload limit, so that an over-limit file is quick to try.
  server = await startServer({ env: { MAX_UPLOAD_BYTES: String(1 << 20) } })
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

// The machine running the tests may be loaded: give each step more time than the harness default.
async function newPage(opts) {
  const page = await browser.newPage(opts)
  page.setDefaultTimeout(30_000)
  return page
}

test('an admin creates a user with a role from the users page; the audit log shows it with its details', async () => {
  for (const theme of ['light', 'dark']) {
    const page = await newPage({ colorScheme: theme })
    await signIn(page, server.base, 'admin', undefined, '/admin/users')
    await page.getByRole('table', { name: 'Users' }).waitFor()
    if (theme === 'light') {
      await page.getByRole('button', { name: 'New user' }).click()
      const dialog = page.getByRole('dialog', { name: 'New user' })
      await dialog.getByLabel('Username').fill('vera')
      await dialog.getByLabel('Email').fill('vera@example.com')
      await dialog.getByLabel('Role').selectOption('viewer')
      // The server's password policy shows on the field.
      await dialog.getByRole('textbox', { name: 'Password' }).fill('short')
      await dialog.getByRole('button', { name: 'Create user' }).click()
      // The server's message, not the field's help (which also says "at least 12"): the second try
      // must start after the first answer, or the re-laid-out dialog can take the click elsewhere.
      await dialog.getByText(/must be at least 12 characters \(got 5\)/).waitFor()
      await dialog.getByRole('textbox', { name: 'Password' }).fill(USER_PASSWORD)
      const create = dialog.getByRole('button', { name: 'Create user' })
      await create.click()
      try {
        await dialog.waitFor({ state: 'hidden' })
      } catch (e) {
        throw new Error(`the New user dialog stayed open; it shows: ${await dialog.innerText().catch(() => '?')}`, { cause: e })
      }
      await page.getByRole('cell', { name: /vera@example\.com/ }).waitFor()
      assert.equal(await page.getByRole('combobox', { name: 'Role of vera' }).inputValue(), 'viewer')
      // Search narrows the list.
      await page.getByRole('searchbox', { name: 'Search users' }).fill('ver')
      await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Users"] tbody tr').length === 1)
    }
    await screenshot(page, 'admin-users', theme)
    assert.deepEqual(page.consoleErrors, [])
    await page.close()
  }
  const users = await server.api('GET', '/api/v1/users?search=vera')
  assert.equal(users.items[0].role, 'viewer')
})

test('a viewer sees no administration, no upload controls and no connector edit controls', async () => {
  await server.createUser('otto', 'viewer')
  await server.api('POST', '/api/v1/connectors', { name: 'warehouse', type: 'postgres', config: { host: '127.0.0.1', user: 'postgres', database: 'test' } })
  const page = await newPage()
  await signIn(page, server.base, 'otto', USER_PASSWORD, '/connectors')
  await page.getByRole('table', { name: 'Connectors' }).waitFor()
  const nav = page.getByRole('navigation', { name: 'Main' })
  assert.equal(await nav.getByRole('link', { name: 'Users' }).count(), 0)
  assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 0)
  assert.ok(await page.getByText('warehouse').isVisible())
  assert.equal(await page.getByRole('button', { name: 'New connector' }).count(), 0)
  assert.equal(await page.getByRole('link', { name: 'warehouse' }).count(), 0, 'a viewer cannot open a config')
  await page.goto(server.base + '/admin/users')
  await page.getByText("You don't have access to this page").waitFor()
  // Viewers hold no files permission: no Uploads entry, and the page says so.
  assert.equal(await nav.getByRole('link', { name: 'Uploads' }).count(), 0)
  await page.goto(server.base + '/uploads')
  await page.getByText("You don't have access to this page").waitFor()
  assert.equal(await page.getByRole('button', { name: 'choose files' }).count(), 0)
  assert.deepEqual(page.consoleErrors, [])
})

test('uploads: a CSV uploads with progress and is listed; a 0-byte file shows the server message', async () => {
  for (const theme of ['light', 'dark']) {
    const page = await newPage({ colorScheme: theme })
    await signIn(page, server.base, 'admin', undefined, '/uploads')
    await page.getByRole('heading', { name: 'Uploaded files' }).waitFor()
    if (theme === 'light') {
      await page.getByText('No files uploaded yet').waitFor()
      await page.getByLabel('Files to upload').setInputFiles({
        name: 'customers.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from('id,name,city\n1,Ada,London\n2,Grace,Arlington\n'),
      })
      const table = page.getByRole('table', { name: 'Uploaded files' })
      await table.getByRole('cell', { name: 'customers.csv', exact: true }).waitFor()
      assert.ok(await table.getByRole('cell', { name: 'admin', exact: true }).isVisible())
      const use = table.getByRole('link', { name: 'Use customers.csv in a pipeline' })
      assert.match(await use.getAttribute('href'), /^\/pipelines\/new\?file=[\w-]+$/)
      await page.getByLabel('Files to upload').setInputFiles({ name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.alloc(0) })
      const failed = page.getByRole('listitem', { name: 'Upload of empty.csv' })
      await failed.getByRole('alert').waitFor()
      assert.match(await failed.getByRole('alert').innerText(), /empty/i)
      await page.getByLabel('Files to upload').setInputFiles({ name: 'big.csv', mimeType: 'text/csv', buffer: Buffer.alloc(3 << 20, 'a,b\n') })
      const big = page.getByRole('listitem', { name: 'Upload of big.csv' })
      await big.getByRole('alert').waitFor()
      assert.match(await big.getByRole('alert').innerText(), /larger than the upload limit/i)
    }
    await screenshot(page, 'uploads', theme)
    assert.deepEqual(page.consoleErrors, [])
    await page.close()
  }
  const files = await server.api('GET', '/api/v1/files')
  assert.deepEqual(files.items.map((f) => f.name), ['customers.csv'])
})

test('profile: preferences are saved on the server, a token is shown once and revoked, a wrong password is named on its field', async () => {
  for (const theme of ['light', 'dark']) {
    const page = await newPage({ colorScheme: theme })
    await signIn(page, server.base, 'admin', undefined, '/')
    await page.getByRole('button', { name: 'User menu' }).click()
    await page.getByRole('menuitem', { name: 'Profile and preferences' }).click()
    await page.waitForURL((u) => u.pathname === '/profile')
    await page.getByRole('button', { name: 'Save preferences' }).waitFor()
    if (theme === 'light') {
      await page.getByLabel('Time zone').selectOption('Europe/Paris')
      await page.getByLabel('Language').selectOption('de')
      await page.getByRole('button', { name: 'Save preferences' }).click()
      await page.getByText('Preferences saved').waitFor()
      const prefs = await server.api('GET', '/api/v1/me/preferences')
      assert.equal(prefs.timezone, 'Europe/Paris')
      assert.equal(prefs.language, 'de')

      await page.getByRole('button', { name: 'New token' }).click()
      const dialog = page.getByRole('dialog', { name: 'New API token' })
      await dialog.getByLabel('Token name').fill('ci-nightly')
      await dialog.getByRole('button', { name: 'Create token' }).click()
      const shown = page.getByLabel('New token')
      await shown.waitFor()
      assert.match(await shown.innerText(), /^agg_/)
      await page.getByRole('button', { name: 'Done' }).click()
      const tokens = page.getByRole('table', { name: 'API tokens' })
      await tokens.getByRole('cell', { name: 'ci-nightly', exact: true }).waitFor()
      assert.doesNotMatch(await tokens.innerText(), /agg_\w{20,}/, 'the token is never shown again')
      await page.getByRole('button', { name: 'Revoke ci-nightly' }).click()
      await page.getByRole('dialog', { name: 'Revoke token' }).getByRole('button', { name: 'Revoke token' }).click()
      await tokens.getByText('Revoked').waitFor()

      await page.getByLabel('Current password').fill('not-my-password')
      await page.getByLabel('New password').fill('Another-Long-Passw0rd')
      await page.getByRole('button', { name: 'Change password' }).click()
      await page.getByText('current password is incorrect').waitFor()
    }
    await screenshot(page, 'profile', theme)
    assert.deepEqual(page.consoleErrors, [])
    await page.close()
  }
})

test('audit log: filters by action and user, entries expand to their details', async () => {
  for (const theme of ['light', 'dark']) {
    const page = await newPage({ colorScheme: theme })
    await signIn(page, server.base, 'admin', undefined, '/admin/audit')
    const table = page.getByRole('table', { name: 'Audit entries' })
    await table.waitFor()
    await page.getByLabel('Action', { exact: true }).fill('user.create')
    await page.waitForURL((u) => u.searchParams.get('action') === 'user.create')
    await page.waitForFunction(() => {
      const codes = [...document.querySelectorAll('table[aria-label="Audit entries"] tbody td code')].map((c) => c.textContent)
      return codes.length > 0 && codes.every((c) => c === 'user.create')
    })
    const rows = table.locator('tbody tr')
    const actions = await table.locator('tbody td code').allInnerTexts()
    assert.ok(actions.length > 0 && actions.every((a) => a === 'user.create'), `only user.create: ${actions}`)
    await rows.first().getByRole('button', { name: /^Details of user\.create/ }).click()
    await table.getByText('Request id').waitFor()
    if (theme === 'light') {
      await page.getByLabel('Action', { exact: true }).fill('')
      await page.getByLabel('User', { exact: true }).selectOption({ label: 'admin' })
      await page.getByLabel('Result').selectOption('failure')
      await page.getByText(/No entry matches|user\./).first().waitFor()
    }
    await screenshot(page, 'audit-log', theme)
    assert.deepEqual(page.consoleErrors, [])
    await page.close()
  }
})

test('connectors: create a PostgreSQL connector with the generated form, test it, discover its tables, secrets stay write-only', async () => {
  psql(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE; CREATE SCHEMA ${PG_SCHEMA};
        CREATE TABLE ${PG_SCHEMA}.customers (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO ${PG_SCHEMA}.customers (id, name) VALUES (1, 'Ada Lovelace'), (2, 'Grace Hopper');`)
  const page = await newPage()
  await signIn(page, server.base, 'admin', undefined, '/connectors')
  await page.getByRole('button', { name: 'New connector' }).first().click()
  await page.waitForURL((u) => u.pathname === '/connectors/new')
  await page.getByRole('heading', { name: 'Databases' }).waitFor()
  await screenshot(page, 'connector-new', 'light')
  await page.getByRole('searchbox', { name: 'Search connector types' }).fill('postgre')
  await page.getByRole('button', { name: 'PostgreSQL', exact: true }).click()
  await page.waitForURL((u) => u.searchParams.get('type') === 'postgres')
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('pg-e2e')
  await page.getByLabel('Description').fill('E2E warehouse')
  await page.getByLabel('Host', { exact: true }).fill('127.0.0.1')
  await page.getByLabel('User', { exact: true }).fill('postgres')
  await page.getByLabel('Database', { exact: true }).fill('test')
  await page.getByLabel('Schema', { exact: true }).fill(PG_SCHEMA)
  await page.getByLabel('Password', { exact: true }).fill('not-checked-by-trust')
  await screenshot(page, 'connector-form', 'light')
  await page.getByRole('button', { name: 'Test connection' }).click()
  await page.waitForURL((u) => /^\/connectors\/[\w-]+$/.test(u.pathname) && u.pathname !== '/connectors/new')
  const id = new URL(page.url()).pathname.split('/').pop()
  const banner = page.getByRole('status', { name: 'Connection test' })
  await banner.waitFor()
  assert.match(await banner.innerText(), /Connection works/)

  // The secret is "set", offered for replacement, never filled back: no control holds it or its mask.
  await page.getByRole('button', { name: 'Replace Password' }).waitFor()
  const values = await page.locator('input, textarea').evaluateAll((els) => els.map((e) => e.value))
  assert.ok(!values.some((v) => v.includes('not-checked') || v.includes('****')), `no secret in the form: ${values}`)
  // Saving another change sends no password back; the stored one keeps working.
  await page.getByLabel('Description').fill('E2E warehouse (edited)')
  // Record what the app sends (the typed client passes Request objects, whose bodies the browser does not expose to tests).
  await page.evaluate(() => {
    window.__sent = []
    const orig = window.fetch
    window.fetch = async (input, init) => {
      if (input instanceof Request && input.method === 'PUT') window.__sent.push(await input.clone().text())
      return orig(input, init)
    }
  })
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await page.waitForFunction(() => window.__sent.length === 1)
  await page.getByText('Unsaved changes').waitFor({ state: 'detached' })
  const sent = await page.evaluate(() => window.__sent)
  assert.equal(sent.length, 1)
  const body = JSON.parse(sent[0])
  assert.equal(body.description, 'E2E warehouse (edited)')
  assert.ok(!('password' in body.config), `password not sent back: ${JSON.stringify(body.config)}`)
  assert.doesNotMatch(sent[0], /not-checked|\*\*\*\*/)
  const check = await server.api('POST', `/api/v1/connectors/${id}/check`)
  assert.equal(check.ok, true, check.message)

  // Discover: the table with its fields, key and cursor candidates, then sample rows.
  await page.getByRole('tab', { name: 'Discover' }).click()
  const streams = page.getByRole('list', { name: 'Streams' })
  await streams.getByRole('button', { name: /customers/ }).waitFor()
  const fields = page.getByRole('table', { name: 'Fields of customers' })
  await fields.getByText('Primary key').waitFor()
  assert.match(await fields.innerText(), /updated_at[\s\S]*timestamp[\s\S]*Cursor candidate/)
  await page.getByRole('button', { name: 'Show sample rows' }).click()
  await page.getByRole('table', { name: 'Sample rows of customers' }).getByText('Grace Hopper').waitFor()
  const use = page.getByRole('link', { name: 'Use customers in a pipeline' })
  assert.equal(await use.getAttribute('href'), `/pipelines/new?source=${id}&stream=customers`)
  await screenshot(page, 'connector-discover', 'light')
  assert.deepEqual(page.consoleErrors, [])

  // The list, in both themes.
  for (const theme of ['light', 'dark']) {
    const p = theme === 'light' ? page : await newPage({ colorScheme: 'dark' })
    if (theme === 'dark') await signIn(p, server.base, 'admin', undefined, '/connectors')
    else await p.goto(server.base + '/connectors')
    await p.getByRole('link', { name: 'pg-e2e' }).waitFor()
    await screenshot(p, 'connectors-list', theme)
    if (theme === 'dark') {
      await p.goto(server.base + '/connectors/new')
      await p.getByRole('heading', { name: 'Databases' }).waitFor()
      await screenshot(p, 'connector-new', 'dark')
      await p.goto(server.base + `/connectors/${id}`)
      await p.getByRole('button', { name: 'Replace Password' }).waitFor()
      await screenshot(p, 'connector-detail', 'dark')
    }
    assert.deepEqual(p.consoleErrors, [])
  }

  // The audit log shows the creation of this connector.
  await page.goto(server.base + `/admin/audit?target_id=${id}&action=connector.create`)
  const audit = page.getByRole('table', { name: 'Audit entries' })
  await audit.getByRole('cell', { name: 'connector.create' }).first().waitFor()
  assert.match(await audit.innerText(), new RegExp(`connector\\s*${id.slice(0, 12)}`))
  psql(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`)
})

test('an admin resets a password; the user must choose a new one before anything else', async () => {
  await server.createUser('rita', 'designer')
  const admin = await newPage()
  await signIn(admin, server.base, 'admin', undefined, '/admin/users')
  await admin.getByRole('searchbox', { name: 'Search users' }).fill('rita')
  await admin.getByRole('button', { name: 'Reset password of rita' }).click()
  const dialog = admin.getByRole('dialog', { name: 'Reset the password of rita' })
  await dialog.getByRole('button', { name: 'Generate' }).click()
  const temp = await dialog.getByRole('textbox', { name: 'Temporary password' }).inputValue()
  assert.match(temp, /^[\w]{4}-[\w]{4}-[\w]{4}-[\w]{4}$/)
  await dialog.getByRole('button', { name: 'Set temporary password' }).click()
  await dialog.getByText('must choose a new password').waitFor()
  await dialog.getByRole('button', { name: 'Done' }).click()
  await admin.getByText('Temporary password').waitFor()
  assert.deepEqual(admin.consoleErrors, [])

  const page = await newPage()
  await signIn(page, server.base, 'rita', temp, '/connectors')
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
  await page.getByLabel('Current password').fill(temp)
  await page.getByLabel('New password').fill('Quiet-Harbor-Stone-58')
  await page.getByRole('button', { name: 'Change password' }).click()
  await page.getByRole('heading', { name: 'Connectors', exact: true }).waitFor()
  assert.deepEqual(page.consoleErrors, [])
})

test('a connector applied from a file says so; an edit here shows as drift from the file', async () => {
  const c = await server.api('POST', '/api/v1/connectors', {
    name: 'crm-warehouse', type: 'postgres', description: 'CRM replica',
    config: { host: '127.0.0.1', user: 'postgres', database: 'test' },
  })
  // What `aggregator apply` does after writing it (docs/pipelines-as-code.md).
  await server.api('PUT', `/api/v1/connectors/${c.id}/managed`, { path: 'connectors/crm-warehouse.yaml' })
  for (const theme of ['light', 'dark']) {
    const page = await newPage({ colorScheme: theme })
    await signIn(page, server.base, 'admin', undefined, '/connectors')
    const row = page.getByRole('row').filter({ hasText: 'crm-warehouse' })
    await row.getByText('From file').waitFor()
    await row.getByRole('link', { name: 'crm-warehouse' }).click()
    const note = page.getByRole('note', { name: 'Managed from a file' })
    await note.waitFor()
    if (theme === 'light') {
      assert.match(await note.innerText(), /This connector is managed from connectors\/crm-warehouse\.yaml/)
      // An edit in the API (or here): the page says the file no longer matches.
      await server.api('PUT', `/api/v1/connectors/${c.id}`, {
        name: 'crm-warehouse', type: 'postgres', description: 'CRM replica (moved)',
        config: { host: '127.0.0.1', user: 'postgres', database: 'test' },
      })
      await page.reload()
    }
    await note.getByText(/Changed here since it was applied from/).waitFor()
    assert.match(await note.innerText(), /aggregator export/)
    await screenshot(page, 'connector-managed-drift', theme)
    assert.deepEqual(page.consoleErrors, [])
    await page.close()
  }
})

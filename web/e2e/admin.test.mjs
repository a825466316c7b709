// Connectors, uploads, administration and profile, as users with different roles see them.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, startBrowser, signIn, screenshot, USER_PASSWORD } from './harness.mjs'

let server, browser
before(async () => {
  server = await startServer()
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
      await dialog.getByText(/at least 12/i).waitFor()
      await dialog.getByRole('textbox', { name: 'Password' }).fill(USER_PASSWORD)
      await dialog.getByRole('button', { name: 'Create user' }).click()
      await dialog.waitFor({ state: 'hidden' })
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

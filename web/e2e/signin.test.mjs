import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, startBrowser, signIn, screenshot, ADMIN_PASSWORD, USER_PASSWORD } from './harness.mjs'

let server, browser
before(async () => {
  server = await startServer()
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

test('the sign-in page loads, a wrong password is refused with the server message, the right one signs in', async () => {
  const page = await browser.newPage()
  await page.goto(server.base + '/')
  await page.waitForURL(/\/sign-in/)
  await screenshot(page, 'sign-in', 'light')
  await page.getByRole('textbox', { name: 'Username or email' }).fill('admin')
  await page.getByLabel('Password').fill('not-the-password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  const alert = page.getByRole('alert')
  await alert.waitFor()
  assert.match(await alert.innerText(), /invalid|incorrect|wrong/i)
  await page.getByLabel('Password').fill(ADMIN_PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('navigation', { name: 'Main' }).waitFor()
  for (const name of ['Pipelines', 'Runs', 'Connectors']) {
    assert.ok(await page.getByRole('link', { name }).isVisible(), `nav link ${name}`)
  }
  assert.deepEqual(page.consoleErrors, [])
  const dark = await browser.newPage({ colorScheme: 'dark' })
  await dark.goto(server.base + '/sign-in')
  await dark.getByRole('button', { name: 'Sign in' }).waitFor()
  assert.ok(await dark.evaluate(() => document.documentElement.classList.contains('dark')), 'the system theme is dark')
  await screenshot(dark, 'sign-in', 'dark')
})

test('a reload keeps the session (refresh cookie), and the access token is never stored', async () => {
  const page = await browser.newPage()
  await signIn(page, server.base)
  await page.reload()
  await page.getByRole('navigation', { name: 'Main' }).waitFor()
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie)
  assert.doesNotMatch(stored, /eyJ/, 'no JWT in web storage or script-readable cookies')
})

test('a deep link without a session goes to sign-in and comes back after it', async () => {
  const page = await browser.newPage()
  await page.goto(server.base + '/runs?status=failed')
  await page.waitForURL(/\/sign-in\?next=/)
  await page.getByRole('textbox', { name: 'Username or email' }).fill('admin')
  await page.getByLabel('Password').fill(ADMIN_PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL((u) => u.pathname === '/runs' && u.search === '?status=failed')
})

test('an expired session returns to sign-in and then back to the page the user was on', async () => {
  const user = await server.createUser('ana', 'designer')
  const page = await browser.newPage()
  await signIn(page, server.base, user, USER_PASSWORD, '/connectors')
  await page.waitForURL((u) => u.pathname === '/connectors')
  // The page has loaded what it shows (else its own requests find the session ended first).
  await page.getByText('No connectors yet').waitFor()
  // An administrator changes her role: the server ends her sessions (access and refresh tokens).
  const users = await server.api('GET', '/api/v1/users?search=ana')
  await server.api('PATCH', `/api/v1/users/${users.items[0].id}`, { role: 'developer' })
  await page.getByRole('link', { name: 'Runs' }).click()
  await page.waitForURL((u) => u.pathname === '/sign-in' && u.searchParams.get('expired') === '1')
  await page.getByText('Your session expired').waitFor()
  await page.getByRole('textbox', { name: 'Username or email' }).fill(user)
  await page.getByLabel('Password').fill(USER_PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL((u) => u.pathname === '/runs')
})

test('the SPA fallback keeps API, docs and health handlers', async () => {
  for (const [p, type] of [['/healthz', /json|text/], ['/docs', /html/], ['/api/v1/openapi.json', /json/]]) {
    const r = await fetch(server.base + p)
    assert.equal(r.status, 200, p)
    assert.match(r.headers.get('content-type') ?? '', type, p)
  }
  const r = await fetch(server.base + '/api/v1/nope')
  assert.equal(r.status, 404)
  assert.match(r.headers.get('content-type') ?? '', /problem\+json/)
  const deep = await fetch(server.base + '/pipelines/abc/edit')
  assert.equal(deep.status, 200)
  assert.match(await deep.text(), /<div id="root"/)
  assert.match(deep.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/)
})

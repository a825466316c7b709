// "Connect with Salesforce": a salesforce connector whose login_url is a small authorization server
// started here (a node http server on 127.0.0.1, allow-listed with ALLOWED_OUTBOUND_HOSTS as an admin
// would): the Connect button goes to its authorize page, which sends the browser back to the
// callback page with a code; the server exchanges it (the fake checks the PKCE verifier against the
// challenge, the redirect URI and the client credentials) and the connector page says connected.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createHash } from 'node:crypto'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

const CLIENT_ID = '3MVG9-e2e-consumer'
const CLIENT_SECRET = 'e2e-consumer-secret'

let server, browser, idp, idpURL
const codes = new Map() // code -> { challenge, redirect }
const exchanges = [] // token requests that passed every check

before(async () => {
  let n = 0
  idp = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x')
    const json = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method === 'GET' && u.pathname === '/services/oauth2/authorize') {
      const q = u.searchParams
      if (q.get('client_id') !== CLIENT_ID || q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('state')) {
        res.writeHead(400)
        res.end('bad authorization request')
        return
      }
      const code = `e2e-code-${++n}`
      codes.set(code, { challenge: q.get('code_challenge'), redirect: q.get('redirect_uri') })
      const back = new URL(q.get('redirect_uri'))
      back.searchParams.set('code', code)
      back.searchParams.set('state', q.get('state'))
      res.writeHead(302, { location: back.toString() })
      res.end()
      return
    }
    if (req.method === 'POST' && u.pathname === '/services/oauth2/token') {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        const f = new URLSearchParams(body)
        const pending = codes.get(f.get('code'))
        codes.delete(f.get('code'))
        const verifier = f.get('code_verifier') ?? ''
        const challenge = createHash('sha256').update(verifier).digest('base64url')
        if (f.get('client_id') !== CLIENT_ID || f.get('client_secret') !== CLIENT_SECRET) return json(401, { error: 'invalid_client' })
        if (!pending || pending.redirect !== f.get('redirect_uri') || !verifier || pending.challenge !== challenge) {
          return json(400, { error: 'invalid_grant', error_description: 'code, redirect_uri or code_verifier does not match' })
        }
        exchanges.push(f.get('code'))
        json(200, { access_token: `e2e-access-${exchanges.length}`, refresh_token: `e2e-refresh-${exchanges.length}`, token_type: 'Bearer',
          instance_url: idpURL, id: `${idpURL}/id/00D000000000001/005000000000001` })
      })
      return
    }
    if (req.method === 'GET' && u.pathname === '/id/00D000000000001/005000000000001' && req.headers.authorization?.startsWith('Bearer e2e-access-')) {
      return json(200, { username: 'ada@acme.example', user_id: '005000000000001' })
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise((resolve) => idp.listen(0, '127.0.0.1', resolve))
  idpURL = `http://127.0.0.1:${idp.address().port}`
  server = await startServer({ env: { ALLOWED_OUTBOUND_HOSTS: '127.0.0.1' } })
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
  idp?.close()
})

test('Connect with Salesforce: authorize, callback, connected', async () => {
  for (const theme of ['light', 'dark']) {
    const c = await server.api('POST', '/api/v1/connectors', {
      name: `salesforce-crm-${theme}`, type: 'salesforce', description: 'Accounts and opportunities from the production org',
      config: { auth: { type: 'refresh_token', login_url: idpURL, client_id: CLIENT_ID, client_secret: CLIENT_SECRET } },
    })
    const page = await browser.newPage({ colorScheme: theme })
    await signIn(page, server.base, 'admin', undefined, `/connectors/${c.id}`)
    const panel = page.getByRole('region', { name: 'Connect with Salesforce' })
    await panel.getByText('Not connected').waitFor()
    await screenshot(page, 'connector-oauth-panel', theme)

    await panel.getByRole('button', { name: 'Connect with Salesforce' }).click()
    await page.waitForURL((u) => u.pathname === '/connectors/oauth/callback')
    await page.getByRole('heading', { name: `salesforce-crm-${theme} is connected` }).waitFor()
    await page.getByText('Access was granted by ada@acme.example').waitFor()
    assert.ok(!page.url().includes('code='), 'the code leaves the address bar')
    await screenshot(page, 'connector-oauth-callback', theme)

    await page.getByRole('link', { name: 'Back to the connector' }).click()
    await page.waitForURL((u) => u.pathname === `/connectors/${c.id}`)
    await panel.getByText('Connected', { exact: true }).waitFor()
    await panel.getByText('ada@acme.example').waitFor()
    await screenshot(page, 'connector-oauth-connected', theme)

    // The refresh token is stored (sealed, shown redacted) and the org's instance URL saved.
    const saved = await server.api('GET', `/api/v1/connectors/${c.id}`)
    assert.equal(saved.config.auth.refresh_token, '********')
    assert.equal(saved.config.auth.connected_as, 'ada@acme.example')
    assert.equal(saved.config.instance_url, idpURL)
    assert.deepEqual(page.consoleErrors, [])
    await page.context().close()
  }
  assert.equal(exchanges.length, 2, 'one code exchange per connection')
})

// The REST connector's form: the auth and pagination choices drawn from the oneOf of its JSON
// Schema, and the request tester against a local API (a node http server on 127.0.0.1, allow-listed
// with ALLOWED_OUTBOUND_HOSTS): the records and the inferred schema, then the error of a wrong token.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

let server, browser, api, apiURL
before(async () => {
  api = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x')
    if (req.headers.authorization !== 'Bearer e2e-token-1234') {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error":"invalid token"}')
      return
    }
    const page = Number(u.searchParams.get('page') ?? '1')
    const items = Array.from({ length: 5 }, (_, i) => {
      const id = (page - 1) * 5 + i + 1
      return { id, name: `Order ${id}`, total: 19.5 * id, paid: id % 2 === 0, updated_at: `2024-05-0${i + 1}T10:00:00Z`, customer: { name: `Customer ${id}`, country: 'DE' } }
    })
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ data: items, next: page < 3 ? `/orders?page=${page + 1}` : null }))
  })
  await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve))
  apiURL = `http://127.0.0.1:${api.address().port}`
  server = await startServer({ env: { ALLOWED_OUTBOUND_HOSTS: '127.0.0.1' } })
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
  api?.close()
})

test('the request tester shows the first page and its schema, then a wrong token\'s error', async () => {
  for (const theme of ['light', 'dark']) {
    const page = await browser.newPage({ colorScheme: theme, height: 1400 })
    await signIn(page, server.base, 'admin', undefined, '/connectors/new?type=rest')
    await page.getByRole('textbox', { name: 'URL' }).fill(`${apiURL}/orders`)
    await page.getByRole('textbox', { name: 'Records path' }).fill('data')
    // auth and pagination are tagged unions: pick the option, then its fields appear.
    await page.getByRole('combobox', { name: 'Auth type' }).selectOption({ label: 'Bearer token' })
    await page.getByLabel('Token').fill('e2e-token-1234')
    await page.getByRole('combobox', { name: 'Pagination type' }).selectOption({ label: 'Next URL in the body' })
    await page.getByRole('textbox', { name: 'Path', exact: true }).fill('next')
    await page.getByRole('combobox', { name: 'Auth type' }).scrollIntoViewIfNeeded()
    await page.evaluate(() => window.scrollBy(0, -120))
    await screenshot(page, 'connector-rest-form', theme)
    assert.equal(await page.getByText('Unsupported field schema').count(), 0, 'every field of the schema has a control')
    await page.getByRole('button', { name: 'Test request' }).click()
    const result = page.getByRole('status', { name: 'Test request result' })
    await result.getByText('HTTP 200').waitFor()
    await result.getByText('5 records on the first page').waitFor()
    await result.getByText('next page').waitFor()
    const table = page.getByRole('table', { name: 'Records of the first page' })
    assert.equal(await table.getByRole('row').count(), 6)
    await table.getByRole('cell', { name: 'Order 3' }).waitFor()
    const schema = page.getByRole('list', { name: 'Inferred schema' })
    for (const [field, kind] of [['id', 'int'], ['total', 'float'], ['paid', 'bool'], ['updated_at', 'timestamp'], ['customer', 'json']]) {
      assert.match(await schema.getByRole('listitem').filter({ hasText: field }).first().innerText(), new RegExp(`${field}\\s+${kind}`))
    }
    await result.scrollIntoViewIfNeeded()
    await screenshot(page, 'connector-request-tester', theme)

    if (theme === 'light') {
      await page.getByLabel('Token').fill('wrong-token')
      await page.getByRole('button', { name: 'Test request' }).click()
      await result.getByText('Request failed:').waitFor()
      const msg = await result.innerText()
      assert.match(msg, /GET http:\/\/127\.0\.0\.1:\d+\/orders: 401 Unauthorized: \{"error":"invalid token"\}/)
      assert.ok(!msg.includes('wrong-token'), 'the token is not shown')
    }
    assert.deepEqual(page.consoleErrors, [])
    await page.context().close()
  }
})

// The runs area end to end: a pipeline whose CSV has one row a validate rule rejects runs; its run
// page shows it reach "Succeeded" and the dead letter; a designer fixes the value inline and
// replays; the replay run (linked to the first) succeeds and the fixed row lands in the
// destination file exactly once; a viewer sees the dead letters but no edit or replay controls.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
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

// The machine running the tests is shared: give pages more time than the harness default.
async function newPage(opts) {
  const p = await browser.newPage(opts)
  p.setDefaultTimeout(40_000)
  return p
}

const createPipeline = (_name, yaml) => server.createPipeline(yaml)

async function waitRun(id, want) {
  for (let i = 0; i < 200; i++) {
    const r = await server.api('GET', `/api/v1/runs/${id}`)
    if (r.status === want) return r
    if (['failed', 'cancelled', 'succeeded'].includes(r.status)) assert.fail(`run ${id} ended ${r.status}: ${r.error}`)
    await new Promise((res) => setTimeout(res, 100)) // polling the API, not the page
  }
  assert.fail(`run ${id} did not reach ${want}`)
}

let run, page

test('runs list and run page: a run with a rejected row is followed live; the dead letter shows with its reason', async () => {
  const csv = path.join(server.dataDir, 'people.csv')
  writeFileSync(csv, 'id,name,age\n1,Ada,36\n2,Bob,-5\n3,Cy,41\n')
  const p = await createPipeline('people', `version: 1
name: people
sources:
  - id: people
    type: csv
    config: {path: ${JSON.stringify(csv)}}
transforms:
  - id: check
    type: validate
    inputs: [people]
    config:
      rules:
        - {field: age, type: int, min: 0, message: "age must be 0 or more"}
destinations:
  - id: out
    type: ndjson
    inputs: [check]
    config: {path: out/people.ndjson}
    write: {mode: append}
error_policy: {on_reject: dead_letter, max_reject_ratio: 0.9}
`)

  page = await newPage()
  await signIn(page, server.base, 'admin', undefined, '/runs')
  await page.waitForURL((u) => u.pathname === '/runs')
  await page.getByText('No runs yet').waitFor()

  // The run starts while the list is open: it appears, and finishes, without a reload.
  run = await server.api('POST', `/api/v1/pipelines/${p.id}/run`)
  const row = page.getByRole('row').filter({ hasText: 'people' })
  await row.getByText('Succeeded').waitFor()
  await screenshot(page, 'runs-list', 'light')

  // Filters go to the URL.
  await page.getByRole('button', { name: 'Failed', exact: true }).click()
  await page.waitForURL((u) => u.searchParams.get('status') === 'failed')
  await page.getByText('No run matches these filters').waitFor()
  await page.getByRole('button', { name: 'Clear filters' }).first().click()
  await row.waitFor()

  await row.getByRole('link', { name: 'people' }).click()
  await page.waitForURL((u) => u.pathname === `/runs/${run.id}`)
  await page.getByRole('heading', { name: /people/ }).getByText('Succeeded').waitFor()
  await page.getByRole('group', { name: 'Transform check (validate)' }).waitFor()
  assert.ok(await page.getByText('1 rejected', { exact: false }).first().isVisible())

  // The dead letter, with its reason.
  const dls = page.getByRole('table', { name: 'Dead letters' })
  await dls.getByText('age must be 0 or more').waitFor()
  assert.ok(await dls.getByText('Bob').isVisible())
  await screenshot(page, 'run-page', 'light')

  assert.deepEqual(page.consoleErrors, [])

  // Dark theme screenshots of both pages.
  const dark = await newPage({ colorScheme: 'dark' })
  await signIn(dark, server.base, 'admin', undefined, `/runs/${run.id}`)
  await dark.getByRole('table', { name: 'Dead letters' }).getByText('age must be 0 or more').waitFor()
  await screenshot(dark, 'run-page', 'dark')
  await dark.getByRole('link', { name: 'Runs' }).first().click()
  await dark.getByRole('table', { name: 'Runs' }).getByText('Succeeded').first().waitFor()
  await screenshot(dark, 'runs-list', 'dark')
  assert.deepEqual(dark.consoleErrors, [])
})

test('a viewer sees the dead letters but no edit or replay control', async () => {
  const viewer = await server.createUser('vera', 'viewer')
  const vp = await newPage()
  await signIn(vp, server.base, viewer, USER_PASSWORD, `/runs/${run.id}`)
  await vp.getByRole('table', { name: 'Dead letters' }).getByText('age must be 0 or more').waitFor()
  assert.equal(await vp.getByRole('button', { name: 'Replay', exact: true }).count(), 0)
  assert.equal(await vp.getByRole('button', { name: 'Edit rows' }).count(), 0)
  assert.equal(await vp.getByRole('textbox', { name: /of the row at line/ }).count(), 0)
  assert.deepEqual(vp.consoleErrors, [])
})

test('a designer fixes the rejected value inline and replays it; the replay run lands the row once', async () => {
  // Fix it inline: the changed cell is marked, then Replay with a confirmation.
  const dls = page.getByRole('table', { name: 'Dead letters' })
  await page.getByRole('button', { name: 'Edit rows' }).click()
  const age = dls.getByRole('textbox', { name: /^age of the row at line/ })
  await age.fill('29')
  await dls.getByText('was -5').waitFor()
  await screenshot(page, 'run-page-fix', 'light')
  await page.getByRole('button', { name: 'Replay', exact: true }).click()
  const dialog = page.getByRole('dialog', { name: 'Replay the dead letters?' })
  assert.match(await dialog.innerText(), /1 row \(1 edited\)[\s\S]*current saved[\s\S]*Upsert destinations get no duplicates/)
  await dialog.getByRole('button', { name: 'Start replay' }).click()

  await page.waitForURL((u) => u.pathname.startsWith('/runs/') && u.pathname !== `/runs/${run.id}`)
  const replayId = page.url().split('/runs/')[1].split('?')[0]
  await page.getByRole('link', { name: `Replay of run ${run.id.slice(-8)}` }).waitFor()
  await page.getByRole('heading', { name: /people/ }).getByText('Succeeded').waitFor()
  const replay = await waitRun(replayId, 'succeeded')
  assert.equal(replay.replay_of, run.id)

  // The fixed row landed once (the file is appended to by both runs).
  const outputs = await server.api('GET', `/api/v1/runs/${replayId}/outputs`)
  assert.equal(outputs.length, 1)
  const file = await fetch(`${server.base}/api/v1/runs/${replayId}/outputs/out`, { headers: { Authorization: `Bearer ${await server.adminToken()}` } })
  assert.equal(file.status, 200)
  const lines = (await file.text()).trim().split('\n').map((l) => JSON.parse(l))
  assert.deepEqual(lines.filter((l) => l.name === 'Bob').map((l) => String(l.age)), ['29'])
  assert.deepEqual(lines.map((l) => l.name).sort(), ['Ada', 'Bob', 'Cy'])

  // The outputs tab lists the file.
  await page.getByRole('tab', { name: 'Outputs' }).click()
  await page.getByRole('button', { name: 'Download people.ndjson' }).waitFor()
  await screenshot(page, 'run-page-replay', 'light')
  assert.deepEqual(page.consoleErrors, [])
})

test('a long run shows live counters while it runs, and Cancel stops it', async () => {
  // A run long enough to watch: eight sources read the same 2,000,000-row file into a union, and a
  // filter that keeps nothing (no output to store).
  const csv = path.join(server.dataDir, 'big.csv')
  const rows = ['id,name,amount']
  for (let i = 1; i <= 2_000_000; i++) rows.push(`${i},name-${i},${i % 1000}`)
  writeFileSync(csv, rows.join('\n') + '\n')
  const ids = Array.from({ length: 8 }, (_, i) => `part${i + 1}`)
  const p = await createPipeline('big', `version: 1
name: big
sources:
${ids.map((id) => `  - {id: ${id}, type: csv, config: {path: ${JSON.stringify(csv)}}}`).join('\n')}
transforms:
  - {id: all, type: union, inputs: [${ids.join(', ')}]}
  - {id: none, type: filter, inputs: [all], config: {expression: "amount < 0"}}
destinations:
  - {id: sink, type: ndjson, inputs: [none], config: {path: out/big.ndjson}}
`)
  const page = await newPage()
  await signIn(page, server.base, 'admin', undefined, '/runs')
  const r = await server.api('POST', `/api/v1/pipelines/${p.id}/run`)
  await page.goto(`${server.base}/runs/${r.id}`)
  const heading = page.getByRole('heading', { name: /big/ })
  await heading.getByText('Running').waitFor()
  // The counters move while it runs (live events or polling).
  const read = page.locator('dt', { hasText: 'Rows read' }).locator('xpath=following-sibling::dd')
  const first = Number((await read.innerText()).replace(/\D/g, '') || 0)
  await page.waitForFunction(
    ([el, n]) => Number(el.textContent.replace(/\D/g, '') || 0) > n,
    [await read.elementHandle(), first],
  )
  await screenshot(page, 'run-page-running', 'light')
  await page.getByRole('button', { name: 'Cancel', exact: true }).click()
  await page.getByRole('dialog', { name: 'Cancel this run?' }).getByRole('button', { name: 'Cancel run' }).click()
  await heading.getByText('Cancelled').waitFor()
  assert.deepEqual(page.consoleErrors, [])
})

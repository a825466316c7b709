// The whole path of a new user, through the UI only: sign in, drop a CSV on a new pipeline's canvas,
// drag a map and a destination from the palette and connect them, fill the destination's form, save,
// map the fields in the mapping studio (typed destination fields, Auto-map), run it and watch it
// finish live, fix the one rejected row inline and replay it, and see the row land. Under five minutes.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, startBrowser, signIn, connectNodes, dropFile } from './harness.mjs'

let server, browser
before(async () => {
  server = await startServer()
  browser = await startBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

test('a new user builds, maps, runs, fixes a dead letter and replays it in under five minutes', async () => {
  const started = Date.now()
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, '/pipelines')

  await page.getByRole('button', { name: 'New pipeline' }).first().click() // the header's (the empty list has one too)
  const dialog = page.getByRole('dialog', { name: 'New pipeline' })
  await dialog.getByLabel('Pipeline name').fill('people-journey')
  await dialog.getByRole('button', { name: 'Create pipeline' }).click()
  await page.waitForURL(/\/pipelines\/new$/)
  const canvas = page.getByTestId('canvas')
  await page.getByRole('button', { name: 'Transform: map' }).waitFor()

  // The file becomes a source; the palette gives a map and an NDJSON destination.
  await dropFile(page, canvas, 'people.csv', 'id,name,age\n1,Ada,36\n2,Bob,abc\n3,Cy,41\n', 'text/csv')
  await page.getByRole('group', { name: 'Source people (csv)' }).waitFor()
  const box = await canvas.boundingBox()
  await page.getByRole('button', { name: 'Transform: map' }).dragTo(canvas, { targetPosition: { x: box.width * 0.5, y: box.height * 0.4 } })
  await page.getByRole('group', { name: 'Transform map (map)' }).waitFor()
  await page.getByRole('button', { name: 'Destination: ndjson' }).dragTo(canvas, { targetPosition: { x: box.width * 0.8, y: box.height * 0.6 } })
  await page.getByRole('group', { name: 'Destination ndjson (ndjson)' }).waitFor()
  await connectNodes(page, 'people', 'map')
  await page.locator('.react-flow__edge[data-id="people->map"]').waitFor()
  await connectNodes(page, 'map', 'ndjson')
  await page.locator('.react-flow__edge[data-id="map->ndjson"]').waitFor()
  await page.getByRole('group', { name: 'Destination ndjson (ndjson)' }).click()
  await page.getByRole('complementary', { name: 'Node ndjson' }).getByRole('textbox', { name: 'path' }).fill('out/people.ndjson')
  await page.getByRole('region', { name: 'Problems' }).getByText('The pipeline is valid').waitFor()
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/)
  const pid = page.url().split('/').pop()

  // The mapping studio, from the map node: typed destination fields, Auto-map, save.
  await page.getByRole('group', { name: 'Transform map (map)' }).click()
  await page.getByRole('link', { name: /Open mapping studio/ }).click()
  await page.waitForURL((u) => u.pathname === `/pipelines/${pid}/mapping/map`)
  await page.getByRole('region', { name: 'Source fields' }).getByText('age', { exact: true }).waitFor()
  for (const [name, type] of [['id', 'int'], ['name', 'string'], ['age', 'int']]) {
    await page.getByRole('textbox', { name: 'New destination field' }).fill(name)
    await page.getByRole('combobox', { name: 'Type of the new field' }).selectOption(type)
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.getByRole('button', { name: `Field ${name}` }).waitFor()
  }
  await page.getByRole('button', { name: 'Auto-map' }).click()
  await page.getByRole('region', { name: 'Suggestions' }).getByRole('button', { name: 'Accept all' }).click()
  assert.equal(await page.getByRole('combobox', { name: 'Source of age' }).inputValue(), 'age')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByText('Mapping saved').waitFor()

  // Back to the pipeline, run it, watch it finish with one rejected row.
  await page.getByRole('link', { name: 'Pipeline', exact: true }).click()
  await page.waitForURL((u) => u.pathname === `/pipelines/${pid}`)
  await page.getByRole('button', { name: 'Run', exact: true }).click()
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/)
  const runId = page.url().split('/runs/')[1]
  await page.getByRole('heading', { name: /people-journey/ }).getByText('Succeeded').waitFor()
  const dls = page.getByRole('table', { name: 'Dead letters' })
  await dls.getByText(/age/).first().waitFor()
  assert.ok(await dls.getByText('Bob').isVisible())

  // Fix it inline and replay.
  await page.getByRole('button', { name: 'Edit rows' }).click()
  await dls.getByRole('textbox', { name: /^age of the row at line/ }).fill('29')
  await page.getByRole('button', { name: 'Replay', exact: true }).click()
  await page.getByRole('dialog', { name: 'Replay the dead letters?' }).getByRole('button', { name: 'Start replay' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/runs/') && !u.pathname.endsWith(runId))
  const replayId = page.url().split('/runs/')[1].split('?')[0]
  // The replay's outcome from the API first (a failure names its status and error), then on the page.
  for (let i = 0; ; i++) {
    const r = await server.api('GET', `/api/v1/runs/${replayId}`)
    if (r.status === 'succeeded') break
    if (['failed', 'cancelled'].includes(r.status) || i === 600) assert.fail(`replay run ${replayId} is ${r.status}: ${r.error ?? ''}`)
    await new Promise((res) => setTimeout(res, 100)) // polling the API, not the page
  }
  await page.getByRole('heading', { name: /people-journey/ }).getByText('Succeeded').waitFor()

  // The destination file (appended to by both runs) holds each person once, Bob with the fixed age as an int.
  const res = await fetch(`${server.base}/api/v1/runs/${replayId}/outputs/ndjson`, { headers: { Authorization: `Bearer ${await server.adminToken()}` } })
  assert.equal(res.status, 200)
  const rows = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
  assert.deepEqual(rows.map((r) => r.name).sort(), ['Ada', 'Bob', 'Cy'])
  assert.deepEqual(rows.find((r) => r.name === 'Bob'), { id: 2, name: 'Bob', age: 29 })
  assert.deepEqual(page.consoleErrors, [])
  assert.ok(Date.now() - started < 5 * 60_000, `the journey took ${Math.round((Date.now() - started) / 1000)} s`)
})

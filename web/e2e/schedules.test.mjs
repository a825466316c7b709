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

const spec = (name, schedule = '') => `# ${name}: made by the schedules test
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
${schedule}`

const poll = async (what, fn, ms = 15_000) => {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

test('schedule editor: presets, plain words and next runs as you type, errors on the field, zone search, misfire, YAML, save, pause and resume', async () => {
  const p = await server.createPipeline(spec('orders-nightly'))
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, `/pipelines/${p.id}`)
  await page.getByRole('button', { name: /^Schedule/ }).click()
  const dialog = page.getByRole('dialog', { name: 'Schedule' })
  await dialog.getByRole('checkbox', { name: 'Run this pipeline on a schedule' }).check()

  // A preset, read back in plain words with five next runs.
  await dialog.getByRole('button', { name: 'Weekdays at 06:00' }).click()
  const description = dialog.getByTestId('schedule-description')
  await poll('weekday reading', async () => (await description.innerText().catch(() => '')) === 'At 06:00 on Monday to Friday')
  assert.equal(await dialog.getByRole('list', { name: 'Next runs' }).getByRole('listitem').count(), 5)

  // A wrong field is named under the input, and Apply waits for a valid expression.
  const cron = dialog.getByRole('textbox', { name: 'Cron expression' })
  await cron.fill('61 * * * *')
  await dialog.getByText(/minute: "61"/).waitFor()
  assert.ok(await dialog.getByRole('button', { name: 'Apply to spec' }).isDisabled())
  await cron.fill('*/15 * * * *')
  await poll('15-minute reading', async () => (await description.innerText().catch(() => '')) === 'Every 15 minutes')

  // The time zone, found by searching words.
  const zone = dialog.getByRole('combobox', { name: 'Time zone' })
  await zone.click()
  await zone.fill('new york')
  await page.getByRole('option', { name: 'America/New York' }).click()
  await dialog.getByText('Next runs (America/New_York)').waitFor()
  await dialog.getByRole('radio', { name: /Run once to catch up/ }).check()
  await screenshot(page, 'schedule-editor', 'light')
  await dialog.getByRole('button', { name: 'Apply to spec' }).click()
  await dialog.waitFor({ state: 'detached' })

  // The YAML holds it, comments kept; Save makes it live.
  await page.getByRole('tab', { name: 'YAML' }).click()
  const yaml = await page.getByRole('textbox', { name: 'Pipeline YAML' }).innerText()
  assert.match(yaml, /# orders-nightly: made by the schedules test/)
  assert.match(yaml, /schedule:/)
  assert.match(yaml, /cron: "?\*\/15 \* \* \* \*"?/)
  assert.match(yaml, /timezone: America\/New_York/)
  assert.match(yaml, /misfire: run_once/)
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  const saved = await poll('saved schedule', async () => {
    const got = await server.api('GET', `/api/v1/pipelines/${p.id}`)
    return got.version === 2 && got
  })
  assert.equal(saved.schedule.cron, '*/15 * * * *')
  assert.equal(saved.schedule.timezone, 'America/New_York')
  assert.equal(saved.schedule.misfire, 'run_once')
  assert.equal(saved.schedule.description, 'Every 15 minutes')
  assert.equal(saved.schedule.next_runs.length, 5)

  // Pause and resume from the dialog: no new version.
  await page.getByRole('button', { name: /^Schedule/ }).click()
  await dialog.getByText('Active').waitFor()
  await dialog.getByRole('button', { name: 'Pause', exact: true }).click()
  await dialog.getByText('Paused').waitFor()
  let got = await server.api('GET', `/api/v1/pipelines/${p.id}`)
  assert.equal(got.schedule.paused, true)
  assert.equal(got.version, 2)
  assert.deepEqual(got.schedule.next_runs, [])
  await dialog.getByRole('button', { name: 'Resume', exact: true }).click()
  await dialog.getByText('Active').waitFor()
  got = await server.api('GET', `/api/v1/pipelines/${p.id}`)
  assert.equal(got.schedule.paused, false)
  const audit = await server.api('GET', '/api/v1/audit-logs?action=pipeline.schedule.&target_id=' + p.id)
  assert.ok((audit.items ?? []).length >= 2, `audit: ${JSON.stringify(audit)}`)
  assert.deepEqual(page.consoleErrors, [])

  // Dark.
  const dark = await browser.newPage({ colorScheme: 'dark' })
  await signIn(dark, server.base, 'admin', undefined, `/pipelines/${p.id}`)
  await dark.getByRole('button', { name: /^Schedule/ }).click()
  await dark.getByRole('dialog', { name: 'Schedule' }).getByTestId('schedule-description').waitFor()
  await screenshot(dark, 'schedule-editor', 'dark')
  assert.deepEqual(dark.consoleErrors, [])
})

test('pipelines list: next run and its plain words, paused badge', async () => {
  await server.createPipeline(spec('hourly-sync', 'schedule: {cron: "0 * * * *", timezone: Europe/Berlin}\n'))
  const paused = await server.createPipeline(spec('weekly-report', 'schedule: {cron: "0 6 * * 1"}\n'))
  await server.api('POST', `/api/v1/pipelines/${paused.id}/schedule/pause`)
  for (const theme of ['light', 'dark']) {
    const page = await browser.newPage({ colorScheme: theme })
    await signIn(page, server.base, 'admin', undefined, '/pipelines')
    const table = page.getByRole('table', { name: 'Pipelines' })
    await table.getByRole('columnheader', { name: 'Next run' }).waitFor()
    const row = (name) => table.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) })
    await row('hourly-sync').getByText('Every hour').waitFor()
    assert.match(await row('hourly-sync').innerText(), /in \d+ minutes?|in \d+ seconds?|in 1 hour/)
    await row('weekly-report').getByText('Paused').waitFor()
    await row('weekly-report').getByText('At 06:00 on Monday').waitFor()
    await screenshot(page, 'pipelines-next-run', theme)
    assert.deepEqual(page.consoleErrors, [])
  }
})

test('a schedule fires by itself: "* * * * *" starts a run with trigger schedule within about a minute, shown in the runs list', async () => {
  const p = await server.createPipeline(spec('every-minute', 'schedule: {cron: "* * * * *"}\n'))
  const run = await poll(
    'a scheduled run',
    async () => {
      const runs = await server.api('GET', `/api/v1/runs?pipeline_id=${p.id}`)
      return (runs.items ?? []).find((r) => r.trigger === 'schedule')
    },
    150_000,
  )
  // Pausing stops the ticks.
  await server.api('POST', `/api/v1/pipelines/${p.id}/schedule/pause`)
  const page = await browser.newPage()
  await signIn(page, server.base, 'admin', undefined, '/runs')
  await page.getByRole('row').filter({ hasText: 'every-minute' }).filter({ hasText: 'Schedule' }).first().waitFor()
  assert.equal(run.trigger, 'schedule')
  // At most one run per minute boundary passed since the save.
  const runs = await server.api('GET', `/api/v1/runs?pipeline_id=${p.id}&per_page=100`)
  const scheduled = (runs.items ?? []).filter((r) => r.trigger === 'schedule')
  const ticks = Math.floor(Date.now() / 60_000) - Math.floor(Date.parse(p.created_at) / 60_000)
  assert.ok(scheduled.length >= 1 && scheduled.length <= ticks, `${scheduled.length} scheduled runs for ${ticks} ticks`)
  assert.deepEqual(page.consoleErrors, [])
})

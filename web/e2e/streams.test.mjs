// A streaming deployment on the scaled-out shape: an API node (serve, RUN_WORKERS=0) and two
// `aggregator worker` processes run a NATS JetStream -> PostgreSQL pipeline with parallelism 2. The run
// page shows the live throughput, the committed position and lag of the consumer, the two instances
// with their workers, and pauses, resumes and stops the stream (stop after a confirmation).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { startServer, startBrowser, signIn, screenshot } from './harness.mjs'

const NATS = process.env.AGG_TEST_NATS_URL || 'nats://127.0.0.1:4222'
const stream = `E2E_${Date.now()}`
const subject = stream.toLowerCase()

/** A minimal NATS client over the text protocol: publish, and request (for the JetStream API). */
async function nats() {
  const u = new URL(NATS)
  const sock = net.connect(Number(u.port || 4222), u.hostname)
  let buf = ''
  const waiters = []
  sock.on('data', (d) => {
    buf += d.toString()
    for (let i; (i = buf.indexOf('\r\n')) >= 0; ) {
      const line = buf.slice(0, i)
      if (line.startsWith('MSG ')) {
        const n = Number(line.split(' ').at(-1))
        if (buf.length < i + 2 + n + 2) return
        const body = buf.slice(i + 2, i + 2 + n)
        buf = buf.slice(i + 2 + n + 2)
        waiters.shift()?.(body)
        continue
      }
      buf = buf.slice(i + 2)
      if (line === 'PING') sock.write('PONG\r\n')
    }
  })
  await new Promise((r) => sock.once('connect', r))
  sock.write('CONNECT {"verbose":false}\r\nSUB _e2e.reply 1\r\n')
  const pub = (subj, body, reply = '') => sock.write(`PUB ${subj} ${reply} ${Buffer.byteLength(body)}\r\n${body}\r\n`)
  return {
    pub,
    request: (subj, body) => new Promise((resolve) => { waiters.push(resolve); pub(subj, body, '_e2e.reply') }),
    close: () => sock.end(),
  }
}

let server, browser, nc
before(async () => {
  server = await startServer({ postgres: true, env: { RUN_WORKERS: '0' } })
  browser = await startBrowser()
  nc = await nats()
  const created = JSON.parse(await nc.request(`$JS.API.STREAM.CREATE.${stream}`, JSON.stringify({ name: stream, subjects: [`${subject}.>`] })))
  assert.ok(!created.error, JSON.stringify(created.error))
})
after(async () => {
  if (nc) {
    await nc.request(`$JS.API.STREAM.DELETE.${stream}`, '{}')
    nc.close()
  }
  await browser?.close()
  await server?.stop()
})

const publish = (from, to) => {
  for (let i = from; i <= to; i++) nc.pub(`${subject}.orders`, JSON.stringify({ id: i, customer: `customer ${i}`, amount: (i % 100) + 0.5 }))
}

test('run page: a streaming deployment with live throughput, lag, instances and its controls', async () => {
  server.startWorker(['--concurrency', '1'])
  server.startWorker(['--concurrency', '1'])
  publish(1, 3000)
  await server.api('POST', '/api/v1/connectors', { name: 'warehouse', type: 'postgres', config: { url: server.pg.url, table: 'orders' } })
  const p = await server.createPipeline(`version: 1
name: orders-stream
parallelism: 2
sources:
  - id: orders
    type: nats_jetstream
    config: {url: "${NATS}", stream: ${stream}, subjects: ["${subject}.>"], durable: agg-orders, metadata: false,
             fields: [{name: id, type: int}, {name: customer, type: string}, {name: amount, type: decimal}]}
destinations:
  - {id: db, connector: warehouse, inputs: [orders], write: {mode: upsert, key: [id]}}
`)
  const run = await server.api('POST', `/api/v1/pipelines/${p.id}/run`, {})
  const page = await browser.newPage({ width: 1440, height: 1100 })
  await signIn(page, server.base, 'admin', undefined, `/runs/${run.id}`)
  const instances = page.getByRole('list', { name: 'Instances' })
  await instances.waitFor({ timeout: 60_000 })
  assert.equal(await instances.getByRole('listitem').count(), 2)
  // both instances run, each on its own worker
  await instances.getByRole('listitem').filter({ hasText: 'Running' }).nth(1).waitFor({ timeout: 60_000 })
  const partitions = page.getByRole('table', { name: 'Partitions' })
  // one row for the durable consumer both instances share
  await partitions.getByRole('row').filter({ hasText: `${stream}/agg-orders` }).filter({ hasText: '#0, #1' }).waitFor({ timeout: 30_000 })
  // keep the stream moving while the page shows it
  let next = 3001
  const feeder = setInterval(() => {
    publish(next, next + 199)
    next += 200
  }, 200)
  try {
    // committed positions move: the instances commit what they wrote
    await partitions.getByText(/stream sequence [1-9]/).first().waitFor({ timeout: 30_000 })
    await page.waitForTimeout(2500) // a few live samples for the throughput line
    await partitions.scrollIntoViewIfNeeded()
    await screenshot(page, 'run-stream')
    const dark = await browser.newPage({ width: 1440, height: 1100, colorScheme: 'dark' })
    await signIn(dark, server.base, 'admin', undefined, `/runs/${run.id}`)
    await dark.getByRole('table', { name: 'Partitions' }).getByText(/stream sequence [1-9]/).first().waitFor({ timeout: 30_000 })
    await dark.waitForTimeout(2500)
    await screenshot(dark, 'run-stream', 'dark')
    await dark.close()
  } finally {
    clearInterval(feeder)
  }
  const detail = await server.api('GET', `/api/v1/runs/${run.id}`)
  const workers = new Set(detail.deployment.instances.map((i) => i.worker_id))
  assert.equal(workers.size, 2, `instances on ${[...workers].join(', ')}`)

  await page.getByRole('button', { name: 'Pause' }).click()
  await page.getByText('Paused', { exact: true }).first().waitFor({ timeout: 30_000 })
  await page.getByRole('button', { name: 'Resume' }).waitFor({ timeout: 30_000 })
  await page.getByRole('button', { name: 'Resume' }).click()
  await page.getByRole('button', { name: 'Pause' }).waitFor({ timeout: 30_000 })
  await page.getByRole('button', { name: 'Stop' }).click()
  await page.getByRole('dialog', { name: 'Stop this stream?' }).getByRole('button', { name: 'Stop stream' }).click()
  await page.getByText('Succeeded', { exact: true }).first().waitFor({ timeout: 60_000 })
  const done = await server.api('GET', `/api/v1/runs/${run.id}`)
  assert.equal(done.status, 'succeeded', done.error)
  assert.equal(done.deployment.state, 'stopped')
  const n = server.pg.sql(`SELECT COUNT(*) FROM ${server.pg.schema}.orders WHERE id <= 3000`).trim()
  assert.equal(n, '3000')
  assert.deepEqual(page.consoleErrors, [])
})

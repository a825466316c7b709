// End-to-end harness: a real `aggregator serve` (the binary with the UI embedded) on a temporary
// SQLite store and a free port, and Debian's chromium driven by playwright-core. Each test file
// starts its own server (startServer) and browser (startBrowser) and stops them in `after`.
//
//   AGGREGATOR_BIN   the binary (default ../bin/aggregator, built by `make build`)
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   SCREENSHOTS      folder for screenshots (default ../docs/screenshots)
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
export const repo = path.resolve(here, '../..')
export const ADMIN_PASSWORD = 'Quartz-Lantern-42-Orbit'
export const USER_PASSWORD = 'Velvet-Harbor-73-Comet'

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

const bin = () => process.env.AGGREGATOR_BIN || path.join(repo, 'bin/aggregator')

/** The PostgreSQL the Go tests use (AGG_TEST_POSTGRES_URL, docs/development.md). */
const postgresURL = process.env.AGG_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'

/** Creates a fresh schema in the test database; returns the store URL that uses it and a drop function. */
function freshPostgres() {
  const schema = `e2e_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  execFileSync('psql', [postgresURL, '-qAtc', `CREATE SCHEMA ${schema}`], { stdio: 'pipe' })
  const u = new URL(postgresURL)
  u.searchParams.set('search_path', schema)
  return {
    url: u.toString(),
    schema,
    /** Runs SQL (psql) on the test database; qualify names with the schema. */
    sql: (q) => execFileSync('psql', [postgresURL, '-qAtc', q], { stdio: 'pipe' }).toString(),
    drop: () => execFileSync('psql', [postgresURL, '-qAtc', `DROP SCHEMA ${schema} CASCADE`], { stdio: 'pipe' }),
  }
}

/**
 * Starts a server on a fresh data directory; resolves when /readyz answers. With postgres, the
 * store is a fresh schema of the local PostgreSQL (dropped by stop) instead of SQLite, and
 * server.startWorker starts `aggregator worker` processes on it.
 */
export async function startServer({ env = {}, postgres = false } = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'agg-e2e-'))
  const port = await freePort()
  const logs = []
  const pg = postgres ? freshPostgres() : null
  const common = {
    ...process.env,
    DATA_DIR: dataDir,
    ADMIN_PASSWORD,
    LOG_LEVEL: 'warn',
    FILE_ROOTS: dataDir,
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...env,
  }
  const proc = spawn(bin(), ['serve'], { env: { ...common, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
  const workers = []
  proc.stdout.on('data', (d) => logs.push(d.toString()))
  proc.stderr.on('data', (d) => logs.push(d.toString()))
  const base = `http://127.0.0.1:${port}`
  const exited = new Promise((resolve) => proc.on('exit', resolve))
  for (let i = 0; ; i++) {
    const code = await Promise.race([exited.then((c) => ({ exited: c })), delay(100)])
    if (code && typeof code === 'object') throw new Error(`aggregator serve exited (${code.exited}):\n${logs.join('')}`)
    try {
      const r = await fetch(base + '/readyz')
      if (r.ok) break
    } catch {
      /* not listening yet */
    }
    if (i > 300) throw new Error('aggregator serve did not become ready in 30 s:\n' + logs.join(''))
  }
  // A binary built before web/dist existed serves the how-to-build page instead of the app.
  const index = await (await fetch(base + '/')).text()
  if (!index.includes('<div id="root"')) {
    proc.kill('SIGTERM')
    throw new Error(`${bin()} has no web app embedded: build web/dist first, then the binary (make build)`)
  }
  const server = {
    base,
    dataDir,
    logs,
    /** The PostgreSQL store's schema ({ url, schema, sql }) when started with postgres. */
    pg,
    async stop() {
      await Promise.all(workers.map((w) => w.stop()))
      proc.kill('SIGTERM')
      await exited
      pg?.drop()
      rmSync(dataDir, { recursive: true, force: true })
    },
    /** Starts an `aggregator worker` process on the server's store (PostgreSQL only); stop() ends it with SIGTERM. */
    startWorker(args = []) {
      if (!pg) throw new Error('startWorker needs startServer({ postgres: true }): a SQLite store has one owner')
      const wp = spawn(bin(), ['worker', ...args], { env: common, stdio: ['ignore', 'pipe', 'pipe'] })
      wp.stdout.on('data', (d) => logs.push(d.toString()))
      wp.stderr.on('data', (d) => logs.push(d.toString()))
      const done = new Promise((resolve) => wp.on('exit', resolve))
      const w = {
        pid: wp.pid,
        exited: done,
        async stop() {
          if (wp.exitCode === null && wp.signalCode === null) wp.kill('SIGTERM')
          return done
        },
      }
      workers.push(w)
      return w
    },
    /** Calls the API as admin (or with the given token); returns parsed JSON. */
    async api(method, p, body, token) {
      const t = token ?? (await server.adminToken())
      const res = await fetch(base + p, {
        method,
        headers: { Authorization: `Bearer ${t}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body !== undefined ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
      })
      const text = await res.text()
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`)
      return text ? JSON.parse(text) : null
    },
    _admin: null,
    async adminToken() {
      if (!server._admin) server._admin = await login(base, 'admin', ADMIN_PASSWORD)
      return server._admin
    },
    /** Saves a pipeline from its YAML as admin; returns the created pipeline. */
    async createPipeline(yaml) {
      const res = await fetch(base + '/api/v1/pipelines', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await server.adminToken()}`, 'Content-Type': 'application/yaml' },
        body: yaml,
      })
      const text = await res.text()
      if (res.status !== 201) throw new Error(`create pipeline: ${res.status} ${text}`)
      return JSON.parse(text)
    },
    /** Creates a user with a role; returns its username. */
    async createUser(username, role) {
      await server.api('POST', '/api/v1/users', { username, email: `${username}@example.com`, password: USER_PASSWORD, role })
      return username
    },
  }
  return server
}

async function login(base, name, password) {
  const r = await fetch(base + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: name, password }),
  })
  if (!r.ok) throw new Error(`login ${name}: ${r.status} ${await r.text()}`)
  return (await r.json()).access_token
}

function delay(ms) {
  return new Promise((r) => setTimeout(r, ms))
}

/** Launches headless chromium; the page fails the test on any console error or page error. */
export async function startBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  })
  return {
    browser,
    async newPage({ width = 1440, height = 900, colorScheme = 'light' } = {}) {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme, acceptDownloads: true })
      const page = await context.newPage()
      page.consoleErrors = []
      page.on('console', (m) => {
        // A failed request (a 401 on a wrong password) is logged by the browser, not by the app: not an error here.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.consoleErrors.push(m.text())
      })
      page.on('pageerror', (e) => page.consoleErrors.push(String(e)))
      page.setDefaultTimeout(15_000)
      return page
    },
    close: () => browser.close(),
  }
}

/** Signs in through the form, as a user would. */
export async function signIn(page, base, username = 'admin', password = ADMIN_PASSWORD, path = '/') {
  await page.goto(base + path)
  await page.getByRole('textbox', { name: 'Username or email' }).fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('navigation', { name: 'Main' }).waitFor()
}

/** Saves a screenshot of the page to docs/screenshots/<name>-<theme>.png. */
export async function screenshot(page, name, theme = 'light') {
  const dir = process.env.SCREENSHOTS || path.join(repo, 'docs/screenshots')
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: path.join(dir, `${name}-${theme}.png`) })
}

/** Drops a file on target as a user dragging it from the desktop would. */
export async function dropFile(page, target, name, content, type) {
  const dt = await page.evaluateHandle(
    ([n, c, t]) => {
      const d = new DataTransfer()
      d.items.add(new File([c], n, { type: t }))
      return d
    },
    [name, content, type],
  )
  await target.dispatchEvent('dragover', { dataTransfer: dt })
  await target.dispatchEvent('drop', { dataTransfer: dt })
}

/** Drags from one node's output handle to another node's input handle. */
export async function connectNodes(page, from, to) {
  // Lay out first so that no node hides under another or under the mini map.
  const close = page.getByRole('button', { name: 'Close panel' })
  if (await close.isVisible()) await close.click()
  await page.getByRole('button', { name: 'Auto-layout' }).click()
  await page.locator('[data-testid="canvas"][data-layout="done"]').waitFor()
  const src = page.locator(`.react-flow__node[data-id="${from}"] .react-flow__handle.source`)
  const dst = page.locator(`.react-flow__node[data-id="${to}"] .react-flow__handle.target`)
  await handlesAtRest(page, [src, dst])
  const a = await src.boundingBox()
  const b = await dst.boundingBox()
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2)
  await page.mouse.down()
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 })
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 })
  await page.mouse.up()
}

/**
 * Waits until the handles stand still: their boxes are the same across two animation frames (the
 * layout, the viewport fit and the nodes' own measuring can each move them for a frame or two).
 */
async function handlesAtRest(page, handles) {
  const boxes = async () => {
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
    return JSON.stringify(await Promise.all(handles.map((h) => h.boundingBox())))
  }
  let last = await boxes()
  for (let i = 0; i < 60; i++) {
    const now = await boxes()
    if (now === last) return
    last = now
  }
  throw new Error('the handles kept moving for 120 animation frames')
}

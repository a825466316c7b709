// Speed of the web app, measured in the browser (Debian chromium through playwright-core) against a
// real `aggregator serve`:
//  - JavaScript loaded by the sign-in page and by the builder (each file gzipped at level 9, the
//    size it would transfer compressed; and the raw bytes);
//  - a canvas of 100 nodes: time from clicking the pipeline's link (SPA navigation, chunks cached)
//    to 100 nodes drawn and laid out; time to drag one node across the canvas (20 pointer moves) and
//    the longest frame during that drag.
// Usage: cd web && AGGREGATOR_BIN=../bin/aggregator node scripts/bench-canvas.mjs [runs=5]
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { startServer, startBrowser, signIn, repo } from '../e2e/harness.mjs'

const runs = Number(process.argv[2] ?? 5)
const dist = path.join(repo, 'web/dist')

function jsBytes(urls) {
  let raw = 0
  let gz = 0
  const files = []
  for (const u of urls) {
    const p = path.join(dist, new URL(u).pathname)
    const b = readFileSync(p)
    const g = gzipSync(b, { level: 9 }).length
    raw += b.length
    gz += g
    files.push(`${path.basename(p)} ${(g / 1024).toFixed(1)} KiB`)
  }
  return { raw, gz, files }
}

const scripts = (page) => page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.js')))

/** 4k nodes: 2k CSV sources, k unions of two sources each, k CSV destinations (k=25: 100 nodes). */
function bigSpec(name, k = 25) {
  const lines = ['version: 1', `name: ${name}`, 'sources:']
  for (let i = 0; i < 2 * k; i++) lines.push(`  - {id: s${i}, type: csv, config: {path: in.csv}}`)
  lines.push('transforms:')
  for (let i = 0; i < k; i++) lines.push(`  - {id: u${i}, type: union, inputs: [s${2 * i}, s${2 * i + 1}], config: {}}`)
  lines.push('destinations:')
  for (let i = 0; i < k; i++) lines.push(`  - {id: d${i}, type: csv, inputs: [u${i}], config: {path: out/d${i}.csv}}`)
  return lines.join('\n') + '\n'
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const server = await startServer()
const browser = await startBrowser()
try {
  const token = await server.adminToken()
  for (const [name, k] of [['big-a', 25], ['big-b', 25], ['small', 3]]) {
    const r = await fetch(server.base + '/api/v1/pipelines', {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/yaml' }, body: bigSpec(name, k),
    })
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${await r.text()}`)
  }

  // JavaScript of the sign-in page (a fresh context: nothing cached).
  const signInPage = await browser.newPage()
  await signInPage.goto(server.base + '/sign-in')
  await signInPage.getByRole('button', { name: 'Sign in' }).waitFor()
  await signInPage.waitForLoadState('networkidle')
  const signInJs = jsBytes(await scripts(signInPage))

  const page = await browser.newPage({ width: 1440, height: 900 })
  await signIn(page, server.base, 'admin', undefined, '/pipelines')
  const before = new Set(await scripts(page))
  // Warm-up: open one big pipeline (loads the builder's chunks), then measure on the other.
  await page.getByRole('link', { name: 'big-a' }).click()
  await page.locator('[data-testid="canvas"][data-layout="done"]').waitFor()
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 100)
  const builderJs = jsBytes((await scripts(page)).filter((u) => !before.has(u)))
  const appJs = jsBytes(await scripts(page))

  async function measure(name, count) {
    const render = []
    const drag = []
    const longest = []
    for (let i = 0; i < runs; i++) {
      await page.goto(server.base + '/pipelines')
      await page.getByRole('link', { name, exact: true }).waitFor()
      await page.evaluate(() => {
        window.__t0 = performance.now()
      })
      await page.getByRole('link', { name, exact: true }).click()
      const ms = await page.evaluate(
        (c) =>
          new Promise((resolve) => {
            const tick = () => {
              const done = document.querySelector('[data-testid="canvas"][data-layout="done"]')
              const n = document.querySelectorAll('.react-flow__node').length
              if (done && n === c) resolve(performance.now() - window.__t0)
              else requestAnimationFrame(tick)
            }
            tick()
          }),
        count,
      )
      render.push(ms)

      // Drag node u1 by 300 px right and 150 px down in 20 moves, recording frame intervals.
      const node = page.locator('.react-flow__node[data-id="u1"]')
      const b = await node.boundingBox()
      await page.evaluate(() => {
        window.__frames = []
        let last = performance.now()
        window.__stop = false
        const f = (t) => {
          window.__frames.push(t - last)
          last = t
          if (!window.__stop) requestAnimationFrame(f)
        }
        requestAnimationFrame(f)
      })
      const t0 = Date.now()
      await page.mouse.move(b.x + 40, b.y + b.height / 2)
      await page.mouse.down()
      await page.mouse.move(b.x + 340, b.y + b.height / 2 + 150, { steps: 20 })
      await page.mouse.up()
      // The drag is over when the node is drawn at its new place.
      await page.waitForFunction(
        ([x0]) => {
          const el = document.querySelector('.react-flow__node[data-id="u1"]')
          return el && el.getBoundingClientRect().x > x0 + 100
        },
        [b.x],
      )
      drag.push(Date.now() - t0)
      longest.push(await page.evaluate(() => {
        window.__stop = true
        return Math.max(...window.__frames.slice(1))
      }))
    }
    return { render, drag, longest }
  }
  const small = await measure('small', 12)
  const big = await measure('big-b', 100)
  if (page.consoleErrors.length) throw new Error('console errors: ' + page.consoleErrors.join('\n'))

  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
  console.log(`sign-in page JS: ${kib(signInJs.gz)} gzipped (${kib(signInJs.raw)} raw): ${signInJs.files.join(', ')}`)
  console.log(`builder chunks loaded on opening a pipeline: ${kib(builderJs.gz)} gzipped (${kib(builderJs.raw)} raw): ${builderJs.files.join(', ')}`)
  console.log(`builder page total JS: ${kib(appJs.gz)} gzipped (${kib(appJs.raw)} raw)`)
  for (const [label, m] of [['12-node canvas (baseline)', small], ['100-node canvas', big]]) {
    console.log(`${label}, open to drawn and laid out (ms): ${m.render.map((x) => x.toFixed(0)).join(' ')}; median ${median(m.render).toFixed(0)}`)
    console.log(`${label}, drag one node (20 moves) (ms): ${m.drag.join(' ')}; median ${median(m.drag)}`)
    console.log(`${label}, longest frame during the drag (ms): ${m.longest.map((x) => x.toFixed(0)).join(' ')}; median ${median(m.longest).toFixed(0)}`)
  }
} finally {
  await browser.close()
  await server.stop()
}

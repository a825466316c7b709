import { describe, expect, it } from 'vitest'
import { addNode, connect, removeNode, renameNode, setConfig } from '@/features/graph'
import { applySpec, parseSpec } from './yamlSync'

const text = `# Orders, cleaned.
version: 1
name: orders-clean
sources:
  - id: orders # the raw export
    type: csv
    config: {path: data/orders.csv}
transforms:
  # keep the paid ones
  - id: paid
    type: filter
    inputs: [orders]
    config: {expression: "status == 'paid'"}
destinations:
  - id: out
    type: ndjson
    inputs: [paid]
    config: {path: out/orders.ndjson}
`

describe('YAML <-> spec', () => {
  it('parses the spec and reports a syntax error with its line', () => {
    const ok = parseSpec(text)
    expect(ok.error).toBeNull()
    expect(ok.spec!.transforms![0]).toEqual({ id: 'paid', type: 'filter', inputs: ['orders'], config: { expression: "status == 'paid'" } })
    const bad = parseSpec('version: 1\nname: x\nsources: [\n')
    expect(bad.spec).toBeNull()
    expect(bad.error!.line).toBeGreaterThan(0)
    expect(parseSpec('- a\n- b\n').error!.message).toMatch(/mapping/)
  })

  it('keeps comments and flow style when the canvas adds and connects a node', () => {
    const spec = parseSpec(text).spec!
    let next = addNode(spec, 'destination', 'csv', { id: 'copy' }).spec
    next = connect(next, 'paid', 'copy').spec
    next = setConfig(next, 'copy', { path: 'out/copy.csv' })
    const out = applySpec(text, next)
    expect(out).toContain('# Orders, cleaned.')
    expect(out).toContain('- id: orders # the raw export')
    expect(out).toContain('  # keep the paid ones')
    expect(out).toContain('config: {path: data/orders.csv}')
    expect(out).toContain('inputs: [paid]')
    expect(parseSpec(out).spec).toEqual(next)
  })

  it('turns an empty inline list into a block list when the first node is added', () => {
    const blank = 'version: 1\nname: x\nsources: []\ndestinations: []\n'
    const next = addNode(parseSpec(blank).spec!, 'source', 'csv', { config: { path: 'a.csv' } }).spec
    const out = applySpec(blank, next)
    expect(out).toContain('sources:\n  - id: csv\n    type: csv\n    config:\n      path: a.csv\n')
    expect(out).toContain('destinations: []')
  })

  it('follows a rename, a config edit and a removal', () => {
    const spec = parseSpec(text).spec!
    let next = renameNode(spec, 'paid', 'only_paid').spec
    next = setConfig(next, 'only_paid', { expression: 'amount > 10' })
    let out = applySpec(text, next)
    expect(out).toContain('  # keep the paid ones\n  - id: only_paid')
    expect(out).toContain('inputs: [only_paid]')
    expect(out).toContain('config: {expression: "amount > 10"}')
    expect(parseSpec(out).spec).toEqual(next)
    out = applySpec(out, removeNode(next, 'only_paid'))
    expect(out).not.toContain('only_paid')
    expect(out).toContain('# Orders, cleaned.')
    expect(parseSpec(out).spec!.destinations[0].inputs).toEqual([])
  })
})

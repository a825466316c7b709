import { describe, expect, it } from 'vitest'
import {
  addNode, connect, connectionProblem, disconnect, findCycle, inputProblems, mappingNodeFor, nodeOfPath, removeNode, renameNode,
  specEdges, uniqueId, type PipelineSpec,
} from './spec'
import { specToFlow } from './flow'
import { layout } from './layout'

const bounds = {
  filter: { min_inputs: 1, max_inputs: 1 },
  union: { min_inputs: 2, max_inputs: 0 },
  join: { min_inputs: 2, max_inputs: 2 },
}

function sample(): PipelineSpec {
  return {
    version: 1,
    name: 'orders-join',
    sources: [
      { id: 'orders', type: 'csv', config: { path: 'data/orders.csv' } },
      { id: 'customers', type: 'csv', config: { path: 'data/customers.csv' } },
    ],
    transforms: [
      { id: 'unique', type: 'filter', inputs: ['orders'], config: { expression: 'true' } },
      { id: 'joined', type: 'join', inputs: ['unique', 'customers'], config: {} },
    ],
    destinations: [{ id: 'out', type: 'tsv', inputs: 'joined', config: { path: 'out/x.tsv' } }],
  }
}

describe('specToFlow', () => {
  it('makes one node per spec node and one edge per input, in input order', () => {
    const { nodes, edges } = specToFlow(sample())
    expect(nodes.map((n) => [n.id, n.data.kind, n.data.type])).toEqual([
      ['orders', 'source', 'csv'],
      ['customers', 'source', 'csv'],
      ['unique', 'transform', 'filter'],
      ['joined', 'transform', 'join'],
      ['out', 'destination', 'tsv'],
    ])
    expect(edges.map((e) => e.id)).toEqual(['orders->unique', 'unique->joined', 'customers->joined', 'joined->out'])
    expect(nodes.find((n) => n.id === 'joined')!.data.inputs).toEqual(['unique', 'customers'])
    expect(nodes.find((n) => n.id === 'orders')!.data.config).toEqual({ path: 'data/orders.csv' })
  })

  it('draws no edge for an input that names no node', () => {
    const s = sample()
    s.destinations[0].inputs = ['ghost']
    expect(specToFlow(s).edges.map((e) => e.id)).not.toContain('ghost->out')
    expect(inputProblems(s, bounds)).toEqual({ out: 'reads "ghost", which is not a node' })
  })

  it('names a saved connector as the node type', () => {
    const s = sample()
    s.sources[0] = { id: 'orders', connector: 'warehouse' }
    expect(specToFlow(s).nodes[0].data.type).toBe('connector: warehouse')
  })
})

describe('connectionProblem', () => {
  const cases: Array<[string, string, string, RegExp | null]> = [
    ['a source can feed a transform', 'customers', 'unique', /at most 1 input/],
    ['a destination has no output', 'out', 'joined', /is a destination/],
    ['a source takes no input', 'unique', 'orders', /is a source/],
    ['a node cannot read itself', 'unique', 'unique', /its own output/],
    ['an edge twice', 'orders', 'unique', /already reads "orders"/],
    ['a cycle', 'joined', 'unique', /would make a cycle/],
    ['max inputs of join', 'orders', 'joined', /join transform takes at most 2 inputs/],
    ['a fine edge', 'customers', 'out', null],
    ['an unknown node', 'nope', 'out', /no node "nope"/],
  ]
  it.each(cases)('%s', (_, from, to, want) => {
    const got = connectionProblem(sample(), from, to, bounds)
    if (want) expect(got).toMatch(want)
    else expect(got).toBeNull()
  })

  it('refuses a cycle through a union (no max inputs)', () => {
    let s = sample()
    s = addNode(s, 'transform', 'union', { id: 'u' }).spec
    s = connect(s, 'orders', 'u', bounds).spec
    s = connect(s, 'u', 'unique', { ...bounds, filter: { min_inputs: 1, max_inputs: 0 } }).spec
    const r = connect(s, 'joined', 'u', bounds)
    expect(r.error).toMatch(/cycle/)
    expect(r.spec).toBe(s)
    expect(findCycle(s)).toBeNull()
  })
})

describe('editing', () => {
  it('adds nodes with unique ids and connects them', () => {
    let s = sample()
    const a = addNode(s, 'source', 'csv')
    expect(a.id).toBe('csv')
    s = a.spec
    const b = addNode(s, 'source', 'csv')
    expect(b.id).toBe('csv_2')
    s = b.spec
    const d = addNode(s, 'destination', 'ndjson')
    s = d.spec
    expect(s.destinations[1]).toEqual({ id: 'ndjson', type: 'ndjson', inputs: [], config: {} })
    const c = connect(s, 'csv', 'ndjson', bounds)
    expect(c.error).toBeUndefined()
    expect(c.spec.destinations[1].inputs).toEqual(['csv'])
    expect(disconnect(c.spec, 'csv', 'ndjson').destinations[1].inputs).toEqual([])
    expect(uniqueId(s, '9 bad name!')).toBe('9_bad_name_')
  })

  it('removes a node and the inputs that name it', () => {
    const s = removeNode(sample(), 'unique')
    expect(s.transforms!.map((t) => t.id)).toEqual(['joined'])
    expect(s.transforms![0].inputs).toEqual(['customers'])
    expect(specEdges(s).map((e) => `${e.source}->${e.target}`)).toEqual(['customers->joined', 'joined->out'])
  })

  it('renames a node everywhere, refusing a taken or invalid id', () => {
    const r = renameNode(sample(), 'joined', 'enriched')
    expect(r.error).toBeUndefined()
    expect(r.spec.transforms![1].id).toBe('enriched')
    expect(r.spec.destinations[0].inputs).toEqual(['enriched'])
    expect(renameNode(sample(), 'joined', 'orders').error).toMatch(/already called "orders"/)
    expect(renameNode(sample(), 'joined', '-x').error).toMatch(/starts with a letter or digit/)
  })

  it('finds a cycle written in the YAML', () => {
    const s = sample()
    s.transforms![0].inputs = ['orders', 'joined']
    expect(findCycle(s)).toEqual(['unique', 'joined', 'unique'])
  })

  it('maps a problem path to its node and field', () => {
    expect(nodeOfPath(sample(), 'transforms[1].config.on')).toEqual({ id: 'joined', field: 'config.on' })
    expect(nodeOfPath(sample(), 'destinations[0]')).toEqual({ id: 'out', field: '' })
    expect(nodeOfPath(sample(), 'name')).toBeNull()
    expect(nodeOfPath(sample(), 'sources[7].type')).toBeNull()
  })

  it('reports a transform with too few inputs', () => {
    const s = addNode(sample(), 'transform', 'union', { id: 'u' }).spec
    expect(inputProblems(s, bounds).u).toMatch(/no input/)
    const t = connect(s, 'orders', 'u', bounds).spec
    expect(inputProblems(t, bounds).u).toMatch(/at least 2 inputs/)
  })
})

describe('layout', () => {
  it('lays the graph out left to right', async () => {
    const { nodes, edges } = specToFlow(sample())
    const p = await layout({ nodes, edges })
    expect(Object.keys(p).sort()).toEqual(['customers', 'joined', 'orders', 'out', 'unique'])
    expect(p.orders.x).toBeLessThan(p.unique.x)
    expect(p.unique.x).toBeLessThan(p.joined.x)
    expect(p.joined.x).toBeLessThan(p.out.x)
    expect(p.customers.x).toBeLessThan(p.joined.x)
  })
})

describe('mappingNodeFor', () => {
  const spec: PipelineSpec = {
    version: 1,
    name: 'm',
    sources: [{ id: 'crm', type: 'csv', config: {} }],
    transforms: [
      { id: 'shape', type: 'map', inputs: ['crm'], config: {} },
      { id: 'keep', type: 'filter', inputs: ['crm'], config: {} },
    ],
    destinations: [
      { id: 'out', type: 'ndjson', inputs: ['shape'], config: {} },
      { id: 'raw', type: 'ndjson', inputs: ['keep'], config: {} },
    ],
  }
  it.each([
    ['shape', 'shape'], // a map node opens its own studio
    ['out', 'shape'], // a destination fed by a map opens that map's
    ['raw', undefined], // a destination without a map feeding it has none
    ['keep', undefined],
    ['crm', undefined],
    ['nope', undefined],
  ])('%s -> %s', (node, want) => {
    expect(mappingNodeFor(spec, node)).toBe(want)
  })
})

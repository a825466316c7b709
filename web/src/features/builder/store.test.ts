import { beforeEach, describe, expect, it } from 'vitest'
import { connect } from '@/features/graph'
import { placeMissing, useBuilder } from './store'

const text = `# comment kept
version: 1
name: p
sources:
  - id: a
    type: csv
    config: {path: a.csv}
destinations:
  - id: out
    type: csv
    inputs: []
    config: {path: out.csv}
`

describe('builder store', () => {
  beforeEach(() => useBuilder.getState().load(text, { saved: true }))

  it('a canvas edit rewrites the YAML, keeping its comment, and marks it unsaved', () => {
    const st = useBuilder.getState()
    st.applySpec(connect(st.spec!, 'a', 'out').spec)
    const after = useBuilder.getState()
    expect(after.text).toContain('# comment kept')
    expect(after.text).toContain('inputs: [a]')
    expect(after.text).not.toBe(after.savedText)
  })

  it('a YAML edit that parses updates the spec; one that does not keeps the last spec and reports the line', () => {
    useBuilder.getState().setText(text.replace('id: out', 'id: sink'))
    expect(useBuilder.getState().spec!.destinations[0].id).toBe('sink')
    useBuilder.getState().setText(text + 'transforms: [\n')
    const st = useBuilder.getState()
    expect(st.spec!.destinations[0].id).toBe('sink')
    expect(st.parseError?.line).toBeGreaterThan(0)
  })

  it('places a node added in the YAML to the right of its input', () => {
    const spec = useBuilder.getState().spec!
    const p = placeMissing({ ...spec, destinations: [{ id: 'out', type: 'csv', inputs: ['a'] }] }, { a: { x: 10, y: 20 } })
    expect(p.out).toEqual({ x: 310, y: 20 })
  })
})

import { describe, expect, it } from 'vitest'
import { perPipelineSchema } from './perPipeline'

const pg = {
  type: 'object',
  additionalProperties: false,
  required: ['host'],
  'x-order': ['url', 'host', 'password', 'schema', 'table', 'partition'],
  properties: {
    url: { type: 'string', 'x-secret': true, writeOnly: true },
    host: { type: 'string' },
    password: { type: 'string', 'x-secret': true },
    schema: { type: 'string', 'x-per-pipeline': true },
    table: { type: 'string', 'x-per-pipeline': true },
    partition: { type: 'object', 'x-per-pipeline': true, properties: { key: { type: 'string' } } },
  },
}

describe('perPipelineSchema', () => {
  it('keeps only the per-pipeline parameters, in their order, none required', () => {
    const s = perPipelineSchema(pg)!
    expect(Object.keys(s.properties!)).toEqual(['schema', 'table', 'partition'])
    expect(s['x-order']).toEqual(['schema', 'table', 'partition'])
    expect(s.required).toEqual([])
    expect(s.additionalProperties).toBe(false)
  })
  it('never offers a secret or a connection setting', () => {
    const s = perPipelineSchema(pg)!
    for (const k of ['url', 'host', 'password']) expect(s.properties).not.toHaveProperty(k)
  })
  it('is undefined for a type without per-pipeline parameters, or without a schema', () => {
    expect(perPipelineSchema({ type: 'object', properties: { path: { type: 'string' } } })).toBeUndefined()
    expect(perPipelineSchema(undefined)).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { toErrorSchema } from '@rjsf/utils'
import { validationErrors, validator } from './validator'

const schema = {
  type: 'object' as const,
  additionalProperties: false,
  required: ['host'],
  properties: {
    host: { type: 'string' as const, minLength: 1 },
    port: { type: 'integer' as const, minimum: 1, maximum: 65535 },
    mode: { type: 'string' as const, enum: ['a', 'b'] },
    key: { type: 'array' as const, items: { type: 'string' as const }, uniqueItems: true },
    types: { type: 'object' as const, additionalProperties: { type: 'string' as const, pattern: '^[a-z]+$' } },
    ref: { $ref: '#/definitions/nonNegativeInteger' },
  },
  definitions: { nonNegativeInteger: { type: 'integer' as const, minimum: 0 } },
}

describe('InterpretingValidator (no code generation: CSP-safe)', () => {
  it('accepts a valid value', () => {
    expect(validationErrors(schema, { host: 'db', port: 5432, mode: 'a', key: ['id'], types: { zip: 'string' }, ref: 0 })).toEqual([])
  })

  it.each([
    ['required', {}, '.host', 'required'],
    ['type', { host: 'db', port: '5432' }, '.port', 'type'],
    ['integer', { host: 'db', port: 1.5 }, '.port', 'type'],
    ['maximum', { host: 'db', port: 70000 }, '.port', 'maximum'],
    ['enum', { host: 'db', mode: 'c' }, '.mode', 'enum'],
    ['additionalProperties false', { host: 'db', prot: 1 }, '.prot', 'additionalProperties'],
    ['items', { host: 'db', key: ['id', 3] }, '.key.1', 'type'],
    ['uniqueItems', { host: 'db', key: ['id', 'id'] }, '.key', 'uniqueItems'],
    ['additionalProperties schema + pattern', { host: 'db', types: { zip: 'Str' } }, '.types.zip', 'pattern'],
    ['$ref', { host: 'db', ref: -1 }, '.ref', 'minimum'],
    ['minLength', { host: '' }, '.host', 'minLength'],
  ])('%s', (_, value, property, name) => {
    const errs = validationErrors(schema, value)
    expect(errs.map((e) => [e.property, e.name])).toContainEqual([property, name])
  })

  it('places errors under their field for rjsf, and isValid agrees', () => {
    const { errors, errorSchema } = validator.validateFormData({ port: 0 }, schema)
    expect(errors).toHaveLength(2)
    expect(errorSchema).toEqual(toErrorSchema(errors))
    expect((errorSchema as Record<string, { __errors?: string[] }>).port.__errors).toEqual(['must be >= 1'])
    expect(validator.isValid(schema, { host: 'x' }, schema)).toBe(true)
    expect(validator.isValid({ type: 'string' }, 3, schema)).toBe(false)
  })

  it('anyOf, oneOf and not', () => {
    const s = { anyOf: [{ type: 'string' as const }, { type: 'integer' as const }] }
    expect(validationErrors(s, 3)).toEqual([])
    expect(validationErrors(s, true).map((e) => e.name)).toEqual(['anyOf'])
    expect(validationErrors({ oneOf: [{ minimum: 0 }, { maximum: 10 }] }, 5).map((e) => e.name)).toEqual(['oneOf'])
    expect(validationErrors({ not: { type: 'null' as const } }, null).map((e) => e.name)).toEqual(['not'])
  })
})

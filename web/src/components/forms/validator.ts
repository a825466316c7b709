// A JSON Schema validator for @rjsf that never generates code. Ajv compiles every schema with
// `new Function`, which the app's Content-Security-Policy (script-src 'self', no 'unsafe-eval')
// forbids in the browser: each compile logged a console error and validation failed. This one
// interprets the keywords the API's config schemas use (type, enum, const, required, properties,
// additionalProperties, items, min/max for numbers, strings, arrays and objects, pattern, multipleOf,
// uniqueItems, allOf/anyOf/oneOf/not, $ref to #/definitions or #/$defs) and reports errors in the shape
// rjsf expects (property in accessor notation, so toErrorSchema places each under its field).
// The server validates again on save: this is the as-you-type feedback.
import {
  createErrorHandler, getDefaultFormState, toErrorSchema, unwrapErrorHandler, validationDataMerge,
  type CustomValidator, type ErrorTransformer, type RJSFSchema, type RJSFValidationError, type UiSchema,
  type ValidationData, type ValidatorType,
} from '@rjsf/utils'

type Schema = RJSFSchema | boolean
type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case 'string': return typeof v === 'string'
    case 'number': return typeof v === 'number' && Number.isFinite(v)
    case 'integer': return typeof v === 'number' && Number.isInteger(v)
    case 'boolean': return typeof v === 'boolean'
    case 'null': return v === null
    case 'array': return Array.isArray(v)
    case 'object': return isObj(v)
    default: return true
  }
}

function equal(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}

function resolve(s: RJSFSchema, root: RJSFSchema): RJSFSchema | undefined {
  const ref = s.$ref
  if (!ref) return s
  const m = /^#\/(definitions|\$defs)\/(.+)$/.exec(ref)
  if (!m) return undefined
  const defs = (root as Obj)[m[1]] as Obj | undefined
  const target = defs?.[decodeURIComponent(m[2]).replace(/~1/g, '/').replace(/~0/g, '~')]
  return isObj(target) ? { ...(target as RJSFSchema), ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== '$ref')) } : undefined
}

const prop = (path: string, key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}['${key.replace(/'/g, "\\'")}']`)

/** check appends to out the errors of value v against schema s (root resolves $ref). */
function check(s0: Schema, v: unknown, root: RJSFSchema, path: string, out: RJSFValidationError[]): void {
  if (s0 === true || s0 === undefined) return
  if (s0 === false) {
    add(out, 'false schema', path, 'must not be present', {})
    return
  }
  const s = resolve(s0, root)
  if (!s) return
  if (s.allOf) for (const sub of s.allOf) check(sub as Schema, v, root, path, out)
  if (s.anyOf && v !== undefined && !s.anyOf.some((sub) => valid(sub as Schema, v, root))) add(out, 'anyOf', path, 'must match a schema in anyOf', {})
  if (s.oneOf && v !== undefined && s.oneOf.filter((sub) => valid(sub as Schema, v, root)).length !== 1) add(out, 'oneOf', path, 'must match exactly one schema in oneOf', {})
  if (s.not !== undefined && v !== undefined && valid(s.not as Schema, v, root)) add(out, 'not', path, 'must NOT be valid', {})
  if (v === undefined) return
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    if (!types.some((t) => typeOk(t, v))) {
      add(out, 'type', path, `must be ${types.join(',')}`, { type: types.join(',') })
      return
    }
  }
  if (s.enum && !s.enum.some((e) => equal(e, v))) add(out, 'enum', path, 'must be equal to one of the allowed values', { allowedValues: s.enum })
  if (s.const !== undefined && !equal(s.const, v)) add(out, 'const', path, 'must be equal to constant', { allowedValue: s.const })
  if (typeof v === 'string') {
    const n = [...v].length
    if (s.minLength !== undefined && n < s.minLength) add(out, 'minLength', path, `must NOT have fewer than ${s.minLength} characters`, { limit: s.minLength })
    if (s.maxLength !== undefined && n > s.maxLength) add(out, 'maxLength', path, `must NOT have more than ${s.maxLength} characters`, { limit: s.maxLength })
    if (s.pattern) {
      let re: RegExp | undefined
      try {
        re = new RegExp(s.pattern, 'u')
      } catch {
        re = undefined
      }
      if (re && !re.test(v)) add(out, 'pattern', path, `must match pattern "${s.pattern}"`, { pattern: s.pattern })
    }
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) add(out, 'minimum', path, `must be >= ${s.minimum}`, { comparison: '>=', limit: s.minimum })
    if (s.maximum !== undefined && v > s.maximum) add(out, 'maximum', path, `must be <= ${s.maximum}`, { comparison: '<=', limit: s.maximum })
    if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) add(out, 'exclusiveMinimum', path, `must be > ${s.exclusiveMinimum}`, { comparison: '>', limit: s.exclusiveMinimum })
    if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) add(out, 'exclusiveMaximum', path, `must be < ${s.exclusiveMaximum}`, { comparison: '<', limit: s.exclusiveMaximum })
    if (s.multipleOf && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9) add(out, 'multipleOf', path, `must be multiple of ${s.multipleOf}`, { multipleOf: s.multipleOf })
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) add(out, 'minItems', path, `must NOT have fewer than ${s.minItems} items`, { limit: s.minItems })
    if (s.maxItems !== undefined && v.length > s.maxItems) add(out, 'maxItems', path, `must NOT have more than ${s.maxItems} items`, { limit: s.maxItems })
    if (s.uniqueItems && new Set(v.map((x) => JSON.stringify(x))).size !== v.length) add(out, 'uniqueItems', path, 'must NOT have duplicate items', {})
    if (Array.isArray(s.items)) {
      s.items.forEach((sub, i) => check(sub as Schema, v[i], root, `${path}.${i}`, out))
    } else if (s.items !== undefined) {
      v.forEach((x, i) => check(s.items as Schema, x, root, `${path}.${i}`, out))
    }
  }
  if (isObj(v) && isObj(s.dependencies)) {
    // draft-07 dependencies: a present key requires other keys (a list) or the value to match a schema.
    for (const [k, dep] of Object.entries(s.dependencies)) {
      if (v[k] === undefined) continue
      if (Array.isArray(dep)) {
        for (const r of dep) if (v[r as string] === undefined) add(out, 'dependencies', prop(path, String(r)), `must have property '${String(r)}' when '${k}' is present`, { missingProperty: r })
      } else {
        check(dep as Schema, v, root, path, out)
      }
    }
  }
  if (isObj(v)) {
    for (const r of s.required ?? []) {
      const sub = (s.properties as Record<string, Schema> | undefined)?.[r]
      const title = isObj(sub) && typeof sub.title === 'string' ? sub.title : r
      if (v[r] === undefined) add(out, 'required', prop(path, r), `must have required property '${title}'`, { missingProperty: r })
    }
    const keys = Object.keys(v)
    if (s.minProperties !== undefined && keys.length < s.minProperties) add(out, 'minProperties', path, `must NOT have fewer than ${s.minProperties} properties`, { limit: s.minProperties })
    if (s.maxProperties !== undefined && keys.length > s.maxProperties) add(out, 'maxProperties', path, `must NOT have more than ${s.maxProperties} properties`, { limit: s.maxProperties })
    const props = (s.properties ?? {}) as Record<string, Schema>
    const patterns = Object.entries((s.patternProperties ?? {}) as Record<string, Schema>)
    for (const k of keys) {
      if (k in props) {
        check(props[k], v[k], root, prop(path, k), out)
        continue
      }
      const matched = patterns.filter(([p]) => {
        try {
          return new RegExp(p, 'u').test(k)
        } catch {
          return false
        }
      })
      for (const [, sub] of matched) check(sub, v[k], root, prop(path, k), out)
      if (matched.length) continue
      if (s.additionalProperties === false) add(out, 'additionalProperties', prop(path, k), 'must NOT have additional properties', { additionalProperty: k })
      else if (isObj(s.additionalProperties)) check(s.additionalProperties as Schema, v[k], root, prop(path, k), out)
    }
  }
}

function add(out: RJSFValidationError[], name: string, property: string, message: string, params: Obj) {
  out.push({ name, property, message, params, stack: `${property} ${message}`.trim() })
}

function valid(s: Schema, v: unknown, root: RJSFSchema): boolean {
  const out: RJSFValidationError[] = []
  check(s, v, root, '', out)
  return out.length === 0
}

/** The errors of formData against schema (exported for tests). */
export function validationErrors(schema: RJSFSchema, formData: unknown): RJSFValidationError[] {
  const out: RJSFValidationError[] = []
  check(schema, formData, schema, '', out)
  return out
}

/** An rjsf validator (ValidatorType) that interprets the schema: safe under a strict CSP. */
export class InterpretingValidator implements ValidatorType {
  validateFormData(
    formData: unknown,
    schema: RJSFSchema,
    customValidate?: CustomValidator,
    transformErrors?: ErrorTransformer,
    uiSchema?: UiSchema,
  ): ValidationData<unknown> {
    let errors = validationErrors(schema, formData)
    if (typeof transformErrors === 'function') errors = transformErrors(errors, uiSchema)
    const errorSchema = toErrorSchema(errors)
    if (typeof customValidate !== 'function') return { errors, errorSchema }
    const full = getDefaultFormState(this, schema, formData, schema, true)
    const handler = customValidate(full, createErrorHandler(full), uiSchema, errorSchema)
    return validationDataMerge({ errors, errorSchema }, unwrapErrorHandler(handler))
  }

  isValid(schema: RJSFSchema, formData: unknown, rootSchema: RJSFSchema): boolean {
    const out: RJSFValidationError[] = []
    check(schema, formData, rootSchema, '', out)
    return out.length === 0
  }

  rawValidation<Result = unknown>(schema: RJSFSchema, formData?: unknown): { errors?: Result[]; validationError?: Error } {
    const errors = validationErrors(schema, formData)
    return { errors: errors.length ? (errors as unknown as Result[]) : undefined }
  }
}

export const validator = new InterpretingValidator()

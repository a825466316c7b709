// Pure helpers behind SchemaForm: turn the JSON Schema the API serves (x-order, x-secret, defaults)
// into what @rjsf needs (titles, ui:order, widgets), and the server's problem locations into an
// rjsf ErrorSchema so that each message shows under its field.
import type { ErrorSchema, RJSFSchema, UiSchema } from '@rjsf/utils'
import type { ProblemDetail } from '@/api/errors'

export type JSONSchema = RJSFSchema & {
  'x-order'?: string[]
  'x-secret'?: boolean
  'x-advanced'?: boolean
  /** On a tagged union (oneOf): the property whose const picks the option. */
  'x-discriminator'?: string
}

/** "batch_size" -> "Batch size", "ssl_root_cert" -> "SSL root cert". */
export function humanize(name: string): string {
  const acronyms: Record<string, string> = {
    ssl: 'SSL', url: 'URL', id: 'ID', sql: 'SQL', csv: 'CSV', json: 'JSON', tls: 'TLS', http: 'HTTP', api: 'API',
    xml: 'XML', ndjson: 'NDJSON', utf8: 'UTF-8', ca: 'CA',
  }
  const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').split(/[_\-\s.]+/).filter(Boolean)
  return words
    .map((w, i) => acronyms[w.toLowerCase()] ?? (i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w.toLowerCase()))
    .join(' ')
}

export function isSecret(s: unknown): boolean {
  if (!s || typeof s !== 'object') return false
  const o = s as JSONSchema
  return o['x-secret'] === true || (o.writeOnly === true && o.format === 'password')
}

/**
 * Is a property "advanced" (shown under the collapsed Advanced section)? x-advanced decides when
 * present; otherwise an optional property with a default is advanced, unless listed in primary.
 */
export function isAdvanced(name: string, prop: unknown, required: string[] | undefined, primary?: string[]): boolean {
  if (!prop || typeof prop !== 'object') return false
  const p = prop as JSONSchema
  if (typeof p['x-advanced'] === 'boolean') return p['x-advanced']
  if (primary?.includes(name)) return false
  if (required?.includes(name)) return false
  return p.default !== undefined
}

/**
 * prepare returns a copy of schema with a title on every property (humanized name when absent) and
 * the uiSchema that orders properties by x-order and draws secrets with the secret widget (its
 * option secretPath is the property's dotted path: "password", "auth.token"), recursively through
 * objects, the options of a tagged union (oneOf with x-discriminator: the options share one
 * uiSchema, their discriminator hidden: the option picker sets it) and array items.
 */
export function prepare(schema: JSONSchema): { schema: JSONSchema; uiSchema: UiSchema } {
  const ui: UiSchema = {}
  const out = walk(schema, ui, '')
  return { schema: out, uiSchema: ui }
}

function walk(schema: JSONSchema, ui: UiSchema, path: string): JSONSchema {
  const s: JSONSchema = taggedUnion({ ...schema })
  if (isSecret(s)) {
    ui['ui:widget'] = 'secret'
    ui['ui:options'] = { ...((ui['ui:options'] as object | undefined) ?? {}), secretPath: path }
  }
  if (s.type === 'string' && !s.enum && typeof s.maxLength !== 'number' && /query|expression|sql|template/i.test(String(s.title ?? ''))) {
    ui['ui:widget'] = 'textarea'
  }
  if (s.properties && typeof s.properties === 'object') {
    const props: Record<string, JSONSchema> = {}
    for (const [name, raw] of Object.entries(s.properties)) {
      if (typeof raw !== 'object' || raw === null) continue
      const child: JSONSchema = { ...(raw as JSONSchema) }
      if (!child.title) child.title = humanize(name)
      const childUi: UiSchema = { ...((ui[name] as UiSchema | undefined) ?? {}) }
      props[name] = walk(child, childUi, path ? `${path}.${name}` : name)
      if (Object.keys(childUi).length) ui[name] = childUi
    }
    s.properties = props
    const order = Array.isArray(s['x-order']) ? s['x-order'].filter((n) => n in props) : []
    if (order.length) {
      const prev = ((ui['ui:order'] as string[] | undefined) ?? []).filter((n) => n !== '*')
      ui['ui:order'] = [...prev, ...order.filter((n) => !prev.includes(n)), '*']
    }
  }
  const dep = s.dependencies as Record<string, unknown> | undefined
  for (const [k, d] of Object.entries(dep ?? {})) {
    const dd = d as JSONSchema
    if (dep && Array.isArray(dd.oneOf)) {
      dep[k] = { ...dd, oneOf: dd.oneOf.map((o) => (typeof o === 'object' && o !== null ? walk(o as JSONSchema, ui, path) : o)) }
    }
  }
  if (s.items && typeof s.items === 'object' && !Array.isArray(s.items)) {
    const itemsUi: UiSchema = {}
    s.items = walk(s.items as JSONSchema, itemsUi, path)
    if (Object.keys(itemsUi).length) ui.items = itemsUi
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    const apUi: UiSchema = {}
    s.additionalProperties = walk(s.additionalProperties as JSONSchema, apUi, path)
    if (Object.keys(apUi).length) ui.additionalProperties = apUi
  }
  return s
}

/**
 * taggedUnion redraws a tagged union as the API serves it (an object whose oneOf options each fix
 * x-discriminator with a const) as a select and dependent fields (draft-07 dependencies with a
 * oneOf, the shape @rjsf draws as "fields that depend on a choice"): the discriminator becomes a
 * property of its own, titled after the object ("Auth type"), whose choices are the options'
 * titles, so that picking one always sets it; each option's other properties show when it is
 * picked. Other schemas pass unchanged.
 */
export function taggedUnion(s: JSONSchema): JSONSchema {
  const disc = s['x-discriminator']
  if (!disc || !Array.isArray(s.oneOf)) return s
  const opts = s.oneOf.filter((o): o is JSONSchema => typeof o === 'object' && o !== null)
  const tag = (o: JSONSchema) => ((o.properties?.[disc] ?? {}) as JSONSchema).const as string | undefined
  const choices = opts.map((o) => ({ const: tag(o), title: String(o.title ?? tag(o)) })).filter((c) => c.const !== undefined)
  const branches = opts.map((o) => {
    const props = { ...(o.properties ?? {}) }
    delete props[disc]
    return {
      properties: { [disc]: { enum: [tag(o)] }, ...props },
      required: (o.required ?? []).filter((r) => r !== disc),
      'x-order': (o['x-order'] ?? []).filter((n) => n !== disc),
    } as JSONSchema
  })
  const out: JSONSchema = { ...s }
  delete out.oneOf
  delete out.additionalProperties
  out.properties = {
    // Never under Advanced: the choice decides which fields there are.
    [disc]: { type: 'string', title: `${s.title ?? humanize(disc)} type`, oneOf: choices, default: choices[0]?.const, 'x-advanced': false } as JSONSchema,
  }
  out['x-order'] = [disc]
  out.dependencies = { [disc]: { oneOf: branches } }
  return out
}

/** The names of the top-level secret properties of schema. */
export function secretNames(schema: JSONSchema): string[] {
  return Object.entries(schema.properties ?? {})
    .filter(([, p]) => isSecret(p))
    .map(([n]) => n)
}

/**
 * The dotted paths of every secret property of schema: top-level ones ("password") and those of
 * nested objects and of the options of a oneOf ("auth.token", "auth.client_secret"), once each.
 */
export function secretPaths(
  schema: JSONSchema | Record<string, unknown> | undefined,
  secret: (s: unknown) => boolean = isSecret,
  prefix = '',
): string[] {
  const out: string[] = []
  const s = (schema ?? {}) as JSONSchema
  for (const [name, p] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name
    if (secret(p)) out.push(path)
    else if (p && typeof p === 'object') out.push(...secretPaths(p as JSONSchema, secret, path))
  }
  for (const o of Array.isArray(s.oneOf) ? s.oneOf : []) {
    if (o && typeof o === 'object') out.push(...secretPaths(o as JSONSchema, secret, prefix))
  }
  return [...new Set(out)]
}

/**
 * Splits a problem location into path segments: "body.config.nodes[2].port" -> ["body", "config",
 * "nodes", "2", "port"]; JSON pointers ("/config/port") work too.
 */
export function locationPath(location: string): string[] {
  if (location.startsWith('/')) return location.slice(1).split('/').filter(Boolean).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  return location.replace(/\[(\w+)\]/g, '.$1').split('.').filter(Boolean)
}

/**
 * toErrorSchema maps server problems to an rjsf ErrorSchema. prefix is the location of the form's
 * value in the request ("body.config", "spec.nodes[2].config", ...); problems outside it are left out
 * (returned in rest), as are problems that name no location.
 */
export function toErrorSchema(errors: ProblemDetail[] | null | undefined, prefix = ''): { errorSchema: ErrorSchema; rest: ProblemDetail[] } {
  const root: Record<string, unknown> = {}
  const rest: ProblemDetail[] = []
  const pre = prefix ? locationPath(prefix) : []
  for (const e of errors ?? []) {
    const path = e.location ? locationPath(e.location) : null
    if (!path || !startsWith(path, pre)) {
      rest.push(e)
      continue
    }
    let node = root
    for (const seg of path.slice(pre.length)) {
      node[seg] ??= {}
      node = node[seg] as Record<string, unknown>
    }
    const list = (node.__errors as string[] | undefined) ?? []
    list.push(e.message ?? 'invalid')
    node.__errors = list
  }
  return { errorSchema: root as ErrorSchema, rest }
}

function startsWith(path: string[], prefix: string[]): boolean {
  return prefix.every((p, i) => path[i] === p)
}

/** Does an ErrorSchema (or any part below it) carry a message? */
export function hasErrors(es: unknown): boolean {
  if (!es || typeof es !== 'object') return false
  for (const [k, v] of Object.entries(es)) {
    if (k === '__errors' && Array.isArray(v) && v.length) return true
    if (k !== '__errors' && hasErrors(v)) return true
  }
  return false
}

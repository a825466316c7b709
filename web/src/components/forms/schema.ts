// Pure helpers behind SchemaForm: turn the JSON Schema the API serves (x-order, x-secret, defaults)
// into what @rjsf needs (titles, ui:order, widgets), and the server's problem locations into an
// rjsf ErrorSchema so that each message shows under its field.
import type { ErrorSchema, RJSFSchema, UiSchema } from '@rjsf/utils'
import type { ProblemDetail } from '@/api/errors'

export type JSONSchema = RJSFSchema & {
  'x-order'?: string[]
  'x-secret'?: boolean
  'x-advanced'?: boolean
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
 * the uiSchema that orders properties by x-order and draws secrets with the secret widget, recursively
 * through objects and array items.
 */
export function prepare(schema: JSONSchema): { schema: JSONSchema; uiSchema: UiSchema } {
  const ui: UiSchema = {}
  const out = walk(schema, ui)
  return { schema: out, uiSchema: ui }
}

function walk(schema: JSONSchema, ui: UiSchema): JSONSchema {
  const s: JSONSchema = { ...schema }
  if (isSecret(s)) ui['ui:widget'] = 'secret'
  if (s.type === 'string' && !s.enum && typeof s.maxLength !== 'number' && /query|expression|sql|template/i.test(String(s.title ?? ''))) {
    ui['ui:widget'] = 'textarea'
  }
  if (s.properties && typeof s.properties === 'object') {
    const props: Record<string, JSONSchema> = {}
    for (const [name, raw] of Object.entries(s.properties)) {
      if (typeof raw !== 'object' || raw === null) continue
      const child: JSONSchema = { ...(raw as JSONSchema) }
      if (!child.title) child.title = humanize(name)
      const childUi: UiSchema = {}
      props[name] = walk(child, childUi)
      if (Object.keys(childUi).length) ui[name] = childUi
    }
    s.properties = props
    const order = Array.isArray(s['x-order']) ? s['x-order'].filter((n) => n in props) : []
    if (order.length) ui['ui:order'] = [...order, '*']
  }
  if (s.items && typeof s.items === 'object' && !Array.isArray(s.items)) {
    const itemsUi: UiSchema = {}
    s.items = walk(s.items as JSONSchema, itemsUi)
    if (Object.keys(itemsUi).length) ui.items = itemsUi
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    const apUi: UiSchema = {}
    s.additionalProperties = walk(s.additionalProperties as JSONSchema, apUi)
    if (Object.keys(apUi).length) ui.additionalProperties = apUi
  }
  return s
}

/** The names of the top-level secret properties of schema. */
export function secretNames(schema: JSONSchema): string[] {
  return Object.entries(schema.properties ?? {})
    .filter(([, p]) => isSecret(p))
    .map(([n]) => n)
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

// The settings a pipeline may write beside a saved connector (`connector: <name>` with `config:`):
// the parameters the connector type's JSON Schema marks "x-per-pipeline" (what to read or write, and
// how: table, query, schema, partition...). Connection settings and secrets stay in the saved
// connector; the server refuses them in a pipeline.

type JSONSchema = Record<string, unknown> & { properties?: Record<string, Record<string, unknown>>; required?: string[] }

/** The connector type's schema cut down to its per-pipeline parameters; undefined when it has none. */
export function perPipelineSchema(schema: Record<string, unknown> | undefined): JSONSchema | undefined {
  const s = schema as JSONSchema | undefined
  if (!s?.properties) return undefined
  const properties = Object.fromEntries(Object.entries(s.properties).filter(([, p]) => p?.['x-per-pipeline'] === true))
  const names = Object.keys(properties)
  if (names.length === 0) return undefined
  const order = Array.isArray(s['x-order']) ? (s['x-order'] as string[]).filter((n) => names.includes(n)) : undefined
  // Nothing is required here: what the pipeline leaves out comes from the saved connector.
  const out: JSONSchema = { ...s, properties, required: [] }
  if (order) out['x-order'] = order
  return out
}

// The spec's `triggers:` as the Triggers dialog edits it: `after`, the pipelines whose successful runs
// start this one (docs/pipeline-spec.md#triggers). Names are resolved by the server when it saves.
import type { PipelineSpec } from '@/features/graph'

/** The names in triggers.after (empty when none or malformed). */
export function afterOf(spec: PipelineSpec | null): string[] {
  const t = spec?.triggers
  if (!t || typeof t !== 'object' || Array.isArray(t)) return []
  const after = (t as Record<string, unknown>).after
  if (typeof after === 'string') return after ? [after] : []
  if (!Array.isArray(after)) return []
  return after.filter((x): x is string => typeof x === 'string')
}

/**
 * The spec with triggers.after set to names (an empty list removes it, and `triggers:` when nothing
 * else is left in it); keys the editor does not know are kept.
 */
export function withAfter(spec: PipelineSpec, names: string[]): PipelineSpec {
  const next: PipelineSpec = { ...spec }
  const old = spec.triggers && typeof spec.triggers === 'object' && !Array.isArray(spec.triggers) ? (spec.triggers as Record<string, unknown>) : {}
  const t: Record<string, unknown> = { ...old }
  if (names.length) t.after = [...names]
  else delete t.after
  if (Object.keys(t).length) next.triggers = t
  else delete next.triggers
  return next
}

/** Whether two name lists hold the same names (case-insensitive, any order). */
export function sameNames(a: string[], b: string[]): boolean {
  const norm = (l: string[]) => l.map((x) => x.trim().toLowerCase()).sort().join('\u0000')
  return norm(a) === norm(b)
}

/** The absolute webhook URL (the server gives a relative one when PUBLIC_URL is not set). */
export function absoluteURL(url: string, origin: string): string {
  return /^https?:\/\//.test(url) ? url : origin.replace(/\/$/, '') + url
}

/** A curl command that calls the webhook with token, as the dialog shows it after creating one. */
export function curlExample(url: string, token: string): string {
  return `curl -X POST '${url}' \\\n  -H 'Authorization: Bearer ${token}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{"reason": "new data"}'`
}

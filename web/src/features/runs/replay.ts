// Fix and replay: the edits a user made to dead letters, in the API's form, and the mapping of a
// refused replay's field errors back to the edited cells.
import { ApiError } from '@/api/errors'
import type { DeadLetter, ReplayEdit } from './queries'

/** Edited values: dead-letter id -> field -> text. */
export type Edits = Record<number, Record<string, string>>

/** The edits that change something, in the API's form. */
export function editsToSend(rows: DeadLetter[], edits: Edits): ReplayEdit[] {
  const out: ReplayEdit[] = []
  for (const d of rows) {
    if (d.id == null || !edits[d.id]) continue
    const values: Record<string, string> = {}
    for (const [k, v] of Object.entries(edits[d.id])) if ((d.values?.[k] ?? '') !== v) values[k] = v
    if (Object.keys(values).length) out.push({ id: d.id, values })
  }
  return out
}

/** Maps a replay's field errors (body.edits[i].values.f) to the cells they concern: "id:field" -> message. */
export function cellErrors(err: unknown, sent: ReplayEdit[]): Record<string, string> {
  const out: Record<string, string> = {}
  if (!(err instanceof ApiError)) return out
  for (const e of err.fieldErrors('body.edits')) {
    const m = /^body\.edits\[(\d+)\](?:\.values)?\.?(.*)$/.exec(e.location ?? '')
    const edit = m ? sent[Number(m[1])] : undefined
    if (edit) out[`${edit.id}:${m?.[2] || Object.keys(edit.values)[0]}`] = e.message ?? 'invalid'
  }
  return out
}


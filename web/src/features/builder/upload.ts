// Files dropped on the canvas: checked (not empty, a known kind), uploaded (POST /api/v1/files), and
// turned into a source node reading the upload (`config: {upload: <id>}`, docs/connectors/files.md).
import { ensureOk, rawFetch } from '@/api/client'
import { ApiError } from '@/api/errors'
import { formatBytes } from '@/lib/format'

export interface UploadedFile {
  id: string
  name: string
  size: number
  format: string
}

/** The source connector type for an upload's sniffed format (and, for gzip, its name). */
export function sourceTypeFor(format: string, name: string): string | null {
  const byFormat: Record<string, string> = { csv: 'csv', tsv: 'tsv', json: 'json', ndjson: 'ndjson', xml: 'xml', xlsx: 'excel' }
  if (byFormat[format]) return byFormat[format]
  const ext = name.toLowerCase().replace(/\.gz$/, '').split('.').pop() ?? ''
  const byExt: Record<string, string> = { csv: 'csv', tsv: 'tsv', json: 'json', ndjson: 'ndjson', jsonl: 'ndjson', xml: 'xml', xlsx: 'excel' }
  return byExt[ext] ?? null
}

const ACCEPTED = /\.(csv|tsv|json|ndjson|jsonl|xml|xlsx)(\.gz)?$/i

/** Why a file will not be uploaded, before sending it, or null. */
export function fileProblem(f: File, maxBytes?: number): string | null {
  if (f.size === 0) return `${f.name} is empty (0 bytes): there is nothing to read`
  if (maxBytes && f.size > maxBytes) return `${f.name} is ${formatBytes(f.size)}; uploads are limited to ${formatBytes(maxBytes)}`
  if (!ACCEPTED.test(f.name)) return `${f.name} is not a CSV, TSV, JSON, NDJSON, XML or Excel (.xlsx) file`
  return null
}

/** Uploads a file; a refusal (413 too large, 415 wrong content) comes back as a clear message. */
export async function uploadFile(f: File, signal?: AbortSignal): Promise<UploadedFile> {
  const body = new FormData()
  body.append('file', f, f.name)
  try {
    const res = await ensureOk(await rawFetch('/api/v1/files', { method: 'POST', body, signal }))
    return (await res.json()) as UploadedFile
  } catch (e) {
    if (e instanceof ApiError && e.status === 413) {
      throw new Error(`${f.name} (${formatBytes(f.size)}) is larger than the server accepts: ${e.message}`)
    }
    if (e instanceof ApiError && e.status === 415) throw new Error(`${f.name} was refused: ${e.message}`)
    throw e
  }
}

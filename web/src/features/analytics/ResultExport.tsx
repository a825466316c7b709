// The Export menu of a query's result: the statement that produced the result runs again for the
// file (CSV, NDJSON, Excel, Parquet), up to the export cap; a failure (the database's refusal, the
// timeout) shows as a toast.
import { useState } from 'react'
import { ExportMenu, type ExportFormat } from '@/components/ExportMenu'
import { toast } from '@/components/toasts'
import { errorMessage } from '@/api/errors'
import { formatCount } from '@/lib/format'
import { exportResult, type QueryResult, type RunRequest, type SavedQuery } from './api'

export function ResultExport({ result, ran, saved }: { result: QueryResult; ran: RunRequest; saved?: Pick<SavedQuery, 'id' | 'connector_id' | 'sql'> }) {
  const [busy, setBusy] = useState(false)
  const pick = async (f: ExportFormat) => {
    setBusy(true)
    try {
      await exportResult(f, ran, saved)
    } catch (e) {
      toast.error('Export failed', errorMessage(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <span className="flex items-center gap-2">
      {result.truncated && (
        <span className="text-xs text-slate-500 dark:text-slate-400">Exports hold up to {formatCount(result.export_max_rows)} rows</span>
      )}
      <ExportMenu label="Export result" busy={busy} onPick={(f) => void pick(f)} />
    </span>
  )
}

// An Export menu: CSV, NDJSON, Excel or Parquet (the server's export formats, internal/export), for any
// exportable thing: a run's output, its dead letters, a query's result. onPick gets the format.
import { useState } from 'react'
import { Download } from 'lucide-react'
import { Button } from '@/components/ui'

export type ExportFormat = 'csv' | 'ndjson' | 'xlsx' | 'parquet'

export const EXPORT_FORMATS: { format: ExportFormat; label: string }[] = [
  { format: 'csv', label: 'CSV' },
  { format: 'ndjson', label: 'NDJSON' },
  { format: 'xlsx', label: 'Excel (.xlsx)' },
  { format: 'parquet', label: 'Parquet' },
]

export function ExportMenu({ label, onPick, busy, disabled }: { label: string; onPick: (f: ExportFormat) => void; busy?: boolean; disabled?: boolean }) {
  const [open, setOpen] = useState(false)
  return (
    <div className="relative inline-block text-left">
      <Button size="sm" icon={<Download className="size-3.5" aria-hidden />} aria-haspopup="menu" aria-expanded={open} aria-label={label}
        loading={busy} disabled={disabled} onClick={() => setOpen((o) => !o)}>
        Export
      </Button>
      {open && (
        <div role="menu" aria-label={label}
          className="absolute right-0 z-20 mt-1 w-40 rounded-md border border-slate-200 bg-white py-1 shadow-lg dark:border-slate-700 dark:bg-slate-900">
          {EXPORT_FORMATS.map((f) => (
            <button key={f.format} type="button" role="menuitem"
              className="block w-full px-3 py-1.5 text-left text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
              onClick={() => { setOpen(false); onPick(f.format) }}>
              {f.label}
            </button>
          ))}
        </div>
      )}
    </div>
  )
}
